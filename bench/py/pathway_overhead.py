"""Workload 2: a Pathway pipeline's wall and CPU time without and with StreamViz attached.

Three shapes (issue 13 item 3), each fed through a ConnectorSubject in commits of --commit-every rows:

- bench:   --rows rows over --keys keys (10,000), grouped (a table of per-key sums) and
           aggregated in 100 tumbling windows (a chart);
- hot:     a 20,000-key table updated on every commit: each commit brings one row for every key,
           so every row of the grouped table changes in every commit;
- windows: 100 tumbling windows with late updates: rows land in random windows, old ones too,
           so every commit moves points that are already drawn.

Without --with-sv the results end in pw.io.null (no Python per row: the cheapest sink there is,
so the ratio is an upper bound), or with --sink in one of the floors (floor_sink, export_floor):
what Pathway's own sinks cost before the SDK does anything; with --with-sv, in sv.table / sv.chart. With --via rows instead, the SDK
only starts the server and Pathway publishes the rows itself, `pw.io.nats.write(t, url,
topic="sv.<widget>.rows", format="json")` with the same widgets' configs (docs/protocol.md §1.6):
the line then also says how long the server took, after pw.run, to store what was published
(drain_after_run_s). Prints one JSON line: wall time
of pw.run, CPU time of this process (Pathway's threads and the SDK's) during pw.run (cpu_s) and
until sv.stop() has published everything (cpu_total_s), and with StreamViz the CPU of the server
it spawned (server_cpu_s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import sys
import time
import urllib.error
import urllib.request

# The widgets' configs as the rows way declares them (the SDK's sv.table / sv.chart below).
ROWS_CONFIGS = {"groups": {"type": "table", "key": ["k"], "max_rows": 100},
                "windows": {"type": "chart", "x": "start", "y": "total", "max_points": 1000}}


def publish_configs(nats_url: str, configs: dict[str, dict]) -> None:
    import nats

    async def go() -> None:
        nc = await nats.connect(nats_url)
        try:
            for wid, cfg in configs.items():
                reply = json.loads((await nc.request(f"sv.{wid}.config", json.dumps(cfg).encode(), timeout=10)).data)
                if reply.get("stream") != "SV":
                    raise SystemExit(f"config of {wid} refused: {reply}")
        finally:
            await nc.close()

    asyncio.run(go())


def wait_stored(http_url: str, timeout: float = 600.0) -> dict:
    """/healthz's ingest counters once the server's ingest queue is empty. Read whatever the
    status: a busy server answers 503 when a JetStream check takes longer than it allows."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(http_url.rstrip("/") + "/healthz", timeout=30) as r:
                body = r.read()
        except urllib.error.HTTPError as e:
            body = e.read()
        ingest = json.loads(body).get("ingest", {})
        if ingest.get("queued", 0) == 0 or time.monotonic() > deadline:
            return ingest
        time.sleep(0.05)


def floor_sink(sink: str, table: object) -> None:
    """A sink that does nothing with what it is given, to measure what Pathway itself spends
    handing changes to Python: `subscribe` is pw.io.subscribe (a dict built per change, then the
    call), `callback` the engine's per-change callback under it (a list of values per change),
    the floor of any subscription; `store` that callback keeping each change in the commit's
    dicts of inserted and retracted rows (the SDK before it subscribed to the stream); `stream`
    the same on table.to_stream() (one change per key and commit: the path the SDK takes)."""
    import pathway as pw

    if sink == "subscribe":
        pw.io.subscribe(table, on_change=lambda key, row, time, is_addition: None)
        return
    if sink == "export":
        export_floor(table)
        return
    if sink == "stream":
        # Pathway's table.to_stream(): one change per key per commit (an update is one upsert,
        # not a retraction and an insertion), the deleted values on a deletion.
        table = table.to_stream()  # type: ignore[attr-defined]
    from pathway.internals import datasink
    from pathway.internals.table_io import table_to_datasink

    inserted: dict = {}
    retracted: dict = {}

    def keep(key: object, values: object, time: int, diff: int, ins: dict = inserted, ret: dict = retracted) -> None:
        if diff > 0:
            ins[key] = values
        else:
            ret[key] = values

    def keep_stream(key: object, values: tuple, time: int, diff: int, ins: dict = inserted, ret: dict = retracted) -> None:
        if values[-1]:
            ins[key] = values
        else:
            ret[key] = values

    def handed(time: int) -> None:
        # what the SDK's on_time_end does, less the handing over
        inserted.copy(), retracted.copy()
        inserted.clear()
        retracted.clear()

    table_to_datasink(table, datasink.CallbackDataSink(
        on_change=keep if sink == "store" else keep_stream if sink == "stream" else (lambda key, values, time, diff: None),
        on_time_end=handed, on_end=lambda: None,
        skip_persisted_batch=True, skip_errors=True, unique_name=None))


