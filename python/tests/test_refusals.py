"""An update the server stores but refuses to apply (docs/protocol.md §1: answered with a 400 error)
is counted, warned about once naming the server's reason, never resent, and holds up nothing."""

from __future__ import annotations

import warnings

from helpers import wait_until, wait_widget

import stream_viz as sv


def chart_at_its_series_limit() -> sv.Chart:
    """A started chart holding the 100 series a chart may have (the server's --max-series)."""
    c = sv.chart("c")
    sv.start(port=0)
    c.send({f"s{i}": 1 for i in range(100)}, 1_000)
    wait_widget("c", lambda w: len(w["state"].get("series", {})) == 100)
    return c


def test_an_update_past_the_series_limit_is_refused_once_warned_with_its_reason_and_not_resent():
    c = chart_at_its_series_limit()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        c.send({"s100": 1}, 2_000)  # a 101st series: the server stores it and refuses to apply it
        st = wait_until(lambda: (s := sv.stats())["refused_publishes"] == 1 and s["pending_messages"] == 0 and s,
                        what="the refused update to be counted and nothing left waiting")
    refused = [w.message for w in seen if isinstance(w.message, sv.UpdateRefusedWarning)]
    assert len(refused) == 1, [str(w.message) for w in seen]
    assert (refused[0].widget, refused[0].subject) == ("c", "sv.c.data")
    assert "series limit" in refused[0].reason, refused[0].reason
    assert st["failed_publishes"] == 0 and st["undelivered_updates"] == 0, st
    assert any("series limit" in e for e in st["errors"]), st["errors"]


def test_a_refused_update_holds_up_no_later_update_of_its_widget_and_warns_once_per_widget():
    c = chart_at_its_series_limit()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for i in range(3):
            c.send({f"extra{i}": 1}, 2_000 + i)
            wait_until(lambda i=i: sv.stats()["refused_publishes"] == i + 1, what=f"refusal {i + 1} to be counted")
        c.send({"s0": 2}, 3_000)
        wait_widget("c", lambda w: w["state"]["series"]["s0"][-1] == [3_000, 2])
    assert sum(isinstance(w.message, sv.UpdateRefusedWarning) for w in seen) == 1
    assert sv.stats()["pending_messages"] == 0
