"""The shared protocol fixtures (testdata/protocol/*.json): the server's events for each message,
folded by the tests' client (helpers.fold_event, what DashClient applies), end in the server's state.

The Go tests check the server produces exactly those events and that state, and the web tests run
the page's fold over the same files, so the three folds cannot drift apart.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from helpers import REPO, fold_event

FIXTURES = os.path.join(REPO, "testdata", "protocol")
FILES = sorted(f for f in os.listdir(FIXTURES) if f.endswith(".json"))


def steps_with(field: str) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """(fixture file, step, step[field]) for every step of every fixture that has field."""
    for name in FILES:
        with open(os.path.join(FIXTURES, name), encoding="utf-8") as f:
            fx = json.load(f)
        for step in fx["steps"]:
            if step.get(field) is not None:
                yield name, step, step[field]


def test_there_are_protocol_fixtures() -> None:
    assert FILES, f"no fixtures in {FIXTURES}"


@pytest.mark.parametrize("name", FILES)
def test_fold_of_the_servers_events_ends_in_the_servers_state(name: str) -> None:
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as f:
        fx = json.load(f)
    widgets: dict[str, dict] = {}
    for step in fx["steps"]:
        for ev in step["events"]:
            fold_event(widgets, ev)
    assert widgets == fx["state"], fx["description"]


def test_the_sdk_encodes_columnar_updates_as_the_fixtures_publish_them() -> None:
    """Every well-formed columnar message of the fixtures (protocol §1.7) is exactly what the SDK's
    encoder makes of its columns; the Go tests check the server's encoder and fold of the same bytes."""
    import base64

    import numpy as np

    from stream_viz._bulk import Columns

    seen = 0
    for name, step, cols in steps_with("columns"):
        ys = np.array([np.nan if y is None else y for y in cols["y"]], dtype=np.float64)
        got = Columns(np.array(cols["x"], dtype=np.float64), ys, cols.get("series", ""), cols.get("as_of")).encode()
        assert got == base64.b64decode(step["payload_base64"]), (name, step)
        seen += 1
    assert seen >= 3


def test_the_sdk_encodes_columnar_table_updates_as_the_fixtures_publish_them() -> None:
    """Every columnar table message of the fixtures (protocol §1.8) is exactly what send_many makes
    of the same columns (a dict of lists); the Go tests check the server folds those bytes as the
    JSON ops of the same rows."""
    import base64

    from stream_viz._bulk import table_block

    seen = 0
    for name, step, tc in steps_with("table_columns"):
        cols = {c["name"]: next(c[t] for t in ("i64", "f64", "json") if t in c) for c in tc["columns"]}
        block = table_block(cols, tc["key"])
        assert block is not None
        parts = block.parts(900 * 1024)
        assert len(parts) == 1
        parts[0].as_of = tc.get("as_of")
        assert parts[0].encode() == base64.b64decode(step["payload_base64"]), (name, step)
        seen += 1
    assert seen >= 3
