"""The shared protocol fixtures (testdata/protocol/*.json): the server's events for each message,
folded by the tests' client (helpers.fold_event, what DashClient applies), end in the server's state.

The Go tests check the server produces exactly those events and that state, and the web tests run
the page's fold over the same files, so the three folds cannot drift apart.
"""

from __future__ import annotations

import json
import os

import pytest
from helpers import REPO, fold_event

FIXTURES = os.path.join(REPO, "testdata", "protocol")
FILES = sorted(f for f in os.listdir(FIXTURES) if f.endswith(".json"))


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
