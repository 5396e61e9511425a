"""Workload 2: a Pathway pipeline's wall time without and with StreamViz attached.

1,000,000 input rows arrive through a ConnectorSubject in commits of --commit-every rows; the
pipeline groups them over --keys keys and aggregates tumbling windows. With --with-sv the group
table goes to sv.table and the windows to sv.chart. Prints one JSON line per run.
"""

from __future__ import annotations

import argparse
import json
import time


def run(rows: int, keys: int, commit_every: int, with_sv: bool, no_start: bool = False) -> dict:
    import pathway as pw

    class Feed(pw.io.python.ConnectorSubject):
        def run(self) -> None:
            for i in range(rows):
                self.next(k=i % keys, t=i, v=float(i % 97))
                if (i + 1) % commit_every == 0:
                    self.commit()

    schema = pw.schema_from_types(k=int, t=int, v=float)
    src = pw.io.python.read(Feed(), schema=schema, autocommit_duration_ms=None)
    groups = src.groupby(pw.this.k).reduce(pw.this.k, n=pw.reducers.count(), total=pw.reducers.sum(pw.this.v))
    windows = src.windowby(pw.this.t, window=pw.temporal.tumbling(duration=rows // 100)).reduce(
        start=pw.this._pw_window_start, total=pw.reducers.sum(pw.this.v))
    if with_sv:
        import stream_viz as sv

        sv.table(groups, id="groups", key="k", max_rows=100)
        sv.chart(windows, "total", x_column="start", id="windows", max_points=1000)
        if not no_start:
            sv.start(port=0)
    else:
        # Without StreamViz the results still need a sink, or Pathway computes nothing: the
        # cheapest there is (pw.io.null, no Python per row), so the ratio is an upper bound.
        pw.io.null.write(groups)
        pw.io.null.write(windows)
    t0 = time.perf_counter()
    pw.run(monitoring_level=pw.MonitoringLevel.NONE)
    wall = time.perf_counter() - t0
    out = {"workload": "pathway_overhead", "with_sv": with_sv, "rows": rows, "keys": keys, "wall_s": wall}
    if with_sv:
        t1 = time.perf_counter()
        sv.stop()  # publishes what is still buffered
        out["flush_after_run_s"] = time.perf_counter() - t1
        out["published_updates"] = sv.stats()["published_updates"]
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--keys", type=int, default=10_000)
    p.add_argument("--commit-every", type=int, default=10_000)
    p.add_argument("--with-sv", action="store_true")
    p.add_argument("--no-start", action="store_true", help="declare the widgets but never start (callback cost alone)")
    a = p.parse_args()
    print(json.dumps(run(a.rows, a.keys, a.commit_every, a.with_sv, a.no_start)), flush=True)


if __name__ == "__main__":
    main()
