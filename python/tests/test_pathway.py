"""Pathway fidelity: the dashboard shows exactly what Pathway computed.

Each test builds a real Pathway pipeline, computes the expected result with
pw.debug.table_to_pandas *before* the widgets subscribe (table_to_pandas runs the whole graph
again, subscriptions included), then runs pw.run() against a really spawned server and compares
the dashboard (GET /api/widgets and a live WebSocket client) with Pathway's own answer.
"""

from __future__ import annotations

import datetime as dt
import decimal
import gc
import threading
import time

import numpy as np
import pandas as pd
import pathway as pw
import pytest
from helpers import DashClient, api_widget, get_json, http_base, pandas_rows, plain, rows_of, wait_state, wait_widget
from ways import SDK, WAYS, Way

import stream_viz as sv
from stream_viz import _pathway

SUBSCRIPTIONS = ["value-list sink", "pw.io.subscribe"]


def pytest_generate_tests(metafunc):
    """Every fidelity test runs on both ways the SDK subscribes: Pathway's own value-list sink
    (what it uses) and the public pw.io.subscribe (its fallback when a Pathway release lacks that
    internal sink). A test that takes `way` runs on Pathway's own NATS output too (ways.py), where
    the SDK subscribes to nothing: once per way in."""
    if "way" in metafunc.fixturenames:
        combos = [(SDK, sub) for sub in SUBSCRIPTIONS] + [(w, SUBSCRIPTIONS[0]) for w in WAYS if w != SDK]
        metafunc.parametrize(("way", "subscription"), combos, indirect=True,
                             ids=[w if w != SDK else f"sdk {sub}" for w, sub in combos])
    else:
        metafunc.parametrize("subscription", SUBSCRIPTIONS, indirect=True)


@pytest.fixture(autouse=True)
def subscription(request, monkeypatch):
    if request.param == "pw.io.subscribe":
        monkeypatch.setattr(_pathway, "_raw_sink", lambda: None)
    return request.param


@pytest.fixture
def way(request) -> Way:
    return Way(request.param)


def test_the_sdk_subscribes_through_pathways_value_list_sink(subscription):
    # If a Pathway upgrade drops the internal sink, this fails and says the fallback is in use.
    if subscription == "value-list sink":
        assert _pathway._raw_sink() is not None


class CommitRecorder:
    """Pathway's own view of a table at every commit boundary, keyed like the dashboard."""

    def __init__(self, table, key_col: str | None = None, columns: list[str] | None = None):
        self.key_col, self.columns = key_col, columns
        self.rows: dict[str, dict] = {}
        self.states: list[dict[str, dict]] = [{}]
        self._delta: dict = {}
        self._added: dict = {}
        self._retracted: dict = {}
        self.inserted: list[tuple[int, dict]] = []  # (commit time, row) of every insertion
        pw.io.subscribe(table, on_change=self._on_change, on_time_end=self._on_end, name="test_recorder")

    def _key(self, key, row) -> str:
        return str(row[self.key_col]) if self.key_col else str(key)

    def _on_change(self, key, row, time, is_addition) -> None:
        # Within a commit Pathway may deliver an update's retraction after its insertion: sum per key.
        self._delta[key] = self._delta.get(key, 0) + (1 if is_addition else -1)
        if is_addition:
            self._added[key] = row
            self.inserted.append((time, dict(row)))
        else:
            self._retracted.setdefault(key, row)

    def _on_end(self, time) -> None:
        for key, d in self._delta.items():
            old = self._retracted.get(key)
            if old is not None:
                self.rows.pop(self._key(key, old), None)
            if d >= 0 and key in self._added:
                row = self._added[key]
                self.rows[self._key(key, row)] = {c: plain(v) for c, v in row.items() if self.columns is None or c in self.columns}
        self._delta, self._added, self._retracted = {}, {}, {}
        self.states.append({k: dict(v) for k, v in self.rows.items()})


def assert_every_state_was_a_commit_boundary(client: DashClient, wid: str, boundaries: list[dict]) -> None:
    """Every table state the client held is one Pathway had at a commit end: after each server
    message (what a page renders) and after each single data event (the server may batch events
    into one message by chance, which would hide a commit split across two updates)."""
    for per, seen in (("message", client.states_of(wid)), ("data event", client.event_states_of(wid))):
        assert seen, f"the client never saw {wid}"
        for i, st in enumerate(seen):
            rows = (st or {}).get("rows") or {}
            if rows not in boundaries:
                pytest.fail(f"after {per} {i} the client held {len(rows)} rows of {wid!r}, a state Pathway never had "
                            f"at a commit boundary (boundary sizes: {[len(b) for b in boundaries]}); "
                            f"first rows: {dict(list(rows.items())[:3])}", pytrace=False)


def no_delete_of(client: DashClient, wid: str, keys) -> list[dict]:
    """The delete ops the client received for keys (rows that are live at the end)."""
    return [op for ev in client.data_events(wid) for op in ev["data"]["ops"] if op.get("delete") and op["key"] in keys]


ORDERS_MD = """
  | region | amount | __time__ | __diff__
1 | eu     | 10     | 2        | 1
2 | us     | 20     | 2        | 1
3 | apac   | 5      | 2        | 1
1 | eu     | 10     | 4        | -1
1 | eu     | 12     | 4        | 1
4 | latam  | 7      | 4        | 1
2 | us     | 20     | 6        | -1
2 | us     | 21     | 6        | 1
3 | apac   | 5      | 6        | -1
5 | eu     | 1      | 8        | 1
4 | latam  | 7      | 10       | -1
4 | latam  | 8      | 10       | 1
"""


