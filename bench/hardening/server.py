"""Issue 10's attacks against `streamviz serve` at its defaults, measured after the fixes
(docs/reliability.md, "Hardening"). Each case starts a fresh server and prints one JSON line.

    make build
    .venv/bin/python bench/hardening/server.py bin/streamviz [case ...] > bench/hardening/results/server.jsonl

Cases: lock (finding 2), damaged (3), login (12), slowlogin (8), widgets (6), tables (6 and 7),
idle (8), websockets (8), natsconns (8).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import nats

BIN = sys.argv[1]


def status(pid: int, field: str) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field):
            return int(line.split()[1]) // 1024
    return -1


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class Server:
    def __init__(self, *args: str) -> None:
        self.p = subprocess.Popen([BIN, "serve", "--addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0", *args],
                                  stdout=subprocess.PIPE, stderr=tempfile.TemporaryFile())
        assert self.p.stdout
        self.ready = json.loads(self.p.stdout.readline())
        self.http = self.ready["http"]
        self.host, port = self.http.rsplit(":", 1)
        self.port = int(port)

    def rss(self) -> int:
        return status(self.p.pid, "VmRSS")

    def get(self, path: str) -> tuple[int, bytes, float]:
        t0 = time.perf_counter()
        try:
            with urllib.request.urlopen(f"http://{self.http}{path}", timeout=30) as r:
                return r.status, r.read(), (time.perf_counter() - t0) * 1000
        except urllib.error.HTTPError as e:
            return e.code, e.read(), (time.perf_counter() - t0) * 1000

    def metrics(self) -> dict[str, float]:
        out = {}
        for line in self.get("/metrics")[1].decode().splitlines():
            if line.startswith("streamviz_") and " " in line:
                k, v = line.rsplit(" ", 1)
                out[k] = float(v)
        return out

    def stop(self) -> float:
        t0 = time.perf_counter()
        self.p.terminate()
        self.p.wait(60)
        return time.perf_counter() - t0


def raw_ws(host: str, port: int, src: str = "127.0.0.1") -> socket.socket:
    s = socket.socket()
    s.bind((src, 0))
    s.connect((host, port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    return s


async def case_widgets() -> dict:
    """Finding 6: 200,000 distinct widget ids, then 40 WebSockets that never read."""
    srv = Server()
    out: dict = {"rss_start_mib": srv.rss()}
    nc = await nats.connect(srv.ready["nats"])
    js = nc.jetstream()
    t0 = time.perf_counter()
    futs = []
    for i in range(200_000):
        futs.append(js.publish(f"sv.w{i}.data", b'{"value": 1}'))
        if len(futs) >= 500:
            await asyncio.gather(*futs, return_exceptions=True)
            futs = []
    await asyncio.gather(*futs, return_exceptions=True)
    out["publish_s"] = round(time.perf_counter() - t0, 1)
    h = json.loads(srv.get("/healthz")[1])
    out.update(widgets=h["widgets"], rejected=h["rejected"], rss_after_publish_mib=srv.rss())
    socks = []
    for _ in range(40):
        s = raw_ws(srv.host, srv.port)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        socks.append(s)
    peak = 0
    for _ in range(30):
        await asyncio.sleep(0.5)
        peak = max(peak, srv.rss())
    code, _, ms = srv.get("/healthz")
    out.update(non_reading_sockets=40, rss_peak_15s_mib=peak, healthz=code, healthz_ms=round(ms, 1))
    for s in socks:
        s.close()
    await nc.close()
    out["shutdown_s"] = round(srv.stop(), 2)
    return out


async def case_tables() -> dict:
    """Finding 7 at the state limits: 5 tables offered 70 rows of 1 MB each; then (finding 6)
    40 WebSockets that never read, each to be given the snapshot of all that state."""
    srv = Server()
    out: dict = {"rss_start_mib": srv.rss()}
    nc = await nats.connect(srv.ready["nats"])
    js = nc.jetstream()
    row = "x" * 1_000_000
    for t in range(5):
        for k in range(70):
            await js.publish(f"sv.t{t}.data", json.dumps({"key": f"k{k}", "row": {"v": row}}).encode(), timeout=30)
    m = srv.metrics()
    out.update(rows_offered=350, state_bytes=int(m["streamviz_state_bytes"]),
               refused_widget_bytes=int(m['streamviz_updates_rejected_total{reason="widget byte limit reached"}']),
               refused_state_bytes=int(m['streamviz_updates_rejected_total{reason="state byte limit reached"}']),
               rss_after_publish_mib=srv.rss())
    socks = []
    for _ in range(40):
        s = raw_ws(srv.host, srv.port)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        socks.append(s)
    peak = 0
    for _ in range(30):
        await asyncio.sleep(0.5)
        peak = max(peak, srv.rss())
    code, _, ms = srv.get("/healthz")
    refused = int(srv.metrics().get("streamviz_ws_refused_total", -1))
    out.update(non_reading_sockets=40, rss_peak_15s_mib=peak, ws_refused=refused, healthz=code, healthz_ms=round(ms, 1))
    for s in socks:
        s.close()
    await nc.close()
    out["shutdown_s"] = round(srv.stop(), 2)
    return out


def spread(n: int, addrs: int) -> list[str]:
    return [f"127.0.0.{2 + i % addrs}" for i in range(n)]


async def case_idle() -> dict:
    """Finding 8: 19,000 keep-alive connections from 20 loopback addresses, one GET /healthz
    each, then idle (the client's own descriptors stop at 20,000 here)."""
    srv = Server()
    nc = await nats.connect(srv.ready["nats"])
    js = nc.jetstream()
    conns = []
    refused = 0
    for src in spread(19_000, 20):
        s = socket.socket()
        s.bind((src, 0))
        try:
            s.connect((srv.host, srv.port))
            s.sendall(f"GET /healthz HTTP/1.1\r\nHost: {srv.http}\r\n\r\n".encode())
        except OSError:
            refused += 1
            s.close()
            continue
        conns.append(s)
    code, _, ms = srv.get("/healthz")  # right after the flood of connections
    # Then once the server has taken them all (evictions stop growing).
    last = -1
    while (ev := srv.metrics().get("streamviz_http_connections_evicted_total", 0)) != last:
        last = ev
        await asyncio.sleep(1)
    code2, _, ms2 = srv.get("/healthz")
    t0 = time.perf_counter()
    await js.publish("sv.after.data", b'{"value": 1}', timeout=10)
    ack_ms = (time.perf_counter() - t0) * 1000
    m = srv.metrics()
    out = {"opened": len(conns), "connect_failed": refused, "server_fds": fds(srv.p.pid),
           "evicted": int(m.get("streamviz_http_connections_evicted_total", -1)),
           "refused_total": int(m.get('streamviz_http_connections_refused_total{limit="total"}', -1)),
           "refused_per_address": int(m.get('streamviz_http_connections_refused_total{limit="per_address"}', -1)),
           "healthz_right_after": code, "healthz_right_after_ms": round(ms, 1),
           "healthz_settled": code2, "healthz_settled_ms": round(ms2, 1), "acked_publish_ms": round(ack_ms, 1), "rss_mib": srv.rss()}
    for s in conns:
        s.close()
    await nc.close()
    srv.stop()
    return out


async def case_websockets() -> dict:
    """Finding 8: 19,000 WebSocket handshakes from 20 loopback addresses, kept open."""
    srv = Server()
    socks, answers = [], {}
    for src in spread(19_000, 20):
        try:
            s = raw_ws(srv.host, srv.port, src)
        except OSError:
            answers["connect failed"] = answers.get("connect failed", 0) + 1
            continue
        socks.append(s)
    for s in socks:
        s.settimeout(30)
        try:
            line = s.recv(64).split(b"\r\n", 1)[0].decode(errors="replace")
            code = line.split(" ")[1] if line.startswith("HTTP/") else "closed"
        except OSError:
            code = "error"
        answers[code] = answers.get(code, 0) + 1
    code, _, ms = srv.get("/healthz")
    m = srv.metrics()
    out = {"handshakes": len(socks), "answers": answers, "server_fds": fds(srv.p.pid),
           "ws_refused": int(m.get("streamviz_ws_refused_total", -1)), "open_sockets": int(m.get("streamviz_ws_clients", -1)),
           "healthz": code, "healthz_ms": round(ms, 1), "rss_mib": srv.rss()}
    for s in socks:
        s.close()
    srv.stop()
    return out


def case_login() -> dict:
    """Finding 12: 3,000 wrong POST /login from one address, as fast as they go."""
    srv = Server("--token", "a-token-of-32-characters-0123456")
    codes: dict[int, int] = {}
    t0 = time.perf_counter()
    for i in range(3000):
        req = urllib.request.Request(f"http://{srv.http}/login", data=f"token=guess{i}".encode(), method="POST")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                c = r.status
        except urllib.error.HTTPError as e:
            c = e.code
        codes[c] = codes.get(c, 0) + 1
    took = time.perf_counter() - t0
    srv.stop()
    return {"attempts": 3000, "seconds": round(took, 2), "answers": codes}


def case_natsconns() -> dict:
    """Finding 8, the bus's side: 8,000 raw NATS client connections to the embedded server."""
    srv = Server()
    host, port = srv.ready["nats"].removeprefix("nats://").rsplit(":", 1)
    socks, answers = [], {}
    for _ in range(8000):
        s = socket.create_connection((host, int(port)))
        s.settimeout(30)
        socks.append(s)
        try:
            s.recv(4096)  # INFO
            s.sendall(b'CONNECT {"verbose":false}\r\nPING\r\n')
            line = s.recv(4096).split(b"\r\n")[0].decode(errors="replace")
        except OSError as e:
            line = type(e).__name__
        key = "PONG" if line.startswith("PONG") else line[:60] or "closed"
        answers[key] = answers.get(key, 0) + 1
    code, _, ms = srv.get("/healthz")
    out = {"attempts": 8000, "answers": answers, "server_fds": fds(srv.p.pid), "healthz": code, "healthz_ms": round(ms, 1)}
    for s in socks:
        s.close()
    srv.stop()
    return out


def case_slowlogin() -> dict:
    """Finding 8: a POST /login whose body stops after `token=`."""
    srv = Server("--token", "a-token-of-32-characters-0123456")
    s = socket.create_connection((srv.host, srv.port))
    s.sendall(f"POST /login HTTP/1.1\r\nHost: {srv.http}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
              "Content-Length: 1000\r\n\r\ntoken=".encode())
    t0 = time.perf_counter()
    s.settimeout(120)
    answer = b""
    try:
        while chunk := s.recv(4096):
            answer += chunk
    except OSError as e:
        answer += str(e).encode()
    took = time.perf_counter() - t0
    s.close()
    srv.stop()
    return {"held_s": round(took, 2), "answer": answer.split(b"\r\n", 1)[0].decode(errors="replace")}


def case_lock() -> dict:
    """Finding 2: a second server on a data dir in use."""
    d = tempfile.mkdtemp()
    srv = Server("--data-dir", d)
    t0 = time.perf_counter()
    p = subprocess.run([BIN, "serve", "--addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0", "--data-dir", d],
                       capture_output=True, text=True, timeout=60)
    took = time.perf_counter() - t0
    srv.stop()
    shutil.rmtree(d)
    return {"second_exit": p.returncode, "second_ms": round(took * 1000), "stderr": p.stderr.strip().splitlines()[-1]}


async def case_damaged() -> dict:
    """Finding 3: SV's meta.inf truncated to half after 1,000 acknowledged updates."""
    d = tempfile.mkdtemp()
    srv = Server("--data-dir", d)
    nc = await nats.connect(srv.ready["nats"])
    js = nc.jetstream()
    for i in range(1000):
        await js.publish(f"sv.r{i % 50}.data", json.dumps({"value": i}).encode())
    await nc.close()
    srv.stop()
    meta = os.path.join(d, "jetstream", "$G", "streams", "SV", "meta.inf")
    b = open(meta, "rb").read()
    open(meta, "wb").write(b[: len(b) // 2])
    t0 = time.perf_counter()
    p = subprocess.run([BIN, "serve", "--addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0", "--data-dir", d],
                       capture_output=True, text=True, timeout=60)
    took = time.perf_counter() - t0
    snap = os.path.join(d, "jetstream", "$G", "streams", "SV_SNAP")
    kept = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(snap) for f in fs)
    shutil.rmtree(d)
    return {"exit": p.returncode, "ms": round(took * 1000), "sv_snap_bytes_kept": kept,
            "error": p.stderr.strip().splitlines()[-1][:300]}


CASES = {"natsconns": case_natsconns, "slowlogin": case_slowlogin, "lock": case_lock, "damaged": case_damaged, "login": case_login, "widgets": case_widgets,
         "tables": case_tables, "idle": case_idle, "websockets": case_websockets}


def main() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    for name in sys.argv[2:] or list(CASES):
        f = CASES[name]
        r = f()
        if asyncio.iscoroutine(r):
            r = asyncio.run(r)
        print(json.dumps({"case": name, "load": os.getloadavg()[0], **r}), flush=True)


if __name__ == "__main__":
    main()
