"""Manual mode: widgets declared with a string id and fed with .send(), checked on a really spawned
server through GET /api/widgets/{id} and through a real WebSocket client."""

from __future__ import annotations

import datetime as dt
import decimal
import math
import time

import numpy as np
import pytest
from helpers import api_widget, api_widgets, get_json, http_base, rows_of, wait_state, wait_until, wait_widget

import stream_viz as sv

UTC = dt.timezone.utc


def value_is(v):
    return lambda w: (w["state"] or {}).get("value") == v


# ---------------------------------------------------------------- attributes (no server)


def test_widgets_carry_their_options_as_attributes_and_id_defaults_to_the_string():
    s = sv.stat("revenue", title="Revenue", unit="$", color="#f00", format=",.0f", delta=False)
    assert (s.id, s.title, s.unit, s.color, s.format, s.delta) == ("revenue", "Revenue", "$", "#f00", ",.0f", False)
    g = sv.gauge("load", min_val=10, max_val=90, thresholds=[(80, "red"), (50, "green")])
    assert (g.id, g.title, g.unit, g.min_val, g.max_val) == ("load", "load", "", 10, 90)
    assert g.thresholds == [(50.0, "green"), (80.0, "red")], "thresholds are sorted ascending"
    c = sv.chart("latency", id="lat", title="Latency", unit="ms", chart_type="area", max_points=50)
    assert (c.id, c.title, c.unit, c.chart_type, c.max_points) == ("lat", "Latency", "ms", "area", 50)
    t = sv.table("orders", columns=["a", "b"], column_labels={"a": "A"}, column_format={"b": ".2f"}, max_rows=7,
                 sort_by="b", sort_desc=False, key="a")
    assert (t.id, t.title, t.columns, t.column_labels, t.column_format, t.max_rows, t.sort_by, t.sort_desc, t.key) == (
        "orders", "orders", ["a", "b"], {"a": "A"}, {"b": ".2f"}, 7, "b", False, "a")
    assert isinstance(s, sv.Stat) and isinstance(g, sv.Gauge) and isinstance(c, sv.Chart) and isinstance(t, sv.Table)
    assert s.embed_url is None, "no embed URL before the dashboard runs"


def test_configs_reach_the_server_with_every_option():
    sv.title("Order Analytics")
    sv.stat("revenue", title="Revenue", unit="$", color="#123456", format=",.0f", delta=False)
    sv.gauge("load", title="Load", unit="%", min_val=5, max_val=95, thresholds=[(80, "#f00"), (50, "#0f0")])
    sv.chart("latency", title="Latency", unit="ms", chart_type="bar", max_points=42)
    sv.table("orders", title="Orders", columns=["region", "n"], column_labels={"n": "Count"}, column_format={"n": "d"},
             max_rows=9, sort_by="n", sort_desc=False, key="region")
    sv.start(port=0)
    wait_until(lambda: len(api_widgets()) == 4, what="four widget configs")
    by_id = {w["id"]: w for w in api_widgets()}
    assert {k: by_id["revenue"][k] for k in ("type", "title", "unit", "color", "format", "delta")} == {
        "type": "stat", "title": "Revenue", "unit": "$", "color": "#123456", "format": ",.0f", "delta": False}
    assert {k: by_id["load"][k] for k in ("type", "title", "unit", "min", "max", "thresholds")} == {
        "type": "gauge", "title": "Load", "unit": "%", "min": 5, "max": 95, "thresholds": [[50, "#0f0"], [80, "#f00"]]}
    assert {k: by_id["latency"][k] for k in ("type", "title", "unit", "chart_type", "max_points")} == {
        "type": "chart", "title": "Latency", "unit": "ms", "chart_type": "bar", "max_points": 42}
    assert {k: by_id["orders"][k] for k in ("type", "title", "columns", "column_labels", "column_format", "max_rows", "sort_by", "sort_desc")} == {
        "type": "table", "title": "Orders", "columns": ["region", "n"], "column_labels": {"n": "Count"},
        "column_format": {"n": "d"}, "max_rows": 9, "sort_by": "n", "sort_desc": False}
    # Declaration order is display order.
    assert sorted(by_id, key=lambda i: by_id[i]["order"]) == ["revenue", "load", "latency", "orders"]
    health = get_json(http_base() + "/healthz")
    assert health["status"] == "ok" and health["rejected"] == 0


@pytest.mark.parametrize("kind", ["stacked_bar", "stacked_area"])
def test_stacked_chart_types_reach_the_server_with_their_series(kind):
    c = sv.chart("mix", chart_type=kind)
    sv.start(port=0)
    c.send({"a": 1.0, "b": 2.0}, 1_767_225_600)
    w = wait_widget("mix", lambda w: len((w["state"] or {}).get("series") or {}) == 2)
    assert w["config"]["chart_type"] == kind