def test_table_updates_change_rows_in_place_and_retractions_delete_them(client_factory, pw_run):
    t = pw.debug.table_from_markdown(ORDERS_MD)
    expected = pandas_rows(pw.debug.table_to_pandas(t))
    assert len(expected) == 4, expected  # apac was deleted; eu, us, latam updated; row 5 added

    recorder = CommitRecorder(t)
    w = sv.table(t, title="Orders")  # the seed's order: declare, start, run
    assert w.id == "orders" and w.title == "Orders" and w.columns == ["region", "amount"] and w.source is t
    sv.start(port=0)
    client = client_factory()
    pw_run()

    wait_state("orders", expected, key=lambda st: st["rows"])
    client.wait_for(lambda c: c.rows("orders") == expected, what="the final rows over the socket")
    assert recorder.states[-1] == expected, "Pathway's own subscription agrees with table_to_pandas"
    assert no_delete_of(client, "orders", expected) == [], "a row updated by retraction+insertion was never deleted"
    assert_every_state_was_a_commit_boundary(client, "orders", recorder.states)
    assert not client.errors


def test_on_a_pathway_without_to_stream_the_sdk_subscribes_to_the_table_and_shows_the_same_rows(monkeypatch, client_factory, pw_run):
    """The SDK subscribes to table.to_stream() where Pathway has it (_source); without it, to the
    table itself: retractions and insertions, folded into the same rows."""
    monkeypatch.setattr(_pathway, "_source", lambda table: (table, _pathway.columns_of(table), False))
    t = pw.debug.table_from_markdown(ORDERS_MD)
    expected = pandas_rows(pw.debug.table_to_pandas(t))
    by_region = pandas_rows(pw.debug.table_to_pandas(t), key="region")
    recorder = CommitRecorder(t)
    sv.table(t, id="orders")
    sv.table(t, id="regions", key="region")
    sv.start(port=0)
    client = client_factory()
    pw_run()
    wait_state("orders", expected, key=lambda st: st["rows"])
    wait_state("regions", by_region, key=lambda st: st["rows"])
    client.wait_for(lambda c: c.rows("orders") == expected and c.rows("regions") == by_region, what="the final rows over the socket")
    assert no_delete_of(client, "orders", expected) == [], "a row updated by retraction+insertion was never deleted"
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
    if way.sdk:
        sv.start(port=0)  # declared after start this time
        client = client_factory()
    way.table(by_region, id="regions", key="region", columns=["region", "revenue"], sort_by="revenue")
    if not way.sdk:
        way.start()  # the rows ways publish configs once the server runs, and write before pw.run
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
    assert len(df) == 1
    revenue, avg = plain(df["revenue"].iloc[0]), plain(df["avg"].iloc[0])
    assert revenue == 12 + 21 + 1 + 8

    s = way.value("stat", totals, "revenue", id="revenue", unit="$")
    g = way.value("gauge", totals, "avg", id="avg", max_val=50)
    e = way.value("stat", gone, "s", id="emptied")
    if way.sdk:
        assert (s.id, s.column, g.id, g.column, e.column) == ("revenue", "revenue", "avg", "avg", "s")
    way.start()
    pw_run()
    wait_widget("revenue", lambda w: w["state"]["value"] == revenue)
    wait_widget("avg", lambda w: w["state"]["value"] == pytest.approx(avg))
    # The single row existed (3) and was then retracted: the stat shows no value, not a stale one.
    # (Both commits may be coalesced into one update, so prev is not pinned.)
    wait_widget("emptied", lambda w: w["state"]["ts"] is not None and w["state"]["value"] is None)


WINDOW_MD = """
  | t  | v | __time__ | __diff__
1 | 1  | 1 | 2        | 1
2 | 3  | 2 | 2        | 1
3 | 12 | 5 | 4        | 1
4 | 25 | 1 | 4        | 1
5 | 2  | 4 | 6        | 1
4 | 25 | 1 | 8        | -1
6 | 14 | 3 | 8        | 1
"""


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


def test_chart_without_x_column_plots_each_commit_at_its_time(way, pw_run):
    orders = pw.debug.table_from_markdown(ORDERS_MD)
    totals = orders.reduce(revenue=pw.reducers.sum(pw.this.amount))
    recorder = CommitRecorder(totals)
    way.chart(totals, "revenue", id="rev_over_time")
    way.start()
    pw_run()
    expected = [(float(time), row["revenue"]) for time, row in recorder.inserted]
    assert [y for _, y in expected] == [35, 44, 40, 41, 42], expected
    wait_widget("rev_over_time", lambda w: [(float(x), y) for x, y in w["state"]["points"]] == expected)


class PacedSubject(pw.io.python.ConnectorSubject):
    """An upsert session that puts and deletes rows step by step, one commit per step
    (("put" | "del", *values of fields) each). Run by run_paced, it waits after each commit
    until pace(step) returns (the dashboard shows it), so every commit travels on its own;
    table_to_pandas runs it unpaced."""

    def __init__(self, steps: list, fields: tuple[str, ...]):
        super().__init__(session_type="upsert")
        self.steps, self.fields = steps, fields
        self.pace = None
        self.error: BaseException | None = None

    def run(self):
        for i, step in enumerate(self.steps):
            for op, *values in step:
                (self.next if op == "put" else self.delete)(**dict(zip(self.fields, values, strict=True)))
            self.commit()
            if self.pace is not None:
                try:
                    self.pace(i)
                except BaseException as e:
                    self.error = e
                    return

    def run_paced(self, pace, pw_run) -> float:
        """pw_run() with pace after each commit; raises what pace raised."""
        self.pace = pace
        try:
            took = pw_run()
        finally:
            self.pace = None
        if self.error is not None:
            raise self.error
        return took


