"""One key text per logical key, whichever way a row arrives (docs/protocol.md §1.3, "Key texts").

A bool key was `True` through the SDK and `true` through Pathway's own writer (sv.<widget>.rows), a
datetime `2026-01-01 00:00:00+00:00` through a Pathway table, `2026-01-01T00:00:00+00:00` through
.send() and `2026-01-01T00:00:00.000000000+0000` through the writer, a tuple Python's repr: the same
row showed up as several. Each way is sent here to a real server and read back from /api/widgets.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
from helpers import api_widget, wait_until
from ways import publish_configs

import stream_viz as sv

UTC = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
NAIVE = dt.datetime(2026, 1, 1, 12, 0, 0, 250000)

# Logical keys of each type, and the one text each must have (what Pathway's JSON writer prints).
CASES: dict[str, tuple[list, list[str]]] = {
    "bool": ([True, False], ["true", "false"]),
    "int": ([7, -3], ["7", "-3"]),
    "float": ([1.0, 1e20, 2.5], ["1.0", "1e+20", "2.5"]),
    "utc": ([UTC], ["2026-01-01T00:00:00.000000000+0000"]),
    "naive": ([NAIVE], ["2026-01-01T12:00:00.250000000"]),
    "bytes": ([b"ab\x00"], ["YWIA"]),
    "tuple": ([(1, "a")], ['[1,"a"]']),
}


def _keys(wid: str) -> set[str]:
    w = api_widget(wid) or {}
    return set((w.get("state") or {}).get("rows") or {})


def _wait_keys(wid: str, want: set[str]) -> None:
    wait_until(lambda: _keys(wid) == want, what=f"the keys of {wid} to be {sorted(want)}")


def _rows(wid: str) -> dict:
    return ((api_widget(wid) or {}).get("state") or {}).get("rows") or {}


def test_every_way_of_sending_a_key_gives_the_key_text_pathways_writer_gives():
    sv.start()
    ways = {}
    for name, (values, texts) in CASES.items():
        want = set(texts)
        # .send() then .send_many() of dict rows, to one table: one row per logical key.
        t = sv.table(f"k_{name}", key="k")
        for v in values:
            t.send({"k": v, "via": "send"})
        t.send_many([{"k": v, "via": "dicts"} for v in values])
        ways[f"k_{name}"] = want
        # pandas, and (where the type has one) Arrow and numpy columns, to the same table.
        t.send_many(pd.DataFrame({"k": pd.Series(values, dtype=object if name in ("bytes", "tuple") else None),
                                  "via": ["pandas"] * len(values)}))
        if name not in ("tuple",):
            t.send_many(pa.table({"k": pa.array(values), "via": pa.array(["arrow"] * len(values))}))
        if name in ("bool", "int", "float", "naive"):
            arr = np.array(values, dtype="datetime64[us]") if name == "naive" else np.array(values)
            t.send_many({"k": arr, "via": ["numpy"] * len(values)})
        for v in values:
            t.send({"k": v, "via": "last"})
    # NaN and None are both null, as Pathway writes them: one row.
    nulls = sv.table("k_null", key="k")
    nulls.send({"k": None, "via": "none"})
    nulls.send({"k": float("nan"), "via": "nan"})
    nulls.send_many({"k": np.array([np.nan]), "via": ["numpy"]})
    nulls.send_many([{"k": np.float64("nan"), "via": "last"}])
    ways["k_null"] = {"null"}
    # numpy scalars, one by one, are their Python values.
    scalars = sv.table("k_scalars", key="k")
    for v in (np.bool_(True), np.int64(7), np.float64(1.0), np.datetime64("2026-01-01T12:00:00.25")):
        scalars.send({"k": v, "via": "last"})
    ways["k_scalars"] = {"true", "7", "1.0", "2026-01-01T12:00:00.250000000"}
    for wid, want in ways.items():
        # Every way's rows land on the same keys, so the last .send() of each key is its one row.
        wait_until(lambda wid=wid: {r["via"] for r in _rows(wid).values()} == {"last"},
                   what=f"every row of {wid} sent last")
        assert set(_rows(wid)) == want, (wid, _rows(wid))


def test_a_pathway_table_and_pathways_own_writer_key_rows_as_the_sdk_does(pw_run):
    import pathway as pw

    sv.start()
    schemas = {"bool": bool, "int": int, "float": float, "utc": pw.DateTimeUtc, "naive": pw.DateTimeNaive,
               "bytes": bytes, "tuple": tuple[int, str]}
    configs = {}
    for name, (values, _texts) in CASES.items():
        typ = schemas[name]
        src = pw.debug.table_from_rows(pw.schema_from_types(i=int), [(i,) for i in range(len(values))])
        tbl = src.select(k=pw.apply_with_type(lambda i, values=values: values[i], typ, pw.this.i), v=pw.this.i)
        sv.table(tbl, id=f"pw_{name}", key="k")
        pw.io.nats.write(tbl, sv._D.server.nats, topic=f"sv.rows_{name}.rows", format="json")
        configs[f"rows_{name}"] = {"type": "table", "key": ["k"]}
    publish_configs(sv._D.server.nats, configs)
    pw_run()
    for name, (_values, texts) in CASES.items():
        _wait_keys(f"pw_{name}", set(texts))
        _wait_keys(f"rows_{name}", set(texts))


def test_a_pathway_charts_series_are_named_as_pathways_own_writer_names_them(pw_run):
    import pathway as pw

    sv.start()
    types = {"tuple": tuple[int, str], "utc": pw.DateTimeUtc}
    cases = {"tuple": [(1, "a"), (2, "b")], "utc": [UTC, UTC + dt.timedelta(hours=1)]}
    configs = {}
    for name, values in cases.items():
        src = pw.debug.table_from_rows(pw.schema_from_types(i=int), [(i,) for i in range(len(values))])
        tbl = src.select(s=pw.apply_with_type(lambda i, values=values: values[i], types[name], pw.this.i),
                         x=pw.this.i, y=pw.this.i * 2)
        sv.chart(tbl, "y", x_column="x", series_column="s", id=f"pw_series_{name}")
        pw.io.nats.write(tbl, sv._D.server.nats, topic=f"sv.rows_series_{name}.rows", format="json")
        configs[f"rows_series_{name}"] = {"type": "chart", "x": "x", "y": "y", "series": "s"}
    publish_configs(sv._D.server.nats, configs)
    pw_run()

    def series(wid: str) -> set[str]:
        return set(((api_widget(wid) or {}).get("state") or {}).get("series") or {})

    for name in cases:
        wait_until(lambda name=name: len(series(f"rows_series_{name}")) == 2, what=f"the writer's series of {name}")
        wait_until(lambda name=name: series(f"pw_series_{name}") == series(f"rows_series_{name}"),
                   what=f"the SDK's series of {name} named as the writer's {sorted(series(f'rows_series_{name}'))}")
