"""Many updates in one call: chart.extend(xs, ys) and table.send_many(rows) with lists, numpy,
pandas and pyarrow, checked on a really spawned server (GET /api/widgets and a WebSocket client),
and the one-point .send() fast path keeping order with everything else a chart does."""

from __future__ import annotations

import datetime as dt
import itertools
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from helpers import api_widget, rows_of, wait_state, wait_until

import stream_viz as sv
from stream_viz._widgets import MAX_CHART_BUFFER

UTC = dt.timezone.utc
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z in ms


def points(st):
    return [[float(x), y] for x, y in (st or {}).get("points") or []]


def series(st, name):
    return [[float(x), y] for x, y in ((st or {}).get("series") or {}).get(name) or []]


# ---------------------------------------------------------------- chart.extend


def test_extend_plots_lists_numpy_pandas_and_arrow_columns_as_send_would_one_by_one(client_factory):
    kinds = {
        "lists": ([T0, T0 + 1, T0 + 2], [1, 2.5, None]),
        "numpy": (np.array([T0, T0 + 1, T0 + 2], dtype=np.int64), np.array([1, 2.5, 3], dtype=np.float32)),
        "pandas": (pd.Series(pd.to_datetime([T0, T0 + 1, T0 + 2], unit="ms", utc=True).tz_convert("Europe/Paris")),
                   pd.Series([1, 2.5, None], dtype="Float64")),
        "arrow": (pa.array([dt.datetime(2026, 1, 1, tzinfo=UTC) + dt.timedelta(milliseconds=i) for i in range(3)]),
                  pa.array([1, 2.5, None])),
        "datetimes": ([dt.datetime(2026, 1, 1) + dt.timedelta(milliseconds=i) for i in range(3)], (1, 2.5, 3)),
        "bools": (np.array([T0, T0 + 1, T0 + 2]), np.array([True, False, True])),
    }
    charts = {k: sv.chart(k, max_points=100) for k in kinds}
    sv.start(port=0)
    client = client_factory()
    for k, (xs, ys) in kinds.items():
        charts[k].extend(xs, ys)
    want = {
        "lists": [[T0, 1], [T0 + 1, 2.5], [T0 + 2, None]],
        "numpy": [[T0, 1], [T0 + 1, 2.5], [T0 + 2, 3]],
        "pandas": [[T0, 1], [T0 + 1, 2.5], [T0 + 2, None]],
        "arrow": [[T0, 1], [T0 + 1, 2.5], [T0 + 2, None]],
        "datetimes": [[T0, 1], [T0 + 1, 2.5], [T0 + 2, 3]],
        "bools": [[T0, 1], [T0 + 1, 0], [T0 + 2, 1]],
    }
    for k, pts in want.items():
        wait_state(k, pts, key=points)
    client.wait_for(lambda cl: all(points(cl.state(k)) == pts for k, pts in want.items()), 15, "every chart at the socket")


def test_extend_draws_nan_and_infinities_as_gaps_and_refuses_a_non_finite_x_naming_it():
    c = sv.chart("gaps", max_points=100)
    sv.start(port=0)
    c.extend(np.array([T0, T0 + 1, T0 + 2, T0 + 3]), np.array([np.nan, np.inf, -np.inf, 4.0]))
    wait_state("gaps", [[T0, None], [T0 + 1, None], [T0 + 2, None], [T0 + 3, 4]], key=points)
    with pytest.raises(sv.InvalidOptionError, match=r"xs\[1\]=nan"):
        c.extend(np.array([1.0, np.nan]), [1, 2])
    with pytest.raises(sv.InvalidOptionError, match=r"xs\[0\]=inf"):
        c.extend([float("inf")], [1])