def test_streaming_connector_subject_every_commit_shows_whole_and_final_state_matches_pathway(client_factory, pw_run):
    """A paced ConnectorSubject: after each commit the subject waits until the browser shows it, so
    every commit travels on its own and every state the browser held must be a commit boundary."""
    steps = [
        [("put", "a", "eu", 1), ("put", "b", "us", 2), ("put", "c", "eu", 3)],
        [("put", "a", "eu", 5), ("put", "d", "apac", 4)],                       # update a, insert d
        [("del", "b", "us", 2), ("put", "c", "us", 6)],                         # delete b, c moves to us
        [("put", "b", "us", 7), ("put", "a", "apac", 8), ("del", "d", "apac", 4)],
        [("put", "e", "eu", 9)],
    ]
    models, m = [{}], {}
    for step in steps:
        for op, k, region, v in step:
            if op == "put":
                m[k] = {"k": k, "region": region, "v": v}
            else:
                m.pop(k)
        models.append({k: dict(r) for k, r in m.items()})

    def regions_of(model):
        out: dict = {}
        for r in model.values():
            out.setdefault(r["region"], {"region": r["region"], "total": 0, "n": 0})
            out[r["region"]]["total"] += r["v"]
            out[r["region"]]["n"] += 1
        return out

    class Schema(pw.Schema):
        k: str = pw.column_definition(primary_key=True)
        region: str
        v: int

    subject = PacedSubject(steps, ("k", "region", "v"))
    rows = pw.io.python.read(subject, schema=Schema, autocommit_duration_ms=600_000)
    regions = rows.groupby(pw.this.region).reduce(pw.this.region, total=pw.reducers.sum(pw.this.v), n=pw.reducers.count())
    totals = rows.reduce(total=pw.reducers.sum(pw.this.v))
    expected_rows = pandas_rows(pw.debug.table_to_pandas(rows), key="k")
    expected_regions = pandas_rows(pw.debug.table_to_pandas(regions), key="region")
    assert expected_rows == models[-1] and expected_regions == regions_of(models[-1])

    sv.table(rows, id="rows", key="k")
    sv.table(regions, id="regions", key="region")
    sv.stat(totals, "total", id="total")
    sv.start(port=0)
    client = client_factory()

    def pace(i: int) -> None:
        want_rows, want_regions = models[i + 1], regions_of(models[i + 1])
        client.wait_for(lambda c: c.rows("rows") == want_rows and c.rows("regions") == want_regions
                        and (c.state("total") or {}).get("value") == sum(r["v"] for r in want_rows.values()),
                        timeout=15, what=f"commit {i + 1} on the dashboard")

    took = subject.run_paced(pace, pw_run)
    assert took < 60

    wait_state("rows", expected_rows, key=lambda st: st["rows"])
    wait_state("regions", expected_regions, key=lambda st: st["rows"])
    wait_widget("total", lambda w: w["state"]["value"] == sum(r["v"] for r in expected_rows.values()))
    assert_every_state_was_a_commit_boundary(client, "rows", models)
    assert_every_state_was_a_commit_boundary(client, "regions", [regions_of(mm) for mm in models])
    # Keys that stay live from their first commit on are never deleted on the way (a, c, us).
    for wid, per_commit in (("rows", models), ("regions", [regions_of(mm) for mm in models])):
        steady = [k for k in per_commit[-1] if all(k in st for st in per_commit[next(i for i, st in enumerate(per_commit) if k in st):])]
        assert steady, wid
        assert no_delete_of(client, wid, steady) == [], f"{wid}: a row updated in place was deleted on the way"
    assert not client.errors


def test_a_commit_with_thousands_of_row_changes_is_never_shown_half_applied(client_factory, pw_run):
    """One Pathway commit inserts 6000 rows, the next updates all of them: a browser may see the
    table empty, with the first 6000, or with the updated 6000, never a mix."""
    n = 6000
    df = pd.DataFrame({
        "name": [f"r{i}" for i in range(n)] * 3,
        "v": list(range(n)) + list(range(n)) + [i + 1_000_000 for i in range(n)],
        "__time__": [2] * n + [4] * n + [4] * n,
        "__diff__": [1] * n + [-1] * n + [1] * n,
    }, index=list(range(n)) * 3)
    t = pw.debug.table_from_pandas(df)
    recorder = CommitRecorder(t)
    sv.table(t, id="big", max_rows=10)
    sv.start(port=0)
    client = client_factory()
    pw_run()
    assert len(recorder.states) == 3 and all(len(s) == n for s in recorder.states[1:])
    client.wait_for(lambda c: c.rows("big") == recorder.states[-1], timeout=30, what="the updated 6000 rows")
    assert_every_state_was_a_commit_boundary(client, "big", recorder.states)


