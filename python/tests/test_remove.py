"""sv.remove(): a widget removed through the SDK leaves the dashboard of a really spawned server,
its id is free to declare again from nothing, and removing one that does not exist raises."""

from __future__ import annotations

import pytest
from helpers import api_widget, api_widgets, wait_state, wait_until

import stream_viz as sv


def test_remove_drops_the_widget_after_its_earlier_updates_and_frees_its_id():
    old = sv.chart("old_name", title="Old")
    kept = sv.stat("kept")
    sv.start(port=0)
    for i in range(50):
        old.send(i, timestamp=i)
    kept.send(7)
    wait_state("kept", 7, key=lambda st: (st or {}).get("value"))
    # Sent right before the removal: they go first, so none of them brings the widget back.
    sv.remove(old)
    assert api_widget("old_name") is None
    assert [w["id"] for w in api_widgets()] == ["kept"], "/api/widgets lists configs, each with its id"
    with pytest.raises(sv.WidgetRemovedError) as e:
        old.send(99, timestamp=99)
    assert e.value.widget == "old_name"
    # The id is free: declared again, it is a new widget with nothing of the old one's history.
    new = sv.stat("old_name", title="New")
    new.send(1)
    w = wait_state("old_name", 1, key=lambda st: (st or {}).get("value"))
    assert w["config"]["type"] == "stat" and w["config"]["title"] == "New"


def test_remove_by_id_of_a_widget_that_does_not_exist_raises_naming_it():
    sv.stat("kept")
    sv.start(port=0)
    wait_until(lambda: api_widget("kept"), what="the widget")
    with pytest.raises(sv.WidgetNotFoundError) as e:
        sv.remove("never_declared")
    assert e.value.widget == "never_declared"
    assert "no such widget" in e.value.reason
    sv.remove("kept")  # by id, declared in this process
    assert api_widget("kept") is None
    with pytest.raises(sv.WidgetNotFoundError):
        sv.remove("kept")


def test_remove_checks_its_arguments():
    with pytest.raises(sv.InvalidOptionError):
        sv.remove("not an id!")
    with pytest.raises(TypeError):
        sv.remove(42)  # type: ignore[arg-type]
    with pytest.raises(sv.StreamVizError, match=r"sv\.start"):
        sv.remove("x")
    assert "remove" in sv.__all__ and "WidgetNotFoundError" in sv.__all__ and "WidgetRemovedError" in sv.__all__
