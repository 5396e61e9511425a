"""Pathway pipeline shapes the fidelity tests (test_pathway.py) do not cover, each found to differ
from Pathway's own result once: the dashboard's final state must be what Pathway computed.

As there, the expected result comes from Pathway itself (pw.debug.table_to_pandas, run before the
widgets subscribe) and the dashboard is read from a really spawned server (GET /api/widgets).
"""

from __future__ import annotations

import hashlib

import pandas as pd
import pathway as pw
import pytest
from helpers import get_json, http_base, pandas_rows, wait_until, wait_widget
from ways import NATS, SDK, Way

import stream_viz as sv


def _long_key(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:32]


@pytest.mark.parametrize(("way", "n"), [(Way(SDK), 3), (Way(SDK), 100), (Way(NATS), 3)],
                         ids=["sdk a few rows (JSON ops)", "sdk many rows (columnar)", "pw.io.nats.write"])
def test_a_key_value_empty_or_longer_than_a_key_may_be_is_shown_and_costs_no_other_row(way, n, pw_run):
    """A key column may hold "" or a text past the 256 bytes a key may have (a groupby on a column
    of free text). Those values' texts were sent as keys, the server refused the message, and the
    whole commit, every other row with it, never showed. Each such value is keyed by the hash of
    its text instead (as a row keyed by its content is, docs/protocol.md §1.6); the server keys
Pathway's own rows (sv.<widget>.rows) the same way, where such rows were refused."""
    names = ["", "L" * 300] + [f"k{i}" for i in range(n - 2)]
    t = pw.debug.table_from_pandas(pd.DataFrame({"name": names, "v": list(range(n))}))
    df = pw.debug.table_to_pandas(t)
    expected = {(k if 1 <= len(k) <= 256 else _long_key(k)): r for k, r in pandas_rows(df, key="name").items()}
    assert len(expected) == n
    way.table(t, id="named", key="name")
    way.start()
    pw_run()
    wait_widget("named", lambda w: w["state"]["rows"] == expected)
    assert sv.stats()["refused_publishes"] == 0, sv.stats()["errors"]
    assert get_json(http_base() + "/healthz")["rejected"] == 0