def test_through_pathways_sink_an_update_in_place_is_one_change_and_a_deletion_brings_the_values_deleted(subscription, pw_run):
    """Every change is one Python call on Pathway's thread. Through Pathway's value-list sink the
    SDK subscribes to the table's stream of changes (table.to_stream()): an update in place comes
    as one upsert, not a retraction and an insertion, and a deletion with the values deleted. The
    dashboard is the same either way (the fidelity tests)."""
    t = pw.debug.table_from_markdown("""
      | name | v | __time__ | __diff__
    1 | a    | 1 | 2        | 1
    2 | b    | 2 | 2        | 1
    1 | a    | 1 | 4        | -1
    1 | a    | 5 | 4        | 1
    2 | b    | 2 | 6        | -1
    """)
    w = sv.table(t, id="changes")
    handed: list = []
    commit = w._commit
    w._commit = lambda c: (handed.append(c), commit(c))
    pw_run()
    got = [(sorted(v[:2] for v in inserted.values()), sorted(v[:2] for v in retracted.values()), time)
           for inserted, retracted, time in handed]
    if subscription == "value-list sink":
        assert got == [([("a", 1), ("b", 2)], [], 2), ([("a", 5)], [], 4), ([], [("b", 2)], 6)]
    else:
        assert got == [([("a", 1), ("b", 2)], [], 2), ([("a", 5)], [("a", 1)], 4), ([], [("b", 2)], 6)]


def test_a_commits_changes_of_plain_values_leave_the_garbage_collectors_view(subscription, pw_run):
    """The SDK holds each commit's changes until its thread folds them, up to seconds for a big
    table. Held as lists they would stay tracked and be promoted to the collector's old
    generation, setting off full collections over the whole heap; a commit of plain values
    (numbers, text, Pathway keys) is two dicts (by Pathway key) of the value tuples Pathway gives,
    which the collector stops tracking in its young collections: no tracked object per change."""
    n = 50
    df = pd.DataFrame({"name": [f"r{i}" for i in range(n)] * 3, "v": list(range(n)) * 2 + list(range(100, 100 + n)),
                       "__time__": [2] * n + [4] * 2 * n, "__diff__": [1] * n + [-1] * n + [1] * n},
                      index=list(range(n)) * 3)
    t = pw.debug.table_from_pandas(df)
    w = sv.table(t, id="plain", max_rows=10)
    handed: list = []
    commit = w._commit
    w._commit = lambda c: (handed.append(c), commit(c))
    pw_run()
    # A young collection stops tracking a tuple whose items are untracked, and a dict whose
    # keys and values are.
    gc.collect(0)
    gc.collect(1)
    # 50 insertions, then 50 updates: a retraction and an insertion each, or (through Pathway's
    # value-list sink, which gives the table's stream of changes) one upsert each.
    updates = (n, 0) if subscription == "value-list sink" else (n, n)
    assert [(len(inserted), len(retracted)) for inserted, retracted, _time in handed] == [(n, 0), updates]
    values = [v for inserted, retracted, _time in handed for d in (inserted, retracted) for v in d.values()]
    tracked = [v for v in values if gc.is_tracked(v)]
    assert tracked == [], f"{len(tracked)} of {len(values)} pending rows are still tracked, e.g. {tracked[0]!r}"


def test_pathway_values_of_every_kind_are_encoded_and_nan_inf_become_null(pw_run):
    base = pw.debug.table_from_markdown("""
    name | ts                  | secs
    a    | 2026-01-02T03:04:05 | 90
    """)
    t = base.select(
        name=pw.this.name,
        naive=pw.this.ts.dt.strptime("%Y-%m-%dT%H:%M:%S"),
        utc=(pw.this.ts + "+0000").dt.strptime("%Y-%m-%dT%H:%M:%S%z"),
        dur=pw.apply_with_type(lambda s: dt.timedelta(seconds=s), pw.Duration, pw.this.secs),
        js=pw.apply_with_type(lambda s: pw.Json({"a": s, "b": [1, None]}), pw.Json, pw.this.secs),
        ptr=pw.this.id,
        tup=pw.make_tuple(pw.this.name, pw.this.secs),
        none=pw.apply_with_type(lambda s: None, int | None, pw.this.secs),
        nan=pw.apply_with_type(lambda s: float("nan"), float, pw.this.secs),
        inf=pw.apply_with_type(lambda s: float("-inf"), float, pw.this.secs),
        arr=pw.apply_with_type(lambda s: np.array([s, 2]), np.ndarray, pw.this.secs),
        dec=pw.apply_with_type(lambda s: pw.wrap_py_object(decimal.Decimal("1.5")), pw.PyObjectWrapper, pw.this.secs),
    )
    key = str(pw.debug.table_to_pandas(t).index[0])
    sv.table(t, id="kinds")
    stat = sv.stat(base.select(x=pw.apply_with_type(lambda s: float("nan"), float, pw.this.secs)), "x", id="nan_stat")
    sv.start(port=0)
    pw_run()
    got = wait_widget("kinds", lambda w: key in rows_of(w))
    row = rows_of(got)[key]
    dec = row.pop("dec")
    assert row == {
        "name": "a", "naive": "2026-01-02T03:04:05", "utc": "2026-01-02T03:04:05+00:00", "dur": 90.0,
        "js": {"a": 90, "b": [1, None]}, "ptr": key, "tup": ["a", 90], "none": None, "nan": None, "inf": None,
        "arr": [90, 2],
    }
    assert dec is not None, "a Decimal (wrapped) is shown, not dropped"
    assert stat.column == "x"
    wait_widget("nan_stat", lambda w: w["state"]["ts"] is not None and w["state"]["value"] is None)
    assert get_json(http_base() + "/healthz")["rejected"] == 0
    assert sv.stats()["errors"] == []


