"""Workload 1: one thread calling .send() on chart widgets as fast as it can.

Prints one JSON line: updates/s accepted by the send loop, and updates/s delivered to one
WebSocket client (bench/wscount, the same client for every system), with the loss.
Runs in the venv of the system under test: --system streamviz or --system pathwayviz.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_counter(wscount: str, url: str, fmt: str, points: int) -> tuple[subprocess.Popen, float]:
    proc = subprocess.Popen([wscount, "-url", url, "-format", fmt, "-points", str(points), "-timeout", "10m"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()  # "wscount: connected"
    if "connected" not in line:
        raise SystemExit(f"wscount did not connect: {line}{proc.stderr.read()}")
    return proc, time.perf_counter()


def streamviz(args) -> dict:
    import stream_viz as sv

    charts = [sv.chart(f"c{k}", max_points=1000) for k in range(args.widgets)]
    sv.start(port=0)
    url = sv._D.http_url.replace("http://", "ws://") + "ws"
    counter, connected = start_counter(args.wscount, url, "streamviz", args.points)
    t0 = time.perf_counter()
    n, w = args.points, len(charts)
    for i in range(n):
        charts[i % w].send(i, timestamp=i)
    t1 = time.perf_counter()
    out, _ = counter.communicate()
    sv.stop()
    return finish(json.loads(out), n, t0, t1, connected)


def pathwayviz(args) -> dict:
    import pathwayviz as pv

    port = free_port()
    server = pv.WidgetServer(port=port)
    server.start()
    counter, connected = start_counter(args.wscount, f"ws://127.0.0.1:{port}/ws", "pathwayviz", args.points)
    t0 = time.perf_counter()
    n, w = args.points, args.widgets
    send = pv.send_json
    for i in range(n):
        # pathway-viz has no manual widget API; its Chart sends exactly this per point.
        send({"type": "data", "widget": f"c{i % w}", "value": i, "timestamp": i})
    t1 = time.perf_counter()
    out, _ = counter.communicate()
    server.stop()
    return finish(json.loads(out), n, t0, t1, connected)


def finish(res: dict, n: int, t0: float, t1: float, connected: float) -> dict:
    last = connected + res["last_at_ms"] / 1000.0
    delivered = res["points"]
    return {
        "workload": "ingest",
        "points": n,
        "accepted_per_s": n / (t1 - t0),
        "delivered": delivered,
        "lost": n - delivered,
        "delivered_per_s": delivered / max(last - t0, 1e-9),
        "timed_out": res.get("timed_out", False),
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--system", choices=["streamviz", "pathwayviz"], required=True)
    p.add_argument("--points", type=int, default=1_000_000)
    p.add_argument("--widgets", type=int, default=4)
    p.add_argument("--wscount", required=True)
    args = p.parse_args()
    res = streamviz(args) if args.system == "streamviz" else pathwayviz(args)
    res["system"] = args.system
    print(json.dumps(res), flush=True)


if __name__ == "__main__":
    sys.exit(main())
