"""pathway-viz 0.3.1 under test for the Go harness (bench/go, workloads 3 and 4).

Runs in bench/.venv-pv. It starts pathway-viz's server (`pv.WidgetServer`: the Rust WebSocket
server lives in this process, on its own threads) and publishes into it with `pv.send_json`,
the call pathway-viz's own widgets make for every row. The harness drives it with one JSON
command per line on stdin and reads one JSON reply per line on fd 1; everything else this
process prints (pathway-viz and its Rust server print to stdout) goes to stderr. EOF on stdin
stops the server and ends the process.

Commands:
  {"cmd": "config", "widgets": {"id": "stat"|"metric"|"pathway_table", ...}}
      one dashboard config message, shaped like WidgetServer's, which the server replays
  {"cmd": "sync", "n": K}
      one {"type": "sync", "n": K} message: a client that sees it is subscribed to live data
  {"cmd": "publish", "rate": R, "duration_s": D, "stats": S, "charts": C, "base_us": B}
      R messages/s for D s, round-robin over widgets s0.. (as pv.Stat sends) and c0..
      (as pv.Chart sends); "value" is the publish time in µs of the wall clock minus B,
      "timestamp" the message's number 0, 1, ...
  {"cmd": "retain", "charts": W, "points": P, "rows": T, "batch": N, "pause_ms": M}
      P points on each of W charts (as pv.Chart sends them) and T table upserts (as pv.Table
      sends them), N messages at a time with a pause between
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"pv_server: nothing listens on port {port} after {timeout:.0f}s")
            time.sleep(0.02)


def config(send, widgets: dict[str, str]) -> dict:
    # The message WidgetServer._broadcast_config sends; the Rust server keeps the last one.
    send({
        "type": "config", "title": "bench", "theme": "dark",
        "widgets": {wid: {"widget_type": kind, "title": wid, "embed": True} for wid, kind in widgets.items()},
        "layout": list(widgets), "embed_enabled": True,
    })
    return {"event": "config", "widgets": len(widgets)}


def publish(send, rate: int, duration_s: float, stats: int, charts: int, base_us: int) -> dict:
    ids = [f"s{k}" for k in range(stats)] + [f"c{k}" for k in range(charts)]
    total = int(rate * duration_s)
    last = [0] * len(ids)
    wall_us = time.time_ns
    cpu0, t0 = time.thread_time(), time.perf_counter()
    i = 0
    while i < total:
        due = min(total, int((time.perf_counter() - t0) * rate) + 1)
        while i < due:
            w = i % len(ids)
            stamp = wall_us() // 1000 - base_us
            if w < stats:
                send({"type": "data", "widget": ids[w], "value": stamp, "delta": stamp - last[w], "timestamp": i})
                last[w] = stamp
            else:
                send({"type": "data", "widget": ids[w], "value": stamp, "timestamp": i})
            i += 1
        pause = t0 + i / rate - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
    elapsed = time.perf_counter() - t0
    return {"event": "published", "sent": i, "elapsed_s": elapsed, "publisher_cpu_s": time.thread_time() - cpu0}


def retain(send, charts: int, points: int, rows: int, batch: int, pause_ms: float) -> dict:
    # pathway-viz stores what it replays in a task fed by the same bounded broadcast channel
    # as the clients; when that task falls behind it stops for good, so the load goes in
    # small batches with pauses.
    x0 = 1_790_000_000_000  # ms: points one second apart, like a real time axis
    msgs = []
    for w in range(charts):
        for i in range(points):
            msgs.append({"type": "data", "widget": f"chart{w}", "value": ((i * 7919 + w * 31) % 100000) / 100,
                         "timestamp": x0 + i * 1000})
    for i in range(rows):
        msgs.append({"type": "data", "widget": "orders", "op": "upsert", "key": f"order-{i:06d}",
                     "row": {"id": i, "region": f"region-{i % 17}", "customer": f"customer {i % 1013}",
                             "revenue": (i * 7919 % 1000000) / 100, "items": i % 23, "status": "shipped"}})
    t0 = time.perf_counter()
    for k in range(0, len(msgs), batch):
        for m in msgs[k:k + batch]:
            send(m)
        time.sleep(pause_ms / 1000)
    return {"event": "retained", "messages": len(msgs), "elapsed_s": time.perf_counter() - t0}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0, help="port for pathway-viz (it binds 0.0.0.0); 0 picks a free one")
    a = p.parse_args()
    # Replies go to the original stdout; pathway-viz's own prints (Python and Rust) to stderr.
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    import pathwayviz as pv

    port = a.port or free_port()
    server = pv.WidgetServer(port=port, title="bench")
    server.start()
    wait_listening(port, 30)
    send = pv.send_json

    def reply(obj: dict) -> None:
        proto.write(json.dumps(obj) + "\n")

    reply({"event": "ready", "http": f"127.0.0.1:{port}", "pid": os.getpid(), "version": pv.__version__})
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        name = cmd.pop("cmd")
        if name == "config":
            reply(config(send, **cmd))
        elif name == "sync":
            send({"type": "sync", "n": cmd["n"]})
            reply({"event": "sync", "n": cmd["n"]})
        elif name == "publish":
            reply(publish(send, **cmd))
        elif name == "retain":
            reply(retain(send, **cmd))
        else:
            reply({"event": "error", "error": f"unknown command {name!r}"})
    server.stop()
    proto.flush()
    # The server's runtime thread is not a daemon; nothing is left to wait for.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