def test_a_subscribed_table_keeps_publishing_while_other_threads_send_manually(pw_run):
    """Manual widgets and Pathway widgets share the publisher: both arrive."""
    orders = pw.debug.table_from_markdown(ORDERS_MD)
    expected = pandas_rows(pw.debug.table_to_pandas(orders))
    sv.table(orders, id="orders")
    manual = sv.stat("manual")
    sv.start(port=0)
    sender = threading.Thread(target=lambda: [manual.send(i) for i in range(1, 501)])
    sender.start()
    pw_run()
    sender.join()
    wait_state("orders", expected, key=lambda st: st["rows"])
    wait_widget("manual", lambda w: w["state"]["value"] == 500)


def test_table_with_key_column_moves_a_row_whose_key_value_changes(client_factory, pw_run):
    """key= shows rows by a column's value: when an update changes that value, the row moves to
    its new key and the old key disappears, as in Pathway's table."""
    t = pw.debug.table_from_markdown("""
      | name | v | __time__ | __diff__
    1 | a    | 1 | 2        | 1
    2 | c    | 3 | 2        | 1
    1 | a    | 1 | 4        | -1
    1 | b    | 2 | 4        | 1
    """)
    expected = pandas_rows(pw.debug.table_to_pandas(t), key="name")
    assert set(expected) == {"b", "c"}
    sv.table(t, id="renamed", key="name")
    sv.start(port=0)
    client = client_factory()
    pw_run()
    wait_state("renamed", expected, key=lambda st: st["rows"])
    client.wait_for(lambda c: c.rows("renamed") == expected, what="the renamed row over the socket")


@pytest.mark.parametrize("old, new", [(1, 2), (2, 1)])
def test_table_with_key_column_keeps_a_key_that_passes_from_one_row_to_another_in_one_commit(old, new, pw_run):
    """Row `old` with name a is retracted and row `new` with name a inserted in the same commit:
    key a stays live, whatever order Pathway delivers the two changes in."""
    t = pw.debug.table_from_markdown(f"""
          | name | v | __time__ | __diff__
    {old} | a    | 1 | 2        | 1
    {new} | a    | 2 | 4        | 1
    {old} | a    | 1 | 4        | -1
    """)
    expected = pandas_rows(pw.debug.table_to_pandas(t), key="name")
    assert expected == {"a": {"name": "a", "v": 2}}
    sv.table(t, id="handover", key="name")
    sv.start(port=0)
    pw_run()
    wait_state("handover", expected, timeout=10, key=lambda st: st["rows"])


def test_table_with_key_column_keeps_a_key_value_while_any_row_still_holds_it(client_factory, pw_run):
    """key= over a column several Pathway rows share: the entry shows one of the live rows that
    hold the value, and a row that leaves it (deleted or moved to another value) leaves the entry
    to the others; it goes with the last one. A paced ConnectorSubject: each commit travels on
    its own (the subject waits until the browser shows it)."""
    steps = [
        [("put", 1, "a", 1), ("put", 2, "a", 2), ("put", 3, "b", 3)],
        [("del", 2, "a", 2)],                           # a: row 2 leaves, row 1 still holds it
        [("put", 4, "b", 4), ("del", 3, "b", 3)],       # b passes from row 3 to row 4 in one commit
        [("put", 5, "a", 5)],                           # a held by rows 1 and 5
        [("put", 5, "c", 5)],                           # row 5 moves to c: a shows row 1 again
        [("put", 6, "c", 6), ("put", 7, "c", 7)],
        [("del", 6, "c", 6), ("put", 7, "d", 7)],       # c: rows 6 and 7 leave in one commit, row 5 holds it
        [("del", 1, "a", 1)],                           # the last row holding a: a goes
    ]
    models, m = [], {}
    for step in steps:
        for op, i, name, v in step:
            if op == "put":
                m[i] = {"id": i, "name": name, "v": v}
            else:
                m.pop(i)
        models.append({i: dict(r) for i, r in m.items()})

    def holders(model) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {}
        for r in model.values():
            out.setdefault(r["name"], []).append(r)
        return out

    def shows(rows: dict, model) -> bool:
        want = holders(model)
        return set(rows) == set(want) and all(rows[k] in want[k] for k in want)

    class Schema(pw.Schema):
        id: int = pw.column_definition(primary_key=True)
        name: str
        v: int

    subject = PacedSubject(steps, ("id", "name", "v"))
    rows = pw.io.python.read(subject, schema=Schema, autocommit_duration_ms=600_000)
    expected = pandas_rows(pw.debug.table_to_pandas(rows), key="name")
    assert expected == {"b": {"id": 4, "name": "b", "v": 4}, "c": {"id": 5, "name": "c", "v": 5},
                        "d": {"id": 7, "name": "d", "v": 7}}
    sv.table(rows, id="shared", key="name")
    sv.start(port=0)
    client = client_factory()

    def pace(i: int) -> None:
        client.wait_for(lambda c: shows(c.rows("shared") or {}, models[i]), timeout=15,
                        what=f"commit {i} on the dashboard: {holders(models[i])}")

    subject.run_paced(pace, pw_run)
    wait_state("shared", expected, key=lambda st: st["rows"])
    assert not client.errors


# ---------------------------------------------------------------- chart point identity (one point per series and x)