# ---------------------------------------------------------------- stat and gauge


@pytest.mark.parametrize("kind", ["stat", "gauge"])
def test_value_widget_send_shows_latest_value_and_previous_over_api_and_websocket(kind, client_factory):
    w = getattr(sv, kind)("kpi", title="KPI", unit="u")
    sv.start(port=0)
    client = client_factory()
    first = client.wait_for(lambda c: c.messages, what="the first message")[0]
    assert first[0]["type"] == "snapshot", "a fresh socket starts with a snapshot"

    w.send(10)
    wait_widget("kpi", value_is(10))
    w.send(12.5)
    got = wait_widget("kpi", value_is(12.5))
    assert got["config"]["type"] == kind and got["config"]["title"] == "KPI" and got["config"]["unit"] == "u"
    assert got["state"]["prev"] == 10
    assert isinstance(got["state"]["ts"], (int, float)) and abs(got["state"]["ts"] - time.time() * 1000) < 60_000

    client.wait_for(lambda c: (c.state("kpi") or {}).get("value") == 12.5, what="12.5 over the socket")
    values = [ev["data"]["value"] for ev in client.data_events("kpi")]
    assert values[-2:] == [10, 12.5], f"data events carry each value in order: {values}"
    assert client.state("kpi")["prev"] == 10
    assert not client.errors


def test_value_send_accepts_numpy_decimal_bool_and_turns_none_nan_inf_into_null():
    s = sv.stat("v")
    sv.start(port=0)
    shown_before = None
    for value, shown in [(np.int64(7), 7), (None, None), (np.float32(2.5), 2.5), (float("nan"), None),
                         (decimal.Decimal("1.25"), 1.25), (float("inf"), None), (True, 1), (np.float64("-inf"), None)]:
        s.send(value)
        # Each value follows a different one, so the wait cannot pass on the previous state.
        got = wait_widget("v", lambda w, shown=shown, before=shown_before: w["state"]["value"] == shown and w["state"]["prev"] == before)
        assert type(got["state"]["value"]) in ((int, float) if shown is not None else (type(None),))
        shown_before = shown


# ---------------------------------------------------------------- chart


