"""Sizing hints from Python: width, height and order are keyword-only options of every widget,
sent in its config (the server's normalized config carries them); bad ones raise naming the option."""

from __future__ import annotations

import pytest
from helpers import api_widgets, wait_until

import stream_viz as sv


def test_width_height_and_order_reach_the_server():
    sv.stat("a", width=2, height="small")
    sv.chart("b", width="full", height=420, order=-1)
    sv.table("c")
    sv.gauge("d", height="large", order=2.5)
    sv.start(port=0)
    by_id = wait_until(lambda: len(ws := {w["id"]: w for w in api_widgets()}) == 4 and ws, what="four widgets")
    got = {i: (w.get("width"), w.get("height"), w["order"]) for i, w in by_id.items()}
    assert got == {"a": (2, "small", 0), "b": ("full", 420, -1), "c": (None, None, 2), "d": (None, "large", 2.5)}


@pytest.mark.parametrize("option, value", [
    ("width", 0), ("width", 5), ("width", "wide"), ("width", True), ("width", 2.0),
    ("height", "huge"), ("height", 10), ("height", 5000), ("height", "300px"),
    ("order", "first"), ("order", float("nan")), ("order", True),
])
def test_a_bad_sizing_hint_raises_naming_the_option(option, value):
    with pytest.raises(sv.InvalidOptionError) as e:
        sv.stat("s", **{option: value})
    assert (e.value.widget, e.value.option, e.value.value) == ("s", option, value) or (
        e.value.option == option and e.value.value != e.value.value)  # nan is not equal to itself
    assert "s" not in sv._D.widgets, "a refused widget is not declared"


def test_a_charts_y_axis_options_reach_the_server_and_bad_ones_raise():
    sv.chart("fixed", y_min=0, y_max=100)
    sv.chart("log", y_scale="log", y_min=1)
    sv.start(port=0)
    by_id = wait_until(lambda: len(ws := {w["id"]: w for w in api_widgets()}) == 2 and ws, what="two charts")
    assert (by_id["fixed"]["y_min"], by_id["fixed"]["y_max"], by_id["fixed"].get("y_scale")) == (0, 100, None)
    assert (by_id["log"]["y_min"], by_id["log"].get("y_max"), by_id["log"]["y_scale"]) == (1, None, "log")
    for kwargs, option in [({"y_min": 5, "y_max": 5}, "y_min"), ({"y_scale": "sqrt"}, "y_scale"),
                           ({"y_scale": "log", "y_min": 0}, "y_min"), ({"y_max": "10"}, "y_max")]:
        with pytest.raises(sv.InvalidOptionError) as e:
            sv.chart("bad", **kwargs)
        assert e.value.option == option


def test_chart_thresholds_reach_the_server_sorted():
    sv.chart("t", thresholds=[(80, "#cf222e"), (50, "#1a7f37")])
    sv.chart("none")
    sv.start(port=0)
    by_id = wait_until(lambda: len(ws := {w["id"]: w for w in api_widgets()}) == 2 and ws, what="two charts")
    assert by_id["t"]["thresholds"] == [[50, "#1a7f37"], [80, "#cf222e"]]
    assert "thresholds" not in by_id["none"]


def test_a_charts_label_names_its_default_series_and_is_refused_where_there_is_none():
    """label= names the series .send() and .extend() fill without series= (the legend said
    "(unnamed)" beside a named series, and a manual chart had no way to name it)."""
    sv.chart("lat", title="Latency", label="p50")
    sv.chart("plain", title="Plain")
    sv.start(port=0)
    by_id = wait_until(lambda: len(ws := {w["id"]: w for w in api_widgets()}) == 2 and ws, what="two charts")
    assert by_id["lat"]["label"] == "p50"
    assert by_id["plain"].get("label") is None
    with pytest.raises(sv.InvalidOptionError) as e:
        sv.chart("bad", label=7)  # type: ignore[arg-type]
    assert (e.value.widget, e.value.option, e.value.value) == ("bad", "label", 7)
    assert "bad" not in sv._D.widgets


def test_a_pathway_charts_label_replaces_its_y_column_and_is_refused_with_several_series():
    import pathway as pw

    t = pw.debug.table_from_markdown("""
        t | v | s
        1 | 2 | a
    """)
    assert sv.chart(t, "v", x_column="t", id="one").label == "v"
    assert sv.chart(t, "v", x_column="t", id="named", label="value").label == "value"
    for kwargs in ({"y_column": ["v", "t"]}, {"y_column": "v", "series_column": "s"}):
        with pytest.raises(sv.InvalidOptionError) as e:
            sv.chart(t, x_column="t", id="many", label="x", **kwargs)
        assert e.value.option == "label" and "no default series" in str(e.value)