class ChartReference:
    """Pathway's own live rows at every commit boundary, each with the commit that last inserted or
    changed it, and the chart the documented rule makes of them (Chart's docstring): one point per
    (series, x), showing the row inserted or changed most recently there (ties within one commit:
    the greater Pathway key), none when no live row is left."""

    def __init__(self, table, x: str, ys: list[str], series: str | None = None, named: bool = False, way: Way | None = None):
        self.x, self.ys, self.series, self.named = x, ys, series, named
        self.tie = (way or Way(SDK)).tie  # which row of one commit wins a point
        self.live: dict = {}  # key -> (commit no, row)
        self.commits = 0
        self.charts: list[dict] = [self.chart()]
        self._added: dict = {}
        self._retracted: set = set()
        pw.io.subscribe(table, on_change=self._on_change, on_time_end=self._on_end, name="test_chart_reference")

    def _on_change(self, key, row, time, is_addition) -> None:
        if is_addition:
            self._added[key] = row
        else:
            self._retracted.add(key)

    def _on_end(self, time) -> None:
        self.commits += 1
        for key in self._retracted - self._added.keys():
            self.live.pop(key, None)
        for key, row in self._added.items():
            self.live[key] = (self.commits, dict(row))
        self._added, self._retracted = {}, set()
        self.charts.append(self.chart())

    def x_of(self, v):
        if isinstance(v, str):
            return v
        return float(v) if not hasattr(v, "timestamp") else pd.Timestamp(v).timestamp() * 1000.0

    def chart(self) -> dict[str, list]:
        best: dict = {}
        for key, (commit, row) in self.live.items():
            for col in self.ys:
                name = str(row[self.series]) if self.series else (col if self.named else "")
                g = (name, self.x_of(row[self.x]))
                rank = (commit, self.tie(key, row))
                if g not in best or rank > best[g][0]:
                    best[g] = (rank, plain(row[col]))
        out: dict[str, list] = {}
        for (name, x), (_rank, y) in best.items():
            out.setdefault(name, []).append((x, y))
        return {name: sorted(pts, key=lambda p: p[0]) for name, pts in out.items()}


def chart_series(state: dict | None) -> dict[str, list]:
    """A chart state as {series: [(x, y), ...] in x order}; the default series only when it has points."""
    st = state or {}
    out = {name: [(x if isinstance(x, str) else float(x), y) for x, y in pts] for name, pts in (st.get("series") or {}).items()}
    if st.get("points"):
        out[""] = [(x if isinstance(x, str) else float(x), y) for x, y in st["points"]]
    return {name: sorted(pts, key=lambda p: p[0]) for name, pts in out.items()}


def assert_chart_followed_pathway(client: DashClient, wid: str, ref: ChartReference) -> None:
    """The final chart is the rule applied to Pathway's final rows, and every series a browser held
    on the way was the rule applied to Pathway's rows at some commit boundary: never a value of a
    row that was retracted, never two points at one x. (Each series travels in its own message, so
    two series may show different commits for a moment; each one alone is always whole.)"""
    client.wait_for(lambda c: chart_series(c.state(wid)) == ref.charts[-1], what=f"{wid} as Pathway's final rows make it")
    assert chart_series(api_widget(wid)["state"]) == ref.charts[-1]
    names = {name for chart in ref.charts for name in chart}
    for per, seen in (("message", client.states_of(wid)), ("data event", client.event_states_of(wid))):
        for i, st in enumerate(seen):
            got = chart_series(st)
            assert set(got) <= names, f"after {per} {i}: series {set(got) - names} Pathway never had"
            for name in names:
                ok = [chart.get(name, []) for chart in ref.charts]
                if got.get(name, []) not in ok:
                    pytest.fail(f"after {per} {i} the client held {got.get(name)} in series {name!r} of {wid!r}, which "
                                f"no commit boundary of Pathway makes; boundaries: {ok}", pytrace=False)
    assert not client.errors


class PacedRows:
    """A streaming source of rows (k, x, y, tier) that commits one step at a time and, once the
    dashboard runs, waits after each commit until the browser shows what Pathway computed for it:
    every commit reaches the dashboard on its own, so a row's retraction arrives after the row."""

    def __init__(self, steps: list[list[tuple]]):
        self.steps = steps
        self.pace = None
        self.error: BaseException | None = None

        class Schema(pw.Schema):
            k: str = pw.column_definition(primary_key=True)
            x: int
            y: int
            tier: str

        outer = self

        class Subject(pw.io.python.ConnectorSubject):
            def __init__(self):
                super().__init__(session_type="upsert")

            def run(self):
                live: dict[str, dict] = {}
                for i, step in enumerate(outer.steps, 1):
                    for op in step:
                        if op[0] == "put":
                            _, k, x, y, *tier = op
                            live[k] = {"k": k, "x": x, "y": y, "tier": tier[0] if tier else ""}
                            self.next(**live[k])
                        else:
                            self.delete(**live.pop(op[1]))
                    self.commit()
                    if outer.pace is not None:
                        try:
                            outer.pace(i)
                        except BaseException as e:
                            outer.error = e
                            return

        self.table = pw.io.python.read(Subject(), schema=Schema, autocommit_duration_ms=600_000)

    def run(self, pw_run, client: DashClient, wid: str, ref: ChartReference) -> None:
        def pace(i: int) -> None:
            deadline = time.monotonic() + 15
            while len(ref.charts) <= i:  # Pathway has not finished commit i yet
                assert time.monotonic() < deadline, f"Pathway never finished commit {i}"
                time.sleep(0.01)
            want = ref.charts[i]
            client.wait_for(lambda c: chart_series(c.state(wid)) == want, what=f"commit {i} of {wid} on the dashboard: {want}")

        self.pace = pace
        try:
            pw_run()
        finally:
            self.pace = None
        if self.error is not None:
            raise self.error


