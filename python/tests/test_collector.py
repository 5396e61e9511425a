"""The SDK's thread holds Python's cyclic garbage collector off while it folds and encodes a flush
(a big Pathway table's flush allocates tens of thousands of short-lived dicts, which would
otherwise set off full collections over the whole process's heap), and leaves it as it was: on
after the flush, and off when the program turned it off itself."""

from __future__ import annotations

import gc

import pytest
from helpers import wait_state, wait_until

import stream_viz as sv


@pytest.fixture
def collector_seen(monkeypatch):
    """Whether the collector was enabled each time a widget of the SDK's thread was folded."""
    seen: list[bool] = []
    fold = sv.Table._fold

    def recording(self, taken):
        seen.append(gc.isenabled())
        return fold(self, taken)

    monkeypatch.setattr(sv.Table, "_fold", recording)
    return seen


@pytest.fixture
def collector_restored():
    was = gc.isenabled()
    yield
    (gc.enable if was else gc.disable)()


def test_the_collector_is_held_off_while_a_flush_folds_and_on_again_after_it(collector_seen, collector_restored):
    gc.enable()
    t = sv.table("held", key="k")
    sv.start(port=0)
    t.send({"k": "a", "v": 1})
    wait_state("held", {"rows": {"a": {"k": "a", "v": 1}}})
    assert collector_seen and not any(collector_seen), f"the collector was on during a fold: {collector_seen}"
    wait_until(gc.isenabled, what="the collector on again after the flush")
    sv.stop()
    assert gc.isenabled()


def test_a_collector_the_program_turned_off_stays_off(collector_seen, collector_restored):
    gc.disable()
    t = sv.table("off", key="k")
    sv.start(port=0)
    t.send({"k": "a", "v": 1})
    wait_state("off", {"rows": {"a": {"k": "a", "v": 1}}})
    sv.stop()
    assert collector_seen, "no fold was seen"
    assert not gc.isenabled(), "the SDK turned on a collector the program had turned off"
