"""Issue 11 goal 4: what the Python SDK delivers from one producer thread, every update counted.

Phases (each on a fresh server that sv.start() spawns, default settings):
  send      --points over --charts charts with chart.send(v, timestamp=i), round robin
  extend    --extend-points over the charts with chart.extend(xs, ys): numpy int64 ms and random
            float64 values, --chunk points per call, at most --window points unacknowledged (else a
            chart's 200,000-point buffer drops the oldest). The SDK sends them as columnar updates
            (docs/protocol.md §1.7), as it does .send()'s points; "columnar_points" counts the
            points the socket got in columnar events
  send_many --rows rows (keys cycling over --keys) into one table with table.send_many(DataFrame),
            counted sent, on the wire (bench/wscount -rows) and in the final state

Chart points are counted at a WebSocket client (bench/wscount, connected before the first update)
and in the server's state (/api/widgets: every chart keeps max_points=100000, so it holds them all
when points <= 100000 x charts); table rows by the final state of every key. Prints one JSON line
per phase; "lost" is sent minus counted. Rates are to the moment the last update arrived.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import urllib.request

import stream_viz as sv


def server_cpu() -> float:
    """CPU seconds the server sv.start() spawned has used (user + system, from /proc)."""
    server = sv._D.server
    if server is None:
        return 0.0
    with open(f"/proc/{server.proc.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_fields(n: int, py0: float, srv0: float) -> dict[str, float]:
    """What the phase cost in CPU: the SDK runs Python in two threads under one GIL, so n / its
    CPU seconds bounds the rate one process reaches, whatever else runs on the machine."""
    py, srv = time.process_time() - py0, server_cpu() - srv0
    return {"python_cpu_s": py, "server_cpu_s": srv, "python_cpu_us_per_update": py / n * 1e6,
            "server_cpu_us_per_update": srv / n * 1e6}


def get(url: str) -> object:
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.load(r)


def counter(wscount: str, points: int, text_frames: bool = False) -> tuple[subprocess.Popen[str], float]:
    url = (sv._D.http_url or "").replace("http://", "ws://") + "ws"
    # Binary frames (docs/protocol.md §2.4) as the page asks for them, unless --text-frames.
    proc = subprocess.Popen([wscount, "-url", url, "-points", str(points), "-timeout", "10m",
                             f"-binary={'false' if text_frames else 'true'}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    if "connected" not in line:
        raise SystemExit(f"wscount did not connect: {line}{proc.stderr.read()}")
    return proc, time.perf_counter()


def stored_points(charts: int) -> int:
    base = sv._D.http_url or ""
    n = 0
    for k in range(charts):
        st = get(f"{base}api/widgets/c{k}")["state"] or {}  # type: ignore[index]
        n += len(st.get("points") or [])
    return n


def chart_phase(args: argparse.Namespace, kind: str) -> dict[str, object]:
    charts = [sv.chart(f"c{k}", max_points=100_000) for k in range(args.charts)]
    sv.start(port=0)
    n = args.points if kind == "send" else args.extend_points
    proc, connected = counter(args.wscount, n, args.text_frames)
    py0, srv0 = time.process_time(), server_cpu()
    if kind == "send":
        w = len(charts)
        t0 = time.perf_counter()
        for i in range(n):
            charts[i % w].send(i, timestamp=i)
        t1 = time.perf_counter()
    else:
        import numpy as np

        rng = np.random.default_rng(1)
        chunks = []
        for start in range(0, n, args.chunk):
            m = min(args.chunk, n - start)
            chunks.append((np.arange(start, start + m, dtype=np.int64) + 1_767_225_600_000, rng.random(m)))
        # A producer faster than the bus would have its oldest points dropped (counted) once a
        # chart holds 200,000 unsent; this one keeps at most --window points unacknowledged, so
        # the rate is what the SDK and the server sustain.
        t0 = time.perf_counter()
        sent = 0
        for j, (xs, ys) in enumerate(chunks):
            charts[j % len(charts)].extend(xs, ys)
            sent += len(xs)
            while sent - sv.stats()["published_updates"] > args.window:
                time.sleep(0.001)
        t1 = time.perf_counter()
    deadline = time.monotonic() + 600
    while sv.stats()["published_updates"] < n and time.monotonic() < deadline:
        time.sleep(0.002)
    t2 = time.perf_counter()  # every update acknowledged: stored by the server
    # The socket client's CPU: it is the only child reaped here (the server still runs).
    ch0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out, _ = proc.communicate()
    ch1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = cpu_fields(n, py0, srv0)
    cpu["client_cpu_us_per_update"] = (ch1.ru_utime + ch1.ru_stime - ch0.ru_utime - ch0.ru_stime) / n * 1e6
    res = json.loads(out)
    last = connected + res["last_at_ms"] / 1000.0
    stored = stored_points(args.charts)
    stats = sv.stats()
    sv.stop()
    sv._reset()
    return {"workload": "sdk", "phase": kind, "charts": args.charts, "updates": n,
            "chunk": args.chunk if kind == "extend" else 1, "window": args.window if kind == "extend" else None,
            "accepted_per_s": n / (t1 - t0), "delivered_socket": res["points"], "stored": stored,
            "lost": n - res["points"], "columnar_points": res.get("cols_points"),
            "delivered_per_s": res["points"] / max(last - t0, 1e-9),
            "acked": stats["published_updates"], "acked_per_s": n / (t2 - t0),
            "timed_out": res.get("timed_out", False), "socket_error": res.get("read_error"),
            "socket_resumes": res.get("resumes"), "binary_frames": res.get("binary_messages"),
            "socket_bytes": res.get("bytes"), "messages": stats["published_messages"],
            "dropped_points": stats["dropped_points"], "undelivered": stats["undelivered_updates"], **cpu}


def table_phase(args: argparse.Namespace) -> dict[str, object]:
    """--rows rows in DataFrames of --chunk-rows, keys cycling over --keys (whole numbers), into one
    keyed table. Rows are counted three ways: sent (send_many), on the wire (the table ops a
    WebSocket client connected before the first update gets in data events) and in the final state
    (every key's last row, from /api/widgets). The SDK never merges rows of a send_many (each block
    goes as its rows), so sent and on the wire are equal unless something was lost."""
    import numpy as np
    import pandas as pd

    t = sv.table("rows", key="k", max_rows=100)
    sv.start(port=0)
    base = sv._D.http_url or ""
    frames = []
    for start in range(0, args.rows, args.chunk_rows):
        i = np.arange(start, min(start + args.chunk_rows, args.rows))
        k = i % args.keys
        if args.text_keys:  # keys and a text column of mostly distinct values, as texts
            frames.append(pd.DataFrame({"k": [f"user-{j}" for j in k], "i": i, "v": i * 0.5, "name": [f"n{j}" for j in i]}))
        else:
            frames.append(pd.DataFrame({"k": k, "i": i, "v": i * 0.5, "name": "row"}))
    url = base.replace("http://", "ws://") + "ws"
    proc = subprocess.Popen([args.wscount, "-url", url, "-rows", str(args.rows), "-timeout", "10m"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    if "connected" not in line:
        raise SystemExit(f"wscount did not connect: {line}{proc.stderr.read()}")
    connected = time.perf_counter()
    py0, srv0 = time.process_time(), server_cpu()
    t0 = time.perf_counter()
    for f in frames:
        t.send_many(f)
    t1 = time.perf_counter()
    deadline = time.monotonic() + 600
    while sv.stats()["published_updates"] < args.rows and time.monotonic() < deadline:
        time.sleep(0.002)
    t2 = time.perf_counter()  # every row acknowledged: stored by the server
    py = time.process_time() - py0  # the SDK's work ends here; what follows is the bench's counting
    ch0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out, _ = proc.communicate()
    ch1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    srv = server_cpu() - srv0  # before the state is read below
    res = json.loads(out)
    last = connected + res["last_at_ms"] / 1000.0
    prefix = "user-" if args.text_keys else ""
    want = {f"{prefix}{i % args.keys}": i for i in range(max(0, args.rows - args.keys), args.rows)}  # each key's last row
    rows = (get(f"{base}api/widgets/rows")["state"] or {}).get("rows") or {}  # type: ignore[index]
    ok = len(rows) == len(want) and all(rows.get(k, {}).get("i") == i for k, i in want.items())
    stats = sv.stats()
    sv.stop()
    sv._reset()
    n = args.rows
    return {"workload": "sdk", "phase": "send_many", "rows": n, "keys": args.keys, "text_keys": args.text_keys, "chunk": args.chunk_rows,
            "rows_sent": n, "rows_on_wire": res["rows"], "rows_in_state": len(rows), "final_state_correct": ok,
            "lost": n - res["rows"], "accepted_per_s": n / (t1 - t0), "acked_per_s": n / (t2 - t0),
            "delivered_per_s": res["rows"] / max(last - t0, 1e-9), "timed_out": res.get("timed_out", False),
            "socket_error": res.get("read_error"), "socket_resumes": res.get("resumes"), "socket_bytes": res.get("bytes"),
            "messages": stats["published_messages"], "published_updates": stats["published_updates"],
            "undelivered": stats["undelivered_updates"],
            "python_cpu_s": py, "server_cpu_s": srv, "python_cpu_us_per_update": py / n * 1e6,
            "server_cpu_us_per_update": srv / n * 1e6,
            "client_cpu_us_per_update": (ch1.ru_utime + ch1.ru_stime - ch0.ru_utime - ch0.ru_stime) / n * 1e6}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--wscount", required=True)
    p.add_argument("--phases", default="send,extend,send_many")
    p.add_argument("--charts", type=int, default=10)
    p.add_argument("--points", type=int, default=1_000_000, help="send phase: .send() calls")
    p.add_argument("--extend-points", type=int, default=10_000_000)
    p.add_argument("--chunk", type=int, default=100_000, help="points per extend() call")
    p.add_argument("--window", type=int, default=500_000, help="extend: points at most unacknowledged before the next call")
    p.add_argument("--text-frames", action="store_true", help="the socket takes text frames only (cols in base64), as before binary frames")
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--chunk-rows", type=int, default=10_000)
    p.add_argument("--keys", type=int, default=10_000)
    p.add_argument("--text-keys", action="store_true", help="send_many: text keys (user-N) and a text column of distinct values")
    args = p.parse_args()
    os.environ.setdefault("STREAMVIZ_LINGER", "0")
    for phase in args.phases.split(","):
        res = table_phase(args) if phase == "send_many" else chart_phase(args, phase)
        res["load_avg"] = os.getloadavg()[0]
        print(json.dumps(res), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
