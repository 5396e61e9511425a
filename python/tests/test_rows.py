"""Pathway fidelity over both ways in (issue 13 item 2): the SDK's bindings, and Pathway's own NATS
output, `pw.io.nats.write(table, url, topic="sv.<widget>.rows", format="json")`, core or JetStream,
with the widget's config naming how to read rows (docs/protocol.md §1.6).

Every test runs a real Pathway pipeline against a really spawned server and compares the dashboard
(GET /api/widgets and a live WebSocket client) with Pathway's own answer; the same assertions hold
for every way in. In the rows ways the SDK only starts the server: the pipeline publishes itself.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import subprocess
import sys
from typing import Any

import pandas as pd
import pathway as pw
import pytest
from helpers import DashClient, api_widget, pandas_rows, plain, wait_state, wait_widget
from test_pathway import (
    REGION_STEPS,
    SAME_X_CASES,
    TIER_STEPS,
    WINDOW_MD,
    ChartReference,
    CommitRecorder,
    PacedRows,
    assert_chart_followed_pathway,
    assert_every_state_was_a_commit_boundary,
    no_delete_of,
)
from test_spawn import PIPELINE

import stream_viz as sv

WAYS = ["sdk", "pw.io.nats.write", "pw.io.nats.write jetstream"]


def publish_configs(nats_url: str, configs: dict[str, dict]) -> None:
    """Publishes widget configs as any NATS client would (`nats req`), each acknowledged."""
    import nats

    async def run() -> None:
        nc = await nats.connect(nats_url)
        try:
            for wid, cfg in configs.items():
                reply = json.loads((await nc.request(f"sv.{wid}.config", json.dumps(cfg).encode(), timeout=10)).data)
                assert reply.get("stream") == "SV", f"config of {wid} refused: {reply}"
        finally:
            await nc.close()

    asyncio.run(run())


class Way:
    """Declares widgets through the SDK, or as configs plus pw.io.nats.write of each table."""

    def __init__(self, name: str):
        self.name = name
        self.configs: dict[str, dict] = {}
        self.tables: dict[str, Any] = {}

    @property
    def sdk(self) -> bool:
        return self.name == "sdk"

    def _rows(self, wid: str, table: Any, cfg: dict) -> None:
        self.configs[wid] = cfg
        self.tables[wid] = table

    def table(self, t: Any, *, id: str, key: str | None = None, columns: list[str] | None = None) -> None:
        if self.sdk:
            sv.table(t, id=id, key=key, columns=columns)
            return
        cfg: dict = {"type": "table"}
        if key is not None:
            cfg["key"] = [key]
        if columns is not None:
            cfg["columns"] = columns
        self._rows(id, t, cfg)

    def chart(self, t: Any, y: str | list[str], *, id: str, x_column: str | None = None, series_column: str | None = None,
              chart_type: str = "line", category: bool = False) -> None:
        if self.sdk:
            sv.chart(t, y, id=id, x_column=x_column, series_column=series_column, chart_type=chart_type)
            return
        cfg: dict = {"type": "chart", "y": y, "chart_type": chart_type}
        if x_column is not None:
            cfg["x"] = x_column
        if series_column is not None:
            cfg["series"] = series_column
        if category:
            cfg["x_type"] = "category"
        self._rows(id, t, cfg)

    def value(self, kind: str, t: Any, column: str, *, id: str) -> None:
        if self.sdk:
            (sv.stat if kind == "stat" else sv.gauge)(t, column, id=id)
            return
        self._rows(id, t, {"type": kind, "column": column})

    def start(self) -> None:
        sv.start(port=0)
        if self.sdk:
            return
        url = sv._D.server.nats
        publish_configs(url, self.configs)
        for wid, t in self.tables.items():
            extra = {"jetstream_stream_name": "SV"} if self.name.endswith("jetstream") else {}
            pw.io.nats.write(t, url, topic=f"sv.{wid}.rows", format="json", **extra)


@pytest.fixture(params=WAYS)
def way(request) -> Way:
    return Way(request.param)


class RowsChartReference(ChartReference):
    """ChartReference with the rows' tie rule: rows inserted at one Pathway time into one point are
    ordered by their JSON (columns sorted by name), as the server orders them, where the SDK uses
    the Pathway key it has and rows do not carry."""

    def chart(self) -> dict[str, list]:
        best: dict = {}
        for _key, (commit, row) in self.live.items():
            for col in self.ys:
                name = str(row[self.series]) if self.series else (col if self.named else "")
                g = (name, self.x_of(row[self.x]))
                rank = (commit, json.dumps({c: plain(v) for c, v in row.items()}, sort_keys=True, separators=(",", ":")))
                if g not in best or rank > best[g][0]:
                    best[g] = (rank, plain(row[col]))
        out: dict[str, list] = {}
        for (name, x), (_rank, y) in best.items():
            out.setdefault(name, []).append((x, y))
        return {name: sorted(pts, key=lambda p: p[0]) for name, pts in out.items()}


def reference(way: Way, table: Any, x: str, ys: list[str], **kw: Any) -> ChartReference:
    return (ChartReference if way.sdk else RowsChartReference)(table, x, ys, **kw)


ORDERS_MD = """
  | order | region | amount | __time__ | __diff__