def export_floor(table: object) -> None:
    """Pathway's other sink that reaches Python, the one under its interactive mode: the engine
    keeps the table (in Rust) and hands over whole snapshots when asked. A thread asks once a
    second (and at the end) and diffs each snapshot against the last, as a table widget fed this
    way would: no Python per change, but a snapshot costs the whole table, changed or not."""
    import threading

    from pathway.internals import api, datasink
    from pathway.internals.table_io import table_to_datasink

    exported: list = []

    def poll() -> None:
        last: dict = {}
        frontier = None
        while True:
            f = min(t.frontier() for t in exported)
            if f != frontier:
                frontier = f
                snap = dict(sum((t.snapshot_at(f) for t in exported), []))
                changed = {k: v for k, v in snap.items() if last.get(k) != v}
                gone = last.keys() - snap.keys()
                last = snap
                del changed, gone
                if os.environ.get("EXPORT_DEBUG"):
                    print("snapshot", f, len(snap), file=sys.stderr)
            if f is api.DONE:
                return
            time.sleep(1.0)

    def on_export(scope: object, table: object) -> None:
        exported.append(table)
        if len(exported) == 1:
            threading.Thread(target=poll, daemon=True).start()

    table_to_datasink(table, datasink.ExportDataSink(on_export))


def thread_cpu(name: str) -> float | None:
    """CPU seconds of this process's thread of that name so far (Linux /proc), or None."""
    import threading

    t = next((t for t in threading.enumerate() if t.name == name), None)
    if t is None or t.native_id is None:
        return None
    try:
        with open(f"/proc/self/task/{t.native_id}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def run(shape: str, rows: int, keys: int, commit_every: int, with_sv: bool, no_start: bool = False,
        via: str = "sdk", sink: str = "null") -> dict:
    import pathway as pw

    if shape == "hot":
        keys = 20_000
        commit_every = keys
    rng = random.Random(7)

    class Feed(pw.io.python.ConnectorSubject):
        def run(self) -> None:
            for i in range(rows):
                if shape == "windows":
                    # Mostly the newest windows, often an older one: late updates.
                    newest = min(99, i * 100 // rows)
                    w = newest if rng.random() < 0.7 else rng.randint(0, newest)
                    self.next(k=i % keys, t=w * 1000 + i % 1000, v=float(i % 97))
                else:
                    self.next(k=i % keys, t=i, v=float(i % 97))
                if (i + 1) % commit_every == 0:
                    self.commit()

    schema = pw.schema_from_types(k=int, t=int, v=float)
    src = pw.io.python.read(Feed(), schema=schema, autocommit_duration_ms=None)
    sinks = []
    if shape in ("bench", "hot"):
        groups = src.groupby(pw.this.k).reduce(pw.this.k, n=pw.reducers.count(), total=pw.reducers.sum(pw.this.v))
        sinks.append(("table", groups))
    if shape in ("bench", "windows"):
        duration = rows // 100 if shape == "bench" else 1000
        windows = src.windowby(pw.this.t, window=pw.temporal.tumbling(duration=duration)).reduce(
            start=pw.this._pw_window_start, total=pw.reducers.sum(pw.this.v))
        sinks.append(("chart", windows))
    if with_sv and via == "rows":
        import pathway as pw
        import stream_viz as sv

        sv.start(port=0)
        names = {"table": "groups", "chart": "windows"}
        publish_configs(sv._D.server.nats, {names[k]: ROWS_CONFIGS[names[k]] for k, _t in sinks})
        for kind, table in sinks:
            pw.io.nats.write(table, sv._D.server.nats, topic=f"sv.{names[kind]}.rows", format="json")
    elif with_sv:
        import stream_viz as sv

        for kind, table in sinks:
            if kind == "table":
                sv.table(table, id="groups", key="k", max_rows=100)
            else:
                sv.chart(table, "total", x_column="start", id="windows", max_points=1000)
        if not no_start:
            sv.start(port=0)
    else:
        for _kind, table in sinks:
            if sink == "null":
                pw.io.null.write(table)
            else:
                floor_sink(sink, table)
    load_before = os.getloadavg()[0]
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    pw.run(monitoring_level=pw.MonitoringLevel.NONE)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    out = {"workload": "pathway_overhead", "shape": shape, "with_sv": with_sv, "rows": rows, "keys": keys,
           "commit_every": commit_every, "sink": "sv" if with_sv else sink, "wall_s": wall, "cpu_s": cpu, "cpu_total_s": cpu,
           "loadavg_1m": [load_before, os.getloadavg()[0]]}  # before and after pw.run: the machine is shared
    if with_sv:
        out["via"] = via
        if via == "rows":
            t1 = time.perf_counter()
            out["server_ingest"] = wait_stored(sv._D.http_url)
            out["drain_after_run_s"] = time.perf_counter() - t1
        t1 = time.perf_counter()
        # The SDK's own thread's CPU until pw.run returned (the rest of what the SDK adds runs
        # on Pathway's threads: its per-change callbacks).
        out["sdk_thread_cpu_s"] = thread_cpu("stream_viz-publisher")
        sv.stop()  # publishes what is still buffered
        out["flush_after_run_s"] = time.perf_counter() - t1
        out["published_updates"] = sv.stats()["published_updates"]
        # What the SDK still had to do when pw.run returned costs CPU too.
        out["cpu_total_s"] = time.process_time() - cpu0
        # The server was this process's child, reaped by sv.stop().
        ch = resource.getrusage(resource.RUSAGE_CHILDREN)
        out["server_cpu_s"] = ch.ru_utime + ch.ru_stime
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--shape", choices=("bench", "hot", "windows"), default="bench")
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--keys", type=int, default=10_000)
    p.add_argument("--commit-every", type=int, default=10_000)
    p.add_argument("--with-sv", action="store_true")
    p.add_argument("--no-start", action="store_true", help="declare the widgets but never start (callback cost alone)")
    p.add_argument("--via", choices=("sdk", "rows"), default="sdk",
                   help="with --with-sv: the SDK's widgets (sdk), or Pathway's pw.io.nats.write to sv.<widget>.rows (rows)")
    p.add_argument("--sink", choices=("null", "subscribe", "callback", "store", "stream", "export"), default="null",
                   help="without --with-sv: pw.io.null (the baseline), or a no-op pw.io.subscribe (subscribe) or "
                        "engine callback sink (callback), or that sink keeping each change (store), or so on table.to_stream() "
                        "as the SDK does (stream): floors; export: snapshots once a second")
    a = p.parse_args()
    print(json.dumps(run(a.shape, a.rows, a.keys, a.commit_every, a.with_sv, a.no_start, a.via, a.sink)), flush=True)


if __name__ == "__main__":
    main()