SAME_X_CASES = {
    # The issue's case: k1 and k2 at x=1, then k2 deleted. Pathway ends with k1 alone (y=10).
    "second-row-deleted": [[("put", "k1", 1, 10)], [("put", "k2", 1, 20)], [("del", "k2")]],
    # The older row deleted while the newer shows: the point keeps the newer one's value.
    "older-row-deleted": [[("put", "k1", 1, 10)], [("put", "k2", 1, 20)], [("del", "k1")]],
    # An update of the older row makes it the newest; moving it away and deleting the rest removes
    # the point at x=1; a row moving in takes over an x.
    "update-move-and-empty": [
        [("put", "k1", 1, 10)], [("put", "k2", 1, 20)], [("put", "k1", 1, 15), ("put", "k3", 2, 5)],
        [("del", "k2")], [("put", "k1", 2, 16)], [("del", "k3"), ("put", "k4", 3, 7)], [("del", "k1")],
    ],
    # Several rows at one x inserted in one commit (the greater Pathway key wins), then retracted
    # one by one, each time falling back to the next.
    "same-commit": [
        [("put", "a", 1, 10), ("put", "b", 1, 20), ("put", "c", 1, 30)], [("del", "b")], [("del", "c")],
        [("del", "a"), ("put", "d", 1, 40)], [("del", "d")],
    ],
}


@pytest.mark.parametrize("case", list(SAME_X_CASES))
def test_chart_point_follows_the_most_recent_live_row_at_its_x_and_never_a_retracted_one(way, case, client_factory, pw_run):
    src = PacedRows(SAME_X_CASES[case])
    ref = ChartReference(src.table, "x", ["y"], way=way)
    way.chart(src.table, "y", x_column="x", id="same_x", chart_type="scatter")
    way.start()
    client = client_factory()
    src.run(pw_run, client, "same_x", ref)
    if case == "second-row-deleted":
        assert [row["y"] for _c, row in ref.live.values()] == [10], "Pathway ends with k1 alone"
        assert ref.charts[-1] == {"": [(1.0, 10)]}
    assert_chart_followed_pathway(client, "same_x", ref)


# Events (k, t, v, tier), one commit per step: late events land in windows already shown, and a
# retraction empties one.
TIER_STEPS = [
    [("put", "1", 1, 1, "gold"), ("put", "2", 3, 2, "free")],
    [("put", "3", 12, 5, "gold"), ("put", "4", 25, 1, "free")],
    [("put", "5", 2, 4, "gold")],
    [("del", "4"), ("put", "6", 14, 3, "free")],
    [("put", "7", 4, 6, "free"), ("del", "3")],
]


def test_windowby_instance_chart_has_one_series_per_instance_and_late_updates_move_points(way, client_factory, pw_run):
    src = PacedRows(TIER_STEPS)
    events = src.table.select(t=pw.this.x, v=pw.this.y, tier=pw.this.tier)
    win = events.windowby(pw.this.t, window=pw.temporal.tumbling(duration=10), instance=pw.this.tier).reduce(
        tier=pw.this._pw_instance, start=pw.this._pw_window_start, total=pw.reducers.sum(pw.this.v))
    ref = ChartReference(win, "start", ["total"], series="tier", way=way)

    w = way.chart(win, "total", x_column="start", series_column="tier", id="tiers", chart_type="bar")
    assert w is None or w.series_column == "tier"
    way.start()
    client = client_factory()
    src.run(pw_run, client, "tiers", ref)
    # gold: [0,10) 1 then the late 4 -> 5; [10,20) 5, retracted for good. free: [0,10) 2 then 6 -> 8;
    # [10,20) 3; [20,30) 1 then retracted.
    assert ref.charts[-1] == {"gold": [(0.0, 5)], "free": [(0.0, 8), (10.0, 3)]}, ref.charts[-1]
    assert_chart_followed_pathway(client, "tiers", ref)
    got = api_widget("tiers")
    assert "points" not in got["state"] or got["state"]["points"] == [], "no row lands in the unnamed series"


def test_chart_with_a_list_of_y_columns_draws_one_series_per_column_named_by_it(client_factory, pw_run):
    orders = pw.debug.table_from_markdown(ORDERS_MD)
    by_time = orders.groupby(pw.this.region).reduce(pw.this.region, n=pw.reducers.count(), total=pw.reducers.sum(pw.this.amount))
    ranked = by_time.select(pos=pw.apply_with_type(lambda r: {"eu": 1, "us": 2, "apac": 3, "latam": 4}[r], int, pw.this.region),
                            n=pw.this.n, total=pw.this.total)
    ref = ChartReference(ranked, "pos", ["n", "total"], named=True)
    df = pw.debug.table_to_pandas(ranked)
    expected = {col: sorted((float(p), plain(v)) for p, v in zip(df["pos"], df[col], strict=True)) for col in ("n", "total")}
    w = sv.chart(ranked, ["n", "total"], x_column="pos", id="both")
    assert w.y_column == ["n", "total"] and w.label is None
    sv.start(port=0)
    client = client_factory()
    pw_run()
    assert ref.charts[-1] == expected
    assert_chart_followed_pathway(client, "both", ref)


def test_a_pathway_chart_names_its_default_series_after_the_y_column(pw_run):
    t = pw.debug.table_from_markdown(WINDOW_MD)
    sv.chart(t, "v", x_column="t", id="named", title="Values")
    sv.start(port=0)
    pw_run()
    cfg = wait_widget("named", lambda w: len(w["state"]["points"]) > 0)["config"]
    assert cfg["label"] == "v" and cfg["title"] == "Values"