1 | 1     | eu     | 10     | 2        | 1
2 | 2     | us     | 20     | 2        | 1
3 | 3     | apac   | 5      | 2        | 1
1 | 1     | eu     | 10     | 4        | -1
1 | 1     | eu     | 12     | 4        | 1
4 | 4     | latam  | 7      | 4        | 1
2 | 2     | us     | 20     | 6        | -1
2 | 2     | us     | 21     | 6        | 1
3 | 3     | apac   | 5      | 6        | -1
5 | 5     | eu     | 1      | 8        | 1
4 | 4     | latam  | 7      | 10       | -1
4 | 4     | latam  | 8      | 10       | 1
"""


def test_table_updates_change_rows_in_place_and_retractions_delete_them(way, client_factory, pw_run):
    t = pw.debug.table_from_markdown(ORDERS_MD)
    expected = pandas_rows(pw.debug.table_to_pandas(t), key="order")
    assert sorted(expected) == ["1", "2", "4", "5"], expected  # apac was deleted; eu, us, latam updated; 5 added

    recorder = CommitRecorder(t, key_col="order")
    way.table(t, id="orders", key="order")
    way.start()
    client = client_factory()
    pw_run()

    wait_state("orders", expected, key=lambda st: st["rows"])
    client.wait_for(lambda c: c.rows("orders") == expected, what="the final rows over the socket")
    assert recorder.states[-1] == expected
    assert no_delete_of(client, "orders", expected) == [], "a row updated by retraction+insertion was deleted on the way"
    assert_every_state_was_a_commit_boundary(client, "orders", recorder.states)
    assert not client.errors


def test_table_with_key_column_and_columns_subset_matches_pathway_groupby(way, client_factory, pw_run):
    orders = pw.debug.table_from_markdown(ORDERS_MD)
    by_region = orders.groupby(pw.this.region).reduce(pw.this.region, revenue=pw.reducers.sum(pw.this.amount),
                                                       orders=pw.reducers.count())
    df = pw.debug.table_to_pandas(by_region)
    expected = {r: {"region": r, "revenue": plain(rev)} for r, rev in zip(df["region"], df["revenue"], strict=True)}
    assert set(expected) == {"eu", "us", "latam"}

    recorder = CommitRecorder(by_region, key_col="region", columns=["region", "revenue"])
    way.table(by_region, id="regions", key="region", columns=["region", "revenue"])
    way.start()
    client = client_factory()
    pw_run()

    wait_state("regions", expected, key=lambda st: st["rows"])
    client.wait_for(lambda c: c.rows("regions") == expected, what="the regions over the socket")
    assert no_delete_of(client, "regions", expected) == []
    assert_every_state_was_a_commit_boundary(client, "regions", recorder.states)
    assert api_widget("regions")["config"]["columns"] == ["region", "revenue"]


def test_stat_and_gauge_show_the_reduce_result_and_null_once_its_row_is_retracted(way, pw_run):
    orders = pw.debug.table_from_markdown(ORDERS_MD)
    totals = orders.reduce(revenue=pw.reducers.sum(pw.this.amount), avg=pw.reducers.avg(pw.this.amount))
    gone = pw.debug.table_from_markdown("""
      | v | __time__ | __diff__
    1 | 3 | 2        | 1
    1 | 3 | 4        | -1
    """).reduce(s=pw.reducers.sum(pw.this.v))
    df = pw.debug.table_to_pandas(totals)
    revenue, avg = plain(df["revenue"].iloc[0]), plain(df["avg"].iloc[0])
    assert revenue == 12 + 21 + 1 + 8

    way.value("stat", totals, "revenue", id="revenue")
    way.value("gauge", totals, "avg", id="avg")
    way.value("stat", gone, "s", id="emptied")
    way.start()
    pw_run()
    wait_widget("revenue", lambda w: w["state"]["value"] == revenue)
    wait_widget("avg", lambda w: w["state"]["value"] == pytest.approx(avg))
    # The single row existed (3) and was then retracted: the stat shows no value, not a stale one.
    wait_widget("emptied", lambda w: w["state"]["ts"] is not None and w["state"]["value"] is None)
    assert api_widget("avg")["config"]["type"] == "gauge"


@pytest.mark.parametrize("axis", ["number", "datetime"])
def test_window_chart_has_one_point_per_window_late_events_move_it_and_retraction_removes_it(way, axis, client_factory, pw_run):
    events = pw.debug.table_from_markdown(WINDOW_MD)
    if axis == "number":
        window = pw.temporal.tumbling(duration=10)
    else:
        events = events.select(v=pw.this.v, t=pw.this.t.dt.from_timestamp(unit="s"))
        window = pw.temporal.tumbling(duration=dt.timedelta(seconds=10))
    win = events.windowby(pw.this.t, window=window).reduce(start=pw.this._pw_window_start, total=pw.reducers.sum(pw.this.v))
    df = pw.debug.table_to_pandas(win).sort_values("start")

    def x_of(v):
        return float(v) if axis == "number" else pd.Timestamp(v).timestamp() * 1000.0

    expected = [(x_of(s), plain(v)) for s, v in zip(df["start"], df["total"], strict=True)]
    # [0,10): 1+2 then the late 4 -> 7; [10,20): 5 then 3 -> 8; [20,30): 1 then retracted for good.
    assert expected == [(0.0, 7), (10_000.0 if axis == "datetime" else 10.0, 8)]

    way.chart(win, "total", x_column="start", id="win", chart_type="bar")
    way.start()
    client = client_factory()
    pw_run()

    got = wait_widget("win", lambda w: [(float(x), y) for x, y in w["state"]["points"]] == expected)
    assert "series" not in got["state"]
    client.wait_for(lambda c: [(float(x), y) for x, y in (c.state("win") or {}).get("points", [])] == expected,
                    what="the window points over the socket")
    for st in client.states_of("win"):
        xs = [p[0] for p in st["points"]]
        assert len(xs) == len(set(xs)), f"a window had two points at once: {st['points']}"
        assert xs == sorted(xs), f"window points out of order: {xs}"
    assert not client.errors


@pytest.mark.parametrize("case", list(SAME_X_CASES))
def test_chart_point_follows_the_most_recent_live_row_at_its_x_and_never_a_retracted_one(way, case, client_factory, pw_run):
    src = PacedRows(SAME_X_CASES[case])
    ref = reference(way, src.table, "x", ["y"])
    way.chart(src.table, "y", x_column="x", id="same_x", chart_type="scatter")
    way.start()
    client = client_factory()
    src.run(pw_run, client, "same_x", ref)
    if case == "second-row-deleted":
        assert ref.charts[-1] == {"": [(1.0, 10)]}
    assert_chart_followed_pathway(client, "same_x", ref)


def test_windowby_instance_chart_has_one_series_per_instance_and_late_updates_move_points(way, client_factory, pw_run):
    src = PacedRows(TIER_STEPS)
    events = src.table.select(t=pw.this.x, v=pw.this.y, tier=pw.this.tier)
    win = events.windowby(pw.this.t, window=pw.temporal.tumbling(duration=10), instance=pw.this.tier).reduce(
        tier=pw.this._pw_instance, start=pw.this._pw_window_start, total=pw.reducers.sum(pw.this.v))
    ref = reference(way, win, "start", ["total"], series="tier")
    way.chart(win, "total", x_column="start", series_column="tier", id="tiers", chart_type="bar")
    way.start()
    client = client_factory()
    src.run(pw_run, client, "tiers", ref)
    assert ref.charts[-1] == {"gold": [(0.0, 5)], "free": [(0.0, 8), (10.0, 3)]}, ref.charts[-1]
    assert_chart_followed_pathway(client, "tiers", ref)


def test_a_text_x_column_makes_a_category_chart_with_one_bar_per_category_updated_in_place(way, client_factory, pw_run):
    src = PacedRows(REGION_STEPS)
    by_region = src.table.groupby(pw.this.tier).reduce(region=pw.this.tier, revenue=pw.reducers.sum(pw.this.y))
    ref = reference(way, by_region, "region", ["revenue"])
    way.chart(by_region, "revenue", x_column="region", id="per_region", chart_type="bar", category=True)
    way.start()
    client = client_factory()
    src.run(pw_run, client, "per_region", ref)
    assert ref.charts[-1] == {"": [("eu", 32), ("us", 7)]}, ref.charts[-1]
    assert_chart_followed_pathway(client, "per_region", ref)
    assert api_widget("per_region")["config"]["x_type"] == "category"


def test_rows_published_before_the_config_are_shown_once_it_comes(pw_run):
    """Rows that reach the server before their widget's config are held as a table keyed by row;
    the config, published after the pipeline ran, rebuilds the widget from them."""
    win = pw.debug.table_from_markdown(WINDOW_MD).windowby(pw.this.t, window=pw.temporal.tumbling(duration=10)).reduce(
        start=pw.this._pw_window_start, total=pw.reducers.sum(pw.this.v))
    sv.start(port=0)
    pw.io.nats.write(win, sv._D.server.nats, topic="sv.late.rows", format="json")
    pw_run()
    wait_widget("late", lambda w: len(w["state"]["rows"]) == 2)
    publish_configs(sv._D.server.nats, {"late": {"type": "chart", "x": "start", "y": "total"}})
    wait_state("late", {"points": [[0, 7], [10, 8]]})


# The pipeline as a team without the SDK runs it: Pathway alone, its own NATS output.
SPAWN_SCRIPT = """
import sys
import pathway as pw
{pipeline}
url = sys.argv[1]
pw.io.nats.write(by_region, url, topic="sv.regions.rows", format="json"{js})
pw.io.nats.write(totals, url, topic="sv.revenue.rows", format="json"{js})
pw.run(monitoring_level=pw.MonitoringLevel.NONE)
"""


@pytest.mark.parametrize("jetstream", [False, True], ids=["core", "jetstream"])
def test_every_process_of_a_pathway_spawn_publishes_to_one_subject_and_the_dashboard_equals_pathway(jetstream, tmp_path):
    scope: dict = {}
    exec(PIPELINE, scope)  # test_spawn's pipeline, run here for Pathway's own result
    expected = pandas_rows(pw.debug.table_to_pandas(scope["by_region"]), key="region")
    revenue = plain(pw.debug.table_to_pandas(scope["totals"])["revenue"].iloc[0])
    assert len(expected) == 12 and "latam" not in expected

    sv.start(port=0)
    url = sv._D.server.nats
    publish_configs(url, {"regions": {"type": "table", "key": ["region"]}, "revenue": {"type": "stat", "column": "revenue"}})
    script = tmp_path / "pipeline.py"
    script.write_text(SPAWN_SCRIPT.format(pipeline=PIPELINE, js=', jetstream_stream_name="SV"' if jetstream else ""))
    pathway = os.path.join(os.path.dirname(sys.executable), "pathway")
    proc = subprocess.Popen([pathway, "spawn", "--processes", "2", "--threads", "2", sys.executable, str(script), url],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=str(tmp_path), start_new_session=True)
    try:
        _out, err = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    assert proc.returncode == 0, err[-3000:]
    assert "stream_viz" not in script.read_text(), "the pipeline does not use the SDK"
    wait_state("regions", expected, key=lambda st: st["rows"], timeout=30)
    wait_widget("revenue", lambda w: w["state"]["value"] == revenue, timeout=30)
    client = DashClient()
    try:
        client.wait_for(lambda c: c.rows("regions") == expected, what="the regions over a fresh socket")
    finally:
        client.close()