@pytest.mark.parametrize("n", [3, 100], ids=["a few rows (JSON ops)", "many rows (columnar)"])
def test_a_row_too_large_for_the_bus_is_refused_alone_and_the_tables_later_rows_still_arrive(n, pw_run):
    """A cell of 2 MB (a document, a blob) makes its row's message larger than the bus takes. The
    SDK retried that publish for ever: the table's later messages, other rows of the commit and
    every later commit, waited behind it and never showed, with no word but failed_publishes, and
    sv.stop() gave them up. Such a message is refused like an update the server refuses
    (UpdateRefusedWarning, refused_publishes) and the table's other rows go on."""
    rows = [("H" * 2_000_000 if i == n // 2 else "small", i, 2) for i in range(n)] + [("later", n + i, 4) for i in range(n)]
    df = pd.DataFrame({"s": [r[0] for r in rows], "i": [r[1] for r in rows], "__time__": [r[2] for r in rows]})
    t = pw.debug.table_from_pandas(df)
    expected = {k: r for k, r in pandas_rows(pw.debug.table_to_pandas(t), key="i").items() if r["i"] != n // 2}
    sv.table(t, id="docs", key="i")
    sv.start(port=0)
    with pytest.warns(sv.UpdateRefusedWarning, match="docs"):
        pw_run()
        wait_widget("docs", lambda w: w["state"]["rows"] == expected)
        # The big row's message may be the last one of the widget: its refusal comes after the rest.
        wait_until(lambda: sv.stats()["refused_publishes"] == 1, what="the refusal of the big row")
    stats = sv.stats()
    assert stats["refused_publishes"] == 1 and stats["pending_messages"] == 0, stats


def test_a_table_of_no_columns_shows_one_empty_row_per_pathway_row(pw_run):
    """t.select() (a table of its ids only) raised TypeError from operator.itemgetter when declared."""
    t = pw.debug.table_from_markdown("""
      | v | __time__ | __diff__
    1 | 1 | 2        | 1
    2 | 2 | 2        | 1
    1 | 1 | 4        | -1
    """).select()
    expected = pandas_rows(pw.debug.table_to_pandas(t))
    assert list(expected.values()) == [{}]
    sv.table(t, id="ids")
    sv.start(port=0)
    pw_run()
    wait_widget("ids", lambda w: w["state"]["rows"] == expected and w["state"].get("as_of") == 4)


@pytest.mark.parametrize(("kind", "option"), [("stat", "column"), ("chart y", "column"), ("chart x", "x_column")])
def test_a_json_column_refused_as_numbers_says_how_to_convert_it(kind, option):
    """A field of a JSON message (pw.this.data["price"]) is a Json column; refused as numbers with
    only "holds Json", the user had to find .as_float() alone."""
    t = pw.debug.table_from_markdown("""
    raw
    5
    """).select(data=pw.apply_with_type(lambda r: pw.Json({"price": r}), pw.Json, pw.this.raw))
    t = t.select(price=pw.this.data["price"], v=pw.this.data["price"].as_float())
    declare = {"stat": lambda: sv.stat(t, "price", id="w"), "chart y": lambda: sv.chart(t, "price", id="w"),
               "chart x": lambda: sv.chart(t, "v", x_column="price", id="w")}[kind]
    with pytest.raises(sv.InvalidOptionError) as e:
        declare()
    assert e.value.option == option and "pw.this.price.as_float()" in str(e.value), str(e.value)


ERRORS_MD = """
  | k | v | __time__ | __diff__
1 | a | 1 | 2        | 1
2 | b | 0 | 2        | 1
3 | c | 2 | 2        | 1
1 | a | 1 | 4        | -1
1 | a | 0 | 4        | 1
2 | b | 0 | 6        | -1
2 | b | 5 | 6        | 1
3 | c | 2 | 8        | -1
3 | c | 0 | 8        | 1
3 | c | 0 | 10       | -1
"""


def test_a_row_whose_value_becomes_an_error_leaves_the_dashboard_as_it_leaves_pathways_subscribers():
    """pw.run(terminate_on_error=False): a row whose value fails (10 // 0) becomes an error row,
    which Pathway hands its subscribers as the retraction of the row before it and nothing else.
    Through the table's stream of changes the SDK got the error row as one upsert, which the sink
    skipped: the row it replaced stayed on the dashboard for good, a value Pathway had retracted.
    An error row is now a deletion there too, and one that turns back into a value comes back."""
    t = pw.debug.table_from_markdown(ERRORS_MD)
    r = t.select(pw.this.k, inv=pw.apply_with_type(lambda v: 10 // v, int, pw.this.v))
    live: dict = {}
    pw.io.subscribe(r, on_change=lambda key, row, time, is_addition: live.__setitem__(row["k"], dict(row)) if is_addition
                    else live.pop(row["k"], None), name="pathways_view")
    sv.table(r, id="inv", key="k")
    sv.table(r, id="inv_rows")
    sv.chart(r, "inv", x_column="k", id="inv_bars", chart_type="bar")
    sv.start(port=0)
    with pytest.warns(UserWarning, match="experimental"):
        pw.run(monitoring_level=pw.MonitoringLevel.NONE, terminate_on_error=False)
    assert live == {"b": {"k": "b", "inv": 2}}, "a and c became errors, b turned from an error into 2"
    wait_widget("inv", lambda w: w["state"]["rows"] == live)
    wait_widget("inv_rows", lambda w: list(w["state"]["rows"].values()) == [live["b"]])
    wait_widget("inv_bars", lambda w: w["state"]["points"] == [["b", 2]])


@pytest.mark.parametrize("way", [Way(SDK), Way(NATS)], ids=["sdk", "pw.io.nats.write"])
def test_results_pathway_holds_until_the_input_ends_are_shown(way):
    """Exactly-once windows are output when they close; those still open when the input ends come
    in a last commit at the end of time (2**64 - 2), no time of the data. That time went out as the
    as_of of every message holding it, which the server refuses (more than 24 hours ahead): in a
    static run every window was lost, the widgets empty. They are shown as of the commit before.
    Pathway's own NATS output writes that time too, which the server refused as no whole number."""
    t = pw.debug.table_from_markdown("""
      | t  | v | __time__
    1 | 1  | 1 | 2
    2 | 12 | 2 | 4
    3 | 25 | 3 | 6
    """)
    w = t.windowby(pw.this.t, window=pw.temporal.tumbling(duration=10),
                   behavior=pw.temporal.exactly_once_behavior()).reduce(start=pw.this._pw_window_start, s=pw.reducers.sum(pw.this.v))
    total = w.reduce(s=pw.reducers.sum(pw.this.s))
    expected = pandas_rows(pw.debug.table_to_pandas(w))
    assert sorted((r["start"], r["s"]) for r in expected.values()) == [(0, 1), (10, 2), (20, 3)]
    way.chart(w, "s", x_column="start", id="windows")
    way.table(w, id="window_rows", key="start")
    way.value("stat", total, "s", id="total")
    way.chart(total, "s", id="total_over_time")
    way.start()
    pw.run(monitoring_level=pw.MonitoringLevel.NONE)
    wait_widget("windows", lambda x: x["state"]["points"] == [[0, 1], [10, 2], [20, 3]])
    wait_widget("window_rows", lambda x: x["state"]["rows"] == {str(r["start"]): r for r in expected.values()})
    wait_widget("total", lambda x: x["state"]["value"] == 6)
    got = wait_widget("total_over_time", lambda x: [p[1] for p in x["state"]["points"]][-1:] == [6])
    assert all(x < 2**32 for x, _y in got["state"]["points"]), got["state"]["points"]
    assert sv.stats()["refused_publishes"] == 0, sv.stats()["errors"]
