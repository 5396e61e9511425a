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


def test_a_removed_pathway_widget_whose_table_still_commits_says_so_once(pw_run):
    """A Pathway table keeps committing after its widget was removed: its rows are not shown (the
    widget is gone), and the SDK says so once instead of dropping them without a word."""
    import threading

    import pathway as pw

    removed = threading.Event()

    class Feed(pw.io.python.ConnectorSubject):
        def run(self) -> None:
            self.next(k=1, v=1)
            self.commit()
            removed.wait(60)
            for i in range(2, 5):
                self.next(k=i, v=i)
                self.commit()

    src = pw.io.python.read(Feed(), schema=pw.schema_from_types(k=int, v=int), autocommit_duration_ms=None)
    w = sv.table(src, id="feed", key="k")
    sv.start(port=0)
    run = threading.Thread(target=pw_run, daemon=True)
    run.start()
    wait_until(lambda: ((api_widget("feed") or {}).get("state") or {}).get("rows"), what="the first row")
    sv.remove(w)
    removed.set()
    run.join(120)
    assert not run.is_alive(), "the pipeline did not end"
    said = [e for e in sv.stats()["errors"] if "'feed' was removed" in e]
    assert len(said) == 1, sv.stats()["errors"]
    assert "still commits" in said[0]
    assert api_widget("feed") is None, "a removed widget's later commits do not bring it back"