def test_chart_send_plots_points_at_given_ms_datetime_and_default_now(client_factory):
    c = sv.chart("lat", title="Latency", max_points=100)
    sv.start(port=0)
    client = client_factory()
    t_aware = dt.datetime(2026, 11, 27, 10, 0, 0, 250000, tzinfo=UTC)
    t_offset = dt.datetime(2026, 11, 27, 11, 0, 1, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    c.send(1.5, 1_764_230_400_000)
    c.send(2, t_aware)
    c.send(np.float64(3.25), t_offset)
    before = time.time() * 1000
    c.send(4)
    after = time.time() * 1000
    got = wait_widget("lat", lambda w: len(w["state"]["points"]) == 4)
    pts = got["state"]["points"]
    assert pts[:3] == [[1_764_230_400_000, 1.5], [1_795_773_600_250, 2], [1_795_773_601_000, 3.25]]
    assert before - 1 <= pts[3][0] <= after + 1 and pts[3][1] == 4, "timestamp defaults to now"
    assert "series" not in got["state"]
    client.wait_for(lambda c_: len((c_.state("lat") or {}).get("points", [])) == 4, what="4 points over the socket")
    assert client.state("lat")["points"] == pts
    assert not client.errors


def test_chart_send_dict_draws_one_line_per_series_and_nan_is_a_gap(client_factory):
    c = sv.chart("sys")
    sv.start(port=0)
    client = client_factory()
    c.send({"cpu": 10, "mem": 20}, 1000)
    c.send({"cpu": 11, "mem": float("nan")}, 2000)
    c.send(5, 3000)
    want = {"points": [[3000, 5]], "series": {"cpu": [[1000, 10], [2000, 11]], "mem": [[1000, 20], [2000, None]]}}
    wait_state("sys", want)
    client.wait_for(lambda c_: c_.state("sys") == want, what="the series over the socket")


def test_chart_send_with_mode_upsert_corrects_the_point_at_its_x_instead_of_adding_one(client_factory):
    """Late corrections from a producer without Pathway: one point per series and x, in order."""
    c = sv.chart("late", chart_type="bar")
    sv.start(port=0)
    client = client_factory()
    c.send(1, 1000)
    c.send(2, 2000)
    c.send({"eu": 5, "us": 6}, 1000, mode="upsert")
    c.send(10, 1000, mode="upsert")  # corrects the appended point at 1000
    c.send(3, 1500, mode="upsert")  # a new x lands in x order
    c.send({"eu": 7}, 1000, mode="upsert")
    c.remove(2000)
    want = {"points": [[1000, 10], [1500, 3]], "series": {"eu": [[1000, 7]], "us": [[1000, 6]]}}
    wait_state("late", want)
    client.wait_for(lambda c_: c_.state("late") == want, what="the corrected points over the socket")
    for st in client.states_of("late"):
        xs = [p[0] for p in st.get("points", [])]
        assert len(xs) == len(set(xs)), f"two points at one x: {st}"
    with pytest.raises(sv.InvalidOptionError):
        c.send(1, 1000, mode="replace")


def test_a_category_chart_keeps_one_bar_per_category_updated_in_place(client_factory):
    c = sv.chart("regions_bar", x_type="category", chart_type="bar")
    sv.start(port=0)
    client = client_factory()
    c.send(10, "eu")
    c.send(20, "us")
    c.send(12, "eu")  # upsert by default: the eu bar moves
    c.send({"cost": 3}, "eu")
    c.remove("us")
    want = {"points": [["eu", 12]], "series": {"cost": [["eu", 3]]}}
    wait_state("regions_bar", want)
    client.wait_for(lambda c_: c_.state("regions_bar") == want, what="the bars over the socket")
    assert api_widget("regions_bar")["config"]["x_type"] == "category"
    with pytest.raises(sv.InvalidOptionError) as e:
        c.send(1, 1000)
    assert e.value.option == "timestamp" and "category" in str(e.value)


def test_chart_keeps_max_points_newest_points():
    c = sv.chart("few", max_points=3)
    sv.start(port=0)
    for i in range(6):
        c.send(i, 1000 + i)
    wait_state("few", [[1003, 3], [1004, 4], [1005, 5]], key=lambda st: st["points"])


# ---------------------------------------------------------------- table


def test_table_with_key_upserts_in_place_and_delete_removes_the_row(client_factory):
    t = sv.table("regions", key="region", sort_by="revenue")
    sv.start(port=0)
    client = client_factory()
    t.send({"region": "eu", "revenue": 10})
    t.send({"region": "us", "revenue": 5})
    wait_widget("regions", lambda w: len(rows_of(w)) == 2)
    t.send({"region": "eu", "revenue": 11, "orders": 3})
    wait_state("regions", {"eu": {"region": "eu", "revenue": 11, "orders": 3}, "us": {"region": "us", "revenue": 5}},
               key=lambda st: st["rows"])
    t.delete("us")
    want = {"eu": {"region": "eu", "revenue": 11, "orders": 3}}
    wait_state("regions", want, key=lambda st: st["rows"])
    client.wait_for(lambda c: c.rows("regions") == want, what="the table over the socket")
    # The update of eu was an upsert: no event ever deleted eu.
    for ev in client.data_events("regions"):
        assert {"key": "eu", "delete": True} not in ev["data"]["ops"]
    assert any(op == {"key": "us", "delete": True} for ev in client.data_events("regions") for op in ev["data"]["ops"])
    assert not client.errors


def test_table_key_values_are_turned_into_text_keys():
    t = sv.table("nums", key="n")
    sv.start(port=0)
    t.send({"n": 7, "v": "seven"})
    t.send({"n": 7, "v": "SEVEN"})
    t.send({"n": "8", "v": "eight"})
    wait_state("nums", {"7": {"n": 7, "v": "SEVEN"}, "8": {"n": "8", "v": "eight"}}, key=lambda st: st["rows"])
    t.delete(7)
    wait_state("nums", {"8": {"n": "8", "v": "eight"}}, key=lambda st: st["rows"])


def test_table_without_key_appends_and_deletes_rows_beyond_max_rows(client_factory):
    t = sv.table("log", max_rows=3)
    sv.start(port=0)
    client = client_factory()
    for i in range(1, 6):
        t.send({"i": i})
        wait_widget("log", lambda w, i=i: {r["i"] for r in rows_of(w).values()} >= {i})  # one flush per send
    got = wait_widget("log", lambda w: len(rows_of(w)) == 3)
    assert sorted(r["i"] for r in rows_of(got).values()) == [3, 4, 5], "the newest max_rows rows are kept"
    client.wait_for(lambda c: sorted(r["i"] for r in c.rows("log").values()) == [3, 4, 5], what="the last 3 rows over the socket")
    assert all(len(st["rows"]) <= 3 for st in client.states_of("log")), "the table never held more than max_rows rows"
    deleted = {op["key"] for ev in client.data_events("log") for op in ev["data"]["ops"] if op.get("delete")}
    assert len(deleted) == 2, f"the two oldest rows were deleted on the server: {deleted}"


def test_table_send_encodes_odd_values_without_crashing():
    t = sv.table("odd", key="k")
    sv.start(port=0)
    t.send({
        "k": "a",
        "np_int": np.int64(3), "np_float": np.float32(0.5), "np_arr": np.array([1, 2]),
        "dec": decimal.Decimal("2.50"), "dec_nan": decimal.Decimal("NaN"),
        "nan": float("nan"), "inf": -math.inf, "none": None,
        "when": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "day": dt.date(2026, 1, 2),
        "dur": dt.timedelta(minutes=1, seconds=30), "tup": (1, "x", None), "raw": b"\x00\x01",
        "nested": {"x": [float("nan"), 1]},
    })
    got = wait_widget("odd", lambda w: "a" in rows_of(w))
    assert rows_of(got)["a"] == {
        "k": "a", "np_int": 3, "np_float": 0.5, "np_arr": [1, 2], "dec": 2.5, "dec_nan": None, "nan": None, "inf": None,
        "none": None, "when": "2026-01-02T03:04:05+00:00", "day": "2026-01-02", "dur": 90.0, "tup": [1, "x", None],
        "raw": "AAE=", "nested": {"x": [None, 1]},
    }
    assert get_json(http_base() + "/healthz")["rejected"] == 0


# ---------------------------------------------------------------- lifecycle


def test_widgets_declared_after_start_and_the_title_reach_the_dashboard(client_factory):
    sv.title("Order Analytics")
    early = sv.stat("early")
    sv.start(port=0)
    client = client_factory()
    late = sv.gauge("late", max_val=10)
    late_table = sv.table("late_rows", key="k")
    early.send(1)
    late.send(7)
    late_table.send({"k": "x", "v": 1})
    wait_widget("late", value_is(7))
    assert api_widget("late")["config"]["max"] == 10
    wait_state("late_rows", {"x": {"k": "x", "v": 1}}, key=lambda st: st["rows"])
    wait_widget("early", value_is(1))
    client.wait_for(lambda c: c.title == "Order Analytics" and (c.state("late") or {}).get("value") == 7,
                    what="the title and the late widget over the socket")


def test_embed_url_serves_the_widget_alone_and_a_widget_socket_sees_only_it(client_factory):
    a = sv.stat("a", embed=True)
    b = sv.stat("b")
    sv.start(port=0)
    assert a.embed_url == f"{http_base()}/embed/a"
    import urllib.request

    with urllib.request.urlopen(a.embed_url, timeout=5) as r:
        assert r.status == 200 and b"<" in r.read()
    only_a = client_factory(widget="a")
    a.send(1)
    b.send(2)
    wait_widget("b", value_is(2))
    only_a.wait_for(lambda c: (c.state("a") or {}).get("value") == 1, what="a's value on its own socket")
    assert "b" not in only_a.widgets and not only_a.data_events("b")


def test_stop_then_start_again_republishes_configs_to_the_new_server():
    s = sv.stat("again", title="Again")
    sv.start(port=0)
    s.send(1)
    wait_widget("again", value_is(1))
    first_pid = sv._D.server.proc.pid
    sv.stop()
    assert sv._D.server is None and sv._D.http_url is None
    sv.start(port=0)
    assert sv._D.server.proc.pid != first_pid, "a new server (with an empty store) was spawned"
    got = wait_widget("again", lambda w: w["config"]["title"] == "Again")
    s.send(2)
    wait_widget("again", value_is(2))
    assert got["config"]["type"] == "stat"


def test_stats_count_acknowledged_messages_and_still_report_them_after_stop():
    s = sv.stat("counted")
    sv.start(port=0)
    for i in range(3):
        s.send(i)
        wait_widget("counted", value_is(i))
    before = wait_until(lambda: (st := sv.stats())["pending_messages"] == 0 and st, what="nothing pending")
    assert before["connected"] is True and before["failed_publishes"] == 0
    assert before["published_messages"] >= 4 and before["published_updates"] >= 3  # a config and three values
    sv.stop()
    after = sv.stats()
    assert after["connected"] is False
    assert after["pending_messages"] == 0, f"after stop() nothing is waiting to be published: {after}"
    assert after["published_messages"] >= before["published_messages"], f"stop() does not forget what was published: {after}"


def test_gauge_bounds_computed_with_numpy_reach_the_server_as_numbers():
    sv.gauge("load", min_val=np.int64(5), max_val=np.float32(95.5))
    sv.start(port=0)
    w = wait_widget("load", lambda w: w["config"]["max"] == 95.5)
    assert w["config"]["min"] == 5
