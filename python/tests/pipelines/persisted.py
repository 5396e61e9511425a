"""A Pathway pipeline over a directory of CSV files, run with pw.persistence and a StreamViz data
dir (test_persistence.py runs it twice: the restart must leave the dashboard equal to Pathway's result).

    python persisted.py INPUT_DIR PERSISTENCE_DIR STREAMVIZ_DATA_DIR
"""

from __future__ import annotations

import sys
from typing import Any

import pathway as pw

SCHEMA = pw.schema_from_types(k=str, t=int, v=int)


def build(input_dir: str) -> dict[str, Any]:
    """The tables the widgets show, by widget id."""
    rows = pw.io.csv.read(input_dir, schema=SCHEMA, mode="static", name="orders")
    # A group whose sum falls to 0 or below leaves the table: a bare retraction.
    groups = rows.groupby(pw.this.k).reduce(pw.this.k, s=pw.reducers.sum(pw.this.v)).filter(pw.this.s > 0)
    total = rows.reduce(total=pw.reducers.sum(pw.this.v))
    windows = rows.windowby(pw.this.t, window=pw.temporal.tumbling(duration=10)).reduce(
        start=pw.this._pw_window_start, s=pw.reducers.sum(pw.this.v))
    return {"groups": groups, "by_k": groups, "total": total, "bars": groups, "windows": windows, "rows": rows}


def main() -> None:
    import os

    import stream_viz as sv

    if os.environ.get("PERSISTED_PUBLIC_SUBSCRIBE") == "1":
        # The SDK's fallback: pw.io.subscribe, which always skips the restored rows.
        from stream_viz import _pathway

        _pathway._raw_sink = lambda: None

    input_dir, pstore, data_dir = sys.argv[1:4]
    t = build(input_dir)
    sv.table(t["groups"], id="groups")
    sv.table(t["by_k"], id="by_k", key="k")
    sv.stat(t["total"], "total", id="total")
    sv.chart(t["bars"], "s", x_column="k", id="bars")
    sv.chart(t["windows"], "s", x_column="start", id="windows")
    sv.chart(t["rows"], "v", id="rows")  # one point per input row, at its commit's time
    sv.start(port=0, data_dir=data_dir, linger=False)
    pw.run(monitoring_level=pw.MonitoringLevel.NONE,
           persistence_config=pw.persistence.Config(pw.persistence.Backend.filesystem(pstore)))
    sv.stop()
    print("stats", sv.stats(), flush=True)


if __name__ == "__main__":
    main()