def test_series_column_and_several_y_columns_are_refused_together():
    t = pw.debug.table_from_markdown("""
    t | v | tier
    1 | 1 | gold
    """)
    with pytest.raises(sv.InvalidOptionError) as e:
        sv.chart(t, ["v", "t"], x_column="t", series_column="tier", id="both")
    assert e.value.option == "series_column"


def test_a_duration_x_column_is_refused_at_declaration_naming_the_column_and_its_type():
    t = pw.debug.table_from_markdown("""
    secs | v
    90   | 1
    """).select(d=pw.apply_with_type(lambda s: dt.timedelta(seconds=s), pw.Duration, pw.this.secs), v=pw.this.v)
    with pytest.raises(sv.InvalidOptionError) as e:
        sv.chart(t, "v", x_column="d", id="dur")
    assert e.value.option == "x_column" and "'d'" in str(e.value) and "Duration" in str(e.value)


# Orders (k, x unused, amount, region): revenue per region as bars, one per region, updated in place.
REGION_STEPS = [
    [("put", "o1", 0, 10, "eu"), ("put", "o2", 0, 20, "us")],
    [("put", "o3", 0, 5, "apac"), ("put", "o1", 0, 12, "eu")],
    [("put", "o2", 0, 20, "eu")],           # an order moves region: us has none left
    [("del", "o3"), ("put", "o4", 0, 7, "us")],
]


def test_a_text_x_column_makes_a_category_chart_with_one_bar_per_category_updated_in_place(way, client_factory, pw_run):
    src = PacedRows(REGION_STEPS)
    by_region = src.table.groupby(pw.this.tier).reduce(region=pw.this.tier, revenue=pw.reducers.sum(pw.this.y))
    ref = ChartReference(by_region, "region", ["revenue"], way=way)
    w = way.chart(by_region, "revenue", x_column="region", id="per_region", chart_type="bar", category=True)
    assert w is None or w.x_type == "category"
    way.start()
    client = client_factory()
    src.run(pw_run, client, "per_region", ref)
    assert ref.charts[-1] == {"": [("eu", 32), ("us", 7)]}, ref.charts[-1]
    assert_chart_followed_pathway(client, "per_region", ref)
    got = api_widget("per_region")
    assert got["config"]["x_type"] == "category" and got["config"]["label"] == ("revenue" if way.sdk else None)
    for st in client.states_of("per_region"):
        xs = [p[0] for p in st["points"]]
        assert len(xs) == len(set(xs)), f"a category had two bars at once: {st['points']}"


# (op, key, v) per commit, against a server that holds 3 rows; what it holds and refuses after each.
LIMIT_STEPS = [
    ([("put", "a", 1), ("put", "b", 1), ("put", "c", 1)], {"a": 1, "b": 1, "c": 1}, 0),
    ([("put", "a", 2), ("put", "d", 1)], {"a": 2, "b": 1, "c": 1}, 1),  # the live row's update applies, d is left out
    ([("del", "b", 1)], {"a": 2, "c": 1}, 1),
    ([("put", "d", 3)], {"a": 2, "c": 1, "d": 3}, 0),  # d changes again: there is room now
    ([("put", "e", 1), ("put", "f", 1)], {"a": 2, "c": 1, "d": 3}, 2),
]


def test_a_table_over_the_row_limit_applies_every_update_of_live_rows_and_counts_the_rest(monkeypatch, client_factory, pw_run):
    monkeypatch.setenv("STREAMVIZ_MAX_TABLE_ROWS", "3")  # the spawned server's --max-table-rows

    class Schema(pw.Schema):
        k: str = pw.column_definition(primary_key=True)
        v: int

    box: dict = {}

    class Subject(pw.io.python.ConnectorSubject):
        def __init__(self):
            super().__init__(session_type="upsert")

        def run(self):
            for i, (ops, _held, _refused) in enumerate(LIMIT_STEPS):
                for op, k, v in ops:
                    (self.next if op == "put" else self.delete)(k=k, v=v)
                self.commit()
                try:
                    box["pace"](i)
                except BaseException as e:
                    box["error"] = e
                    return

    t = pw.io.python.read(Subject(), schema=Schema, autocommit_duration_ms=600_000)
    recorder = CommitRecorder(t, key_col="k")
    sv.table(t, id="limited", key="k")
    sv.start(port=0)
    client = client_factory()

    def pace(i: int) -> None:
        _ops, held, refused = LIMIT_STEPS[i]
        want = {k: {"k": k, "v": v} for k, v in held.items()}
        client.wait_for(lambda c: c.rows("limited") == want and (c.state("limited") or {}).get("refused", 0) == refused,
                        what=f"commit {i}: rows {sorted(held)} held, {refused} refused")

    box["pace"] = pace
    with pytest.warns(RuntimeWarning, match="more than the server keeps"):
        pw_run()
    if "error" in box:
        raise box["error"]
    final = recorder.states[-1]
    assert sorted(final) == ["a", "c", "d", "e", "f"], "Pathway's table"
    got = api_widget("limited")["state"]
    assert got["refused"] == 2 and all(final[k] == row for k, row in got["rows"].items()), got
    assert sv.stats()["refused_rows"] == 2
    assert [e for e in sv.stats()["errors"] if "more than the server keeps" in e] != []