def test_extend_refuses_mismatched_lengths_text_values_and_other_shapes_naming_the_problem():
    c = sv.chart("bad")
    with pytest.raises(sv.InvalidOptionError, match=r"ys='2 values' is invalid: expected as many values as xs \(3\)"):
        c.extend([1, 2, 3], [1, 2])
    with pytest.raises(sv.InvalidOptionError, match=r"ys\['b'\]"):
        c.extend([1, 2], {"a": [1, 2], "b": [1]})
    with pytest.raises(sv.NotNumericError, match=r"got 'x' \(str\) at ys\[1\]"):
        c.extend([1, 2], [1, "x"])
    with pytest.raises(sv.NotNumericError, match=r"ys\[0\]"):
        c.extend(np.array([1, 2]), np.array(["a", "b"]))
    with pytest.raises(sv.InvalidOptionError, match=r"xs\[0\]='a'.*x_type='category'"):
        c.extend(np.array(["a", "b"]), [1, 2])
    with pytest.raises(sv.InvalidOptionError, match=r"xs\[1\]=None"):
        c.extend([1, None], [1, 2])
    with pytest.raises(sv.InvalidOptionError, match=r"shape \(2, 2\).*one dimension"):
        c.extend(np.zeros((2, 2)), np.zeros((2, 2)))
    with pytest.raises(sv.InvalidOptionError, match=r"xs\[1\]=.*NaT"):
        c.extend(np.array(["2026-01-01", "NaT"], dtype="datetime64[ms]"), [1, 2])
    with pytest.raises(sv.InvalidOptionError, match="a column"):
        c.extend("abc", [1, 2, 3])
    with pytest.raises(sv.InvalidOptionError, match="mode"):
        c.extend([1], [1], mode="replace")
    with pytest.raises(sv.InvalidOptionError, match="series"):
        c.extend([1], {"a": [1]}, series="b")
    # Nothing of a refused call was kept.
    assert c._runs == {} and c._tail is None


def test_extend_with_a_dict_dataframe_or_arrow_table_draws_one_series_per_column():
    c = sv.chart("multi", max_points=100)
    sv.start(port=0)
    c.extend([T0, T0 + 1], {"cpu": [1, 2], "mem": np.array([3.0, 4.0])})
    c.extend(pd.Series([T0 + 2]), pd.DataFrame({"cpu": [5], "mem": [6]}))
    c.extend(pa.array([T0 + 3]), pa.table({"cpu": [7], "mem": [8]}))
    c.extend([T0 + 4], [9], series="disk")
    want = {"cpu": [[T0, 1], [T0 + 1, 2], [T0 + 2, 5], [T0 + 3, 7]], "mem": [[T0, 3], [T0 + 1, 4], [T0 + 2, 6], [T0 + 3, 8]],
            "disk": [[T0 + 4, 9]]}
    wait_state("multi", want, key=lambda st: {k: series(st, k) for k in want})


def test_send_extend_upsert_and_remove_apply_in_the_order_they_were_made():
    c = sv.chart("ordered", max_points=100)
    c.send(1, T0)  # before start: buffered
    c.extend([T0 + 1, T0 + 2], [2, 3])
    c.send(20, T0 + 1, mode="upsert")
    c.send(4, T0 + 3)
    c.remove(T0 + 2)
    c.send(5, T0 + 4)
    sv.start(port=0)
    wait_state("ordered", [[T0, 1], [T0 + 1, 20], [T0 + 3, 4], [T0 + 4, 5]], key=points)
    for i in range(5, 8):
        c.send(i + 1, T0 + i)
    c.extend(np.array([T0 + 8, T0 + 9]), np.array([9, 10]))
    c.send(30, T0, mode="upsert")
    c.send(11, T0 + 10)
    c.extend([T0 + 11], [12], mode="upsert")
    wait_state("ordered", [[T0, 30], [T0 + 1, 20], [T0 + 3, 4], [T0 + 4, 5], [T0 + 5, 6], [T0 + 6, 7], [T0 + 7, 8],
                           [T0 + 8, 9], [T0 + 9, 10], [T0 + 10, 11], [T0 + 11, 12]], key=points)


def test_extend_on_a_category_chart_upserts_one_bar_per_category():
    c = sv.chart("bars", x_type="category", chart_type="bar")
    sv.start(port=0)
    c.extend(["eu", "us"], [1, 2])
    c.extend(np.array(["us", "apac"]), np.array([3, 4]))
    wait_state("bars", [["eu", 1], ["us", 3], ["apac", 4]], key=lambda st: st["points"])
    with pytest.raises(sv.InvalidOptionError, match=r"xs\[0\]=1"):
        c.extend([1], [1])


def test_points_beyond_the_buffer_before_start_drop_the_oldest_counted_and_warned_once():
    c = sv.chart("buffered", max_points=100)
    extra = 1000
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        c.extend(np.arange(MAX_CHART_BUFFER - 10), np.zeros(MAX_CHART_BUFFER - 10))
        for i in range(MAX_CHART_BUFFER - 10, MAX_CHART_BUFFER + extra // 2):
            c.send(1, i)
        c.extend(np.arange(MAX_CHART_BUFFER + extra // 2, MAX_CHART_BUFFER + extra), np.ones(extra // 2))
    assert sv.stats()["dropped_points"] == extra
    assert len([w for w in caught if "buffered" in str(w.message) and "dropped" in str(w.message)]) == 1
    sv.start(port=0)
    n = MAX_CHART_BUFFER + extra
    wait_state("buffered", [[float(x), 1] for x in range(n - 100, n)], key=points)
    assert sv.stats()["dropped_points"] == extra


# ---------------------------------------------------------------- table.send_many


def test_send_many_takes_lists_dataframes_arrow_structured_arrays_and_columns(client_factory):
    t = sv.table("many", key="k")
    a = sv.table("log", max_rows=3)
    sv.start(port=0)
    client = client_factory()
    mine = [{"k": "a", "v": 1}]
    t.send_many(mine)
    mine[0]["v"] = 99  # the SDK copied the caller's dicts, as .send() does
    t.send_many(pd.DataFrame({"k": ["b", "c"], "v": [2.5, np.nan],
                              "at": pd.to_datetime(["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"])}))
    t.send_many(pa.table({"k": [4], "v": [4]}))
    t.send_many(np.array([(5, 5.5)], dtype=[("k", "i8"), ("v", "f8")]))
    t.send_many({"k": np.array(["f", "g"]), "v": [6, 7]})
    t.send_many([])
    want = {"a": {"k": "a", "v": 1}, "b": {"k": "b", "v": 2.5, "at": "2026-01-01T00:00:00+00:00"},
            "c": {"k": "c", "v": None, "at": "2026-01-02T00:00:00+00:00"}, "4": {"k": 4, "v": 4},
            "5": {"k": 5, "v": 5.5}, "f": {"k": "f", "v": 6}, "g": {"k": "g", "v": 7}}
    wait_state("many", want, key=lambda st: st["rows"])
    client.wait_for(lambda cl: cl.rows("many") == want, 15, "the rows at the socket")
    a.send_many([{"i": i} for i in range(5)])
    wait_until(lambda: sorted(r["i"] for r in rows_of(api_widget("log")).values()) == [2, 3, 4], 15,
               "the last max_rows appended rows")


def test_send_many_refuses_rows_without_the_key_and_unequal_columns_and_keeps_nothing_of_them():
    t = sv.table("strict", key="k")
    with pytest.raises(sv.UnknownColumnError, match="no column 'k'"):
        t.send_many([{"k": 1}, {"v": 2}])
    with pytest.raises(sv.InvalidOptionError, match=r"lengths \{'k': 2, 'v': 1\}.*equal length"):
        t.send_many({"k": [1, 2], "v": [1]})
    with pytest.raises(sv.InvalidOptionError, match=r"rows\[1\]=3"):
        t.send_many([{"k": 1}, 3])
    with pytest.raises(sv.InvalidOptionError, match="rows"):
        t.send_many("k")
    assert t._ops == {}


def test_points_folded_as_a_block_by_sdk_internal_producers_are_sent_like_extended_ones():
    from stream_viz._bulk import Block

    c = sv.chart("folded", max_points=100)
    # Before start no SDK thread folds: this thread may, as the Pathway sink's fold does there.
    c._fold_block("", Block(np.array([T0, T0 + 1]), np.array([1.5, np.nan])))
    c._fold_block("s", Block([T0 + 2], [3]))
    sv.start(port=0)
    wait_state("folded", ([[T0, 1.5], [T0 + 1, None]], [[T0 + 2, 3]]), key=lambda st: (points(st), series(st, "s")))


def test_extend_warns_once_when_xs_look_like_epoch_seconds_and_keeps_them_as_milliseconds():
    c = sv.chart("secs", max_points=100)
    sv.start(port=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        c.extend(np.array([1_767_323_046, 1_767_323_047]), [1, 2])
        c.extend([1_767_323_048], [3])
        c.send(4, 1_767_323_049)
    said = [str(w.message) for w in caught if "epoch seconds" in str(w.message)]
    assert len(said) == 1 and "'secs'" in said[0] and "timestamp=1767323046 " in said[0], said
    wait_state("secs", [[1_767_323_046 + i, i + 1] for i in range(4)], key=points)


@pytest.mark.parametrize("xs, ys", [
    (np.arange(5, dtype=np.int64) + T0, np.array([0.1, np.nan, 1e20, -0.0, 1 / 3])),
    (np.array([1.5, 2.25, 1e15, -3.0]), np.array([1, 2, 3, 4], dtype=np.int32)),
    (np.arange(3), np.array([1.5, np.inf, 2.5], dtype=np.float32)),
    ([T0, T0 + 1], [None, 2**40]),
])
def test_arrays_go_as_columns_carrying_exactly_the_numbers_json_would(xs, ys):
    import json
    import struct

    from stream_viz import _bulk

    block = _bulk.Block(_bulk.xs_column(xs, False), _bulk.ys_column(ys))
    [(msg, n)] = _bulk.encode_appends([block], "s", 1000, 900 * 1024)
    body = msg.encode()
    h = struct.unpack_from("<I", body, 4)[0]
    assert body[:4] == b"SVC1" and json.loads(body[8 : 8 + h]) == {"n": n, "series": "s"} and n == block.n
    vals = struct.unpack_from(f"<{2 * n}d", body, 8 + h)
    assert len(body) == 8 + h + 16 * n
    got = [[x, None if y != y or abs(y) == float("inf") else y] for x, y in zip(vals[:n], vals[n:], strict=True)]
    as_json = json.loads(b"[" + _bulk.Block(block.xs, block.ys).fragment(0, n) + b"]")
    assert got == as_json


def test_a_large_extend_goes_as_even_columnar_messages_under_the_size_limit_in_order():
    from stream_viz import _bulk

    xs = np.arange(100_000, dtype=np.int64)
    msgs = _bulk.encode_appends([(1, 1), _bulk.Block(xs, xs * 0.5), (2, None), (float("nan"), 3)], "", 20_000, 900 * 1024)
    kinds = [type(m).__name__ for m, _ in msgs]
    # .send()'s points go as columns too (a None y as NaN); a NaN x keeps JSON, which says it is bad.
    assert kinds == ["Columns", "Columns", "Columns", "bytes"], kinds
    assert [n for _, n in msgs] == [1, 50_000, 50_000, 2]
    assert all(len(m.encode()) <= 900 * 1024 for m, _ in msgs if type(m) is _bulk.Columns)
    assert msgs[2][0].xs[0] == 50_000 and msgs[2][0].ys[-1] == 99_999 * 0.5
    assert msgs[3][0] == b'{"points":[[2,null],[null,3]]}'
    # A category chart's points are never read as numbers ("1" stays a category).
    [(cat, _)] = _bulk.encode_appends([("1", 1), ("b", 2)], "", 20_000, 900 * 1024, numeric=False)
    assert cat == b'{"points":[["1",1],["b",2]]}'


def test_send_many_sends_columns_as_columnar_table_updates_holding_exactly_the_rows_send_would(client_factory):
    """A keyed table's send_many of columns goes as columnar table updates (protocol §1.8), and the
    server ends with the rows, and the socket with the events, that .send() of each row makes."""
    from stream_viz._bulk import TableColumns, table_block
    from stream_viz._bulk import rows_of as bulk_rows_of

    n = 300
    i = np.arange(n)
    kinds = {
        "frame": pd.DataFrame({"k": i % 100, "i": i, "v": np.where(i % 7 == 0, np.nan, i * 0.5), "name": "row",
                               "at": pd.to_datetime(i, unit="s", utc=True), "ok": i % 2 == 0}),
        "arrow": pa.table({"k": [f"k{j % 100}" for j in range(n)], "i": pa.array(range(n)), "v": pa.array([None, *range(1, n)])}),
        "numpy": {"k": np.arange(n) % 100, "v": np.arange(n, dtype=np.float32), "big": np.arange(n, dtype=np.uint64) + 2**63},
        "lists": [{"k": j % 100, "v": j * 0.25, "tag": ["x", j] if j % 3 else None} for j in range(n)],
        "structured": np.array([(j % 100, j * 1.5) for j in range(n)], dtype=[("k", "i8"), ("v", "f8")]),
    }
    for rows in kinds.values():
        block = table_block(rows, "k")
        assert block is not None and block.n == n
        assert all(type(p) is TableColumns for p in block.parts(900 * 1024))
    cols = {k: sv.table(f"c-{k}", key="k") for k in kinds}
    one = {k: sv.table(f"s-{k}", key="k") for k in kinds}
    sv.start(port=0)
    client = client_factory()
    for k, rows in kinds.items():
        cols[k].send_many(rows)
        for r in bulk_rows_of(rows)[0]:
            one[k].send(r)
    for k in kinds:
        want = wait_until(lambda k=k: (r := rows_of(api_widget(f"s-{k}"))) and len(r) == 100 and r, 15, f"the rows sent one by one ({k})")
        wait_state(f"c-{k}", want, key=lambda st: st["rows"])
        client.wait_for(lambda cl, k=k, want=want: cl.rows(f"c-{k}") == want, 15, f"the rows at the socket ({k})")


def test_send_many_of_columns_with_names_far_longer_than_their_values_goes_as_rows_and_arrives_whole():
    """The server refuses a columnar message whose rows would be more than 64 times its size as
    JSON (each row repeats the names): with names that long the SDK sends JSON rows instead."""
    from stream_viz._bulk import table_block

    long_name = "v" * 2000
    rows = {"k": np.arange(500), long_name: np.arange(500) % 3}
    assert table_block(rows, "k") is None
    t = sv.table("longnames", key="k")
    sv.start(port=0)
    t.send_many(rows)
    got = wait_until(lambda: (r := rows_of(api_widget("longnames"))) and len(r) == 500 and r, 15, "the 500 rows")
    assert {r[long_name] for r in got.values()} == {0, 1, 2}


def test_send_many_refuses_bad_columns_naming_them_and_loses_nothing_accepted_before():
    t = sv.table("strict2", key="k")
    sv.start(port=0)
    t.send_many({"k": [1, 2], "v": [1.5, 2.5]})
    with pytest.raises(sv.InvalidOptionError, match=r"lengths \{'k': 2, 'v': 3\}.*equal length"):
        t.send_many({"k": np.array([1, 2]), "v": np.array([1.0, 2.0, 3.0])})
    with pytest.raises(sv.UnknownColumnError, match="no column 'k'"):
        t.send_many(pd.DataFrame({"key": [1], "v": [1]}))
    with pytest.raises(sv.InvalidOptionError, match=r"'s'.*Unicode"):
        t.send_many({"k": [3], "s": ["\ud800"]})
    with pytest.raises(sv.InvalidOptionError, match=r"rows\[1\]=.*bytes encoded.*a row of at most"):
        t.send_many({"k": [5, 6, 7], "s": ["a", "x" * 1_000_000, "c"]})  # more than a message holds
    t.send_many(pd.DataFrame({"k": [3], "v": [np.inf]}))
    wait_state("strict2", {"1": {"k": 1, "v": 1.5}, "2": {"k": 2, "v": 2.5}, "3": {"k": 3, "v": None}},
               key=lambda st: st["rows"])
    assert sv.stats()["failed_publishes"] == 0


def test_send_many_of_more_than_a_message_holds_goes_as_several_in_order_under_the_limit():
    from stream_viz._bulk import table_block

    n = 40_000
    rows = {"k": np.arange(n) % 30_000, "text": [f"row {j:08d} " * 3 for j in range(n)], "v": np.arange(n) * 1.0}
    parts = table_block(rows, "k").parts(900 * 1024)
    assert len(parts) > 1
    assert parts[0].i == 0 and parts[-1].j == n
    assert all(a.j == b.i for a, b in itertools.pairwise(parts))
    assert all(len(p.encode()) <= 900 * 1024 for p in parts)
    t = sv.table("big", key="k")
    sv.start(port=0)
    t.send_many(rows)
    wait_until(lambda: (r := rows_of(api_widget("big"))) and len(r) == 30_000 and r["0"]["v"] == 30_000.0
               and r["29999"]["v"] == 29_999.0, 30, "every key's last row")


def test_send_many_sends_whole_number_keys_as_int64_and_each_distinct_text_once(client_factory):
    """Whole-number keys go as an int64 key column (protocol §1.8 key_type "i64"; the server keys
    each row by the number's decimal text, as .send() does) and a pandas text column as its
    distinct values picked per row by numpy; missing texts stay null. The rows arrive as .send()'s."""
    import struct

    from stream_viz._bulk import table_block

    keys = np.array([7, -3, 0, 2**62], dtype=np.int64)
    frame = pd.DataFrame({"k": keys, "s": ["a", "b\u00e9", "a", "a"], "m": ["x", None, "x", "y"]})
    block = table_block(frame, "k")
    assert block is not None and block.int_keys
    body = block.parts(900 * 1024)[0].encode()
    head_len = struct.unpack("<I", body[4:8])[0]
    assert b'"key_type":"i64"' in body[8 : 8 + head_len]
    assert body[8 + head_len : 8 + head_len + 32] == keys.astype("<i8").tobytes()
    t, one = sv.table("ik", key="k"), sv.table("ik1", key="k")
    sv.start(port=0)
    client = client_factory()
    t.send_many(frame)
    for r in frame.to_dict("records"):
        one.send(r)
    want = wait_until(lambda: (r := rows_of(api_widget("ik1"))) and len(r) == 4 and r, 15, "the rows sent one by one")
    assert set(want) == {"7", "-3", "0", str(2**62)} and want["-3"]["m"] is None and want["-3"]["s"] == "b\u00e9"
    wait_state("ik", want, key=lambda st: st["rows"])
    client.wait_for(lambda cl: cl.rows("ik") == want, 15, "the rows at the socket")


def test_rows_held_count_a_key_once_whether_it_went_as_text_or_as_an_int64_key(monkeypatch):
    """The SDK's count of keys beyond the server's row limit (sv.stats()["refused_rows"]) keeps
    one count per key the server holds: 3 sent as text by .send() and as an int64 key by
    send_many is one key."""
    monkeypatch.setenv("STREAMVIZ_MAX_TABLE_ROWS", "3")
    t = sv.table("held", key="k")
    sv.start(port=0)
    t.send({"k": "1", "v": 0})
    t.send({"k": "x", "v": 0})
    t.send_many({"k": np.array([1, 2]), "v": np.array([1.0, 2.0])})
    wait_until(lambda: len(rows_of(api_widget("held")) or {}) == 3, 15, "three rows")
    assert t.refused_rows == 0
    t.delete("2")
    t.send_many({"k": np.array([3, 4]), "v": np.array([3.0, 4.0])})
    wait_until(lambda: "3" in (rows_of(api_widget("held")) or {}), 15, "key 3")
    assert t.refused_rows == 1


def test_deleting_keys_that_only_look_numeric_after_int64_keys_deletes_them_and_loses_nothing():
    """After whole-number keys went as an int64 column, deleting a key whose text only looks like a
    number ("²" passes str.isdigit(), "--5" has two signs; int() refuses both) deletes that row like
    any other and the updates around it arrive: the SDK's key count must not stop on such keys."""
    t = sv.table("oddkeys", key="k")
    sv.start(port=0)
    t.send_many({"k": np.array([1, 2]), "v": np.array([1.0, 2.0])})
    for k in ("\u00b2", "--5", "-", "\u2460"):
        t.send({"k": k, "v": 0})
    wait_until(lambda: len(rows_of(api_widget("oddkeys")) or {}) == 6, 15, "six rows")
    for k in ("\u00b2", "--5", "-", "\u2460", "1"):
        t.delete(k)
    t.send_many({"k": np.array([3]), "v": np.array([3.0])})
    wait_until(lambda: set(rows_of(api_widget("oddkeys")) or {}) == {"2", "3"}, 15, "keys 2 and 3 only")
    assert sv.stats()["undelivered_updates"] == 0


def test_send_many_text_keys_and_cells_of_every_kind_arrive_as_send_makes_them(client_factory):
    """Text keys and text cells go packed (one buffer per column, numpy splitting it) when nothing
    in them needs escaping, value by value otherwise; either way each row is what .send() makes:
    quotes, backslashes, control characters, non-ASCII, empty texts."""
    from stream_viz._bulk import table_block

    texts = ["plain", "", "caf\u00e9", "q\"uote", "back\\slash", "tab\there", "\u2028", "x" * 300, "plain"]
    n = len(texts)
    kinds = {
        "packed": {"k": [f"key {i} \u00e9" for i in range(n)], "s": [t for t in texts if '"' not in t and "\\" not in t and "\t" not in t] + ["a"] * 3},
        "escaped": {"k": [f"k\"{i}" for i in range(n)], "s": texts},
        "frame": pd.DataFrame({"k": [f"f{i}" for i in range(n)], "s": pd.Series(texts, dtype="str")}),
    }
    for rows in kinds.values():
        block = table_block(rows, "k")
        assert block is not None and block.n == n
    tabs = {k: sv.table(f"p-{k}", key="k") for k in kinds}
    ones = {k: sv.table(f"o-{k}", key="k") for k in kinds}
    sv.start(port=0)
    client = client_factory()
    from stream_viz._bulk import rows_of as bulk_rows_of

    for k, rows in kinds.items():
        tabs[k].send_many(rows)
        for r in bulk_rows_of(rows)[0]:
            ones[k].send(r)
    for k in kinds:
        want = wait_until(lambda k=k: (r := rows_of(api_widget(f"o-{k}"))) and len(r) == n and r, 15, f"the rows sent one by one ({k})")
        wait_state(f"p-{k}", want, key=lambda st: st["rows"])
        client.wait_for(lambda cl, k=k, want=want: cl.rows(f"p-{k}") == want, 15, f"the rows at the socket ({k})")


def test_a_pandas_text_column_of_repeated_values_encodes_as_each_value_alone_would():
    """A DataFrame's text column whose values repeat is packed from its distinct values (pandas
    factorize, numpy gathering the bytes), not value by value; the message must be the same bytes
    as the column given as a list of the same values (which goes value by value): quotes, escapes,
    non-ASCII text, empty strings and missing values (null) included, for pandas' string dtype and
    for an object column of str and None alike."""
    from stream_viz import _bulk
    from stream_viz._bulk import table_block

    values = ["row", 'say "hi"', "tab\there", "ü→λ", "", None, "row", "x" * 40] * 40
    n = len(values)
    as_list = {"k": list(range(n)), "name": [v for v in values]}
    want = b"".join(p.encode() for p in table_block(as_list, "k").parts(900 * 1024))
    for col in (pd.Series(values, dtype="string"), pd.Series(values, dtype="str"), pd.Series(values, dtype=object)):
        df = pd.DataFrame({"k": np.arange(n), "name": col})
        block = table_block(df, "k")
        assert block is not None
        assert type(block.cols[1][2]) is _bulk._Packed, col.dtype  # packed from the distinct values
        got = b"".join(p.encode() for p in block.parts(900 * 1024))
        assert got == want, col.dtype


def _columnar_bytes(rows, key="k", max_bytes=900 * 1024):
    from stream_viz._bulk import table_block

    block = table_block(rows, key)
    assert block is not None
    return b"".join(p.encode() for p in block.parts(max_bytes)), block


def test_send_many_of_arrow_backed_text_columns_is_the_same_bytes_as_the_texts_given_as_lists():
    """pandas' "str" columns and pyarrow string columns are read from Arrow's buffers, keys and
    cells alike; every message must be the bytes the same texts make given as plain lists (value
    by value): non-ASCII text, empty texts, texts JSON escapes, missing values, distinct and
    repeated values, large_string, several chunks and a sliced table, in messages split small."""
    texts = ["plain", "", "caf\u00e9", "\u00fc\u2192\u03bb", "\U0001f600", "x" * 40, "row", "row"] * 25
    n = len(texts)
    keys = [f"key {i} \u00e9" for i in range(n)]
    escaped = [t + ('"' if i % 7 == 0 else "") for i, t in enumerate(texts)]
    missing = [None if i % 5 == 0 else t for i, t in enumerate(texts)]
    same = [f"r\u00f6{i % 10}" for i in range(n)]  # texts of one length
    for small in (900 * 1024, 700):  # one message, and many, cut at rows in the middle of each column
        want, _ = _columnar_bytes({"k": keys, "s": list(texts), "e": escaped, "m": missing, "c": same}, max_bytes=small)
        frame = pd.DataFrame({"k": pd.Series(keys, dtype="str"), "s": pd.Series(texts, dtype="str"),
                              "e": pd.Series(escaped, dtype="str"), "m": pd.Series(missing, dtype="string[pyarrow]"),
                              "c": pd.Series(same, dtype="str")})
        table = pa.table({"k": keys, "s": texts, "e": escaped, "m": missing, "c": same})
        large = pa.table({c: pa.array(v, pa.large_string())
                          for c, v in (("k", keys), ("s", texts), ("e", escaped), ("m", missing), ("c", same))})
        chunked = pa.Table.from_batches([table.slice(0, 37).to_batches()[0], table.slice(37).to_batches()[0]])
        padded = pa.table({"k": ["pad"] * 3 + keys, "s": ["pad"] * 3 + texts, "e": ["p"] * 3 + escaped, "m": ["p"] * 3 + missing,
                           "c": ["p"] * 3 + same})
        for name, rows in (("frame", frame), ("table", table), ("large", large), ("chunked", chunked), ("sliced", padded.slice(3))):
            got, block = _columnar_bytes(rows, max_bytes=small)
            assert got == want, name
            assert block.key_texts() == keys, name


def test_send_many_of_strided_numeric_columns_sends_their_values_in_order():
    """Columns that are views with gaps between their values (a frame made from a 2-D array, the
    fields of a structured array, a reversed or stepped array) go as the same bytes as contiguous
    copies of them."""
    grid = np.arange(60, dtype=np.int64).reshape(20, 3)
    cases = [
        (pd.DataFrame(grid, columns=["k", "a", "b"]), {"k": grid[:, 0].copy(), "a": grid[:, 1].copy(), "b": grid[:, 2].copy()}),
        (pd.DataFrame(grid * 0.5, columns=["k", "a", "b"]).astype({"k": np.int64}),
         {"k": (grid[:, 0] * 0.5).astype(np.int64), "a": grid[:, 1] * 0.5, "b": grid[:, 2] * 0.5}),
        ({"k": np.arange(40)[::-2], "v": np.linspace(0, 1, 40)[::2]},
         {"k": np.arange(40)[::-2].copy(), "v": np.linspace(0, 1, 40)[::2].copy()}),
    ]
    rec = np.zeros(20, dtype=[("k", "<i8"), ("v", "<f8"), ("w", ">i4")])
    rec["k"], rec["v"], rec["w"] = np.arange(20), np.arange(20) / 3, -np.arange(20)
    cases.append((rec, {"k": rec["k"].copy(), "v": rec["v"].copy(), "w": rec["w"].astype(np.int64)}))
    for rows, contiguous in cases:
        assert _columnar_bytes(rows, max_bytes=300)[0] == _columnar_bytes(contiguous, max_bytes=300)[0]


def test_rows_held_count_a_deleted_int64_key_sent_again_as_a_new_row(monkeypatch):
    """The SDK's count of the rows the server holds (sv.stats()["refused_rows"]) follows int64
    keys sent again and again, a delete, and the deleted key sent again: with a limit of 4 rows,
    keys 0-3 twice, then delete 2, then keys 2 and 4, the server holds 0, 1, 3 and 2 and refuses 4."""
    monkeypatch.setenv("STREAMVIZ_MAX_TABLE_ROWS", "4")
    t = sv.table("again", key="k")
    sv.start(port=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the limit warning is expected
        for _ in range(2):
            t.send_many({"k": np.arange(4), "v": np.arange(4.0)})
        wait_until(lambda: sv.stats()["published_updates"] == 8, 15, "the first 8 rows acknowledged")
        t.delete(2)
        wait_until(lambda: sv.stats()["published_updates"] == 9, 15, "the delete acknowledged")
        t.send_many({"k": np.array([2]), "v": np.array([2.5])})
        t.send_many({"k": np.array([4]), "v": np.array([4.5])})
        wait_until(lambda: sv.stats()["published_updates"] == 11, 15, "every update acknowledged")
        assert set(rows_of(api_widget("again")) or {}) == {"0", "1", "2", "3"}
        assert t.refused_rows == 1
