"""`pathway spawn --processes 2 --threads 2` (issue 13 item 1): one dashboard server for the whole
run, on the requested port, one URL printed, a dashboard equal to Pathway's result; and a start that
fails in any process ends the whole spawn promptly with a clear error, leaving nothing running.

Everything is real: the `pathway spawn` command, its processes, the server they start.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading

import pathway as pw
import pytest
from helpers import alive, child_servers, get_json, pandas_rows, wait_until

DEADLINE = 120  # generous: two Pathway processes start on a loaded 2-core machine

# Upserts, an update and a deletion spread over Pathway times, grouped: what the dashboard must equal.
PIPELINE = """
import pathway as pw

events = pw.debug.table_from_markdown('''
    region | amount | __time__ | __diff__
    eu     | 10     | 2        | 1
    us     | 5      | 2        | 1
    apac   | 7      | 4        | 1
    eu     | 3      | 4        | 1
    us     | 5      | 6        | -1
    us     | 8      | 6        | 1
    latam  | 1      | 8        | 1
    latam  | 1      | 10       | -1
    eu     | 4      | 10       | 1
''' + "".join(f"    r{i % 9} | {i} | {12 + 2 * (i % 5)} | 1\\n" for i in range(60)))
by_region = events.groupby(pw.this.region).reduce(pw.this.region, revenue=pw.reducers.sum(pw.this.amount),
                                                   orders=pw.reducers.count())
totals = events.reduce(revenue=pw.reducers.sum(pw.this.amount))
"""

SCRIPT = """
import json, os, sys, time
import pathway as pw
import stream_viz as sv
{pipeline}
sv.table(by_region, id="regions", key="region")
sv.stat(totals, "revenue", id="revenue")
{start}
pw.run(monitoring_level=pw.MonitoringLevel.NONE)
me = os.environ["PATHWAY_PROCESS_ID"]
server = sv._D.server.proc.pid if sv._D.server else None
# One write(2) of the whole line: the processes share the spawn's stdout, and print() writes the
# text and its newline apart, so two reports could interleave into one line.
os.write(1, (json.dumps({{"process": me, "pid": os.getpid(), "server": server, "url": sv._D.http_url}}) + "\\n").encode())
# Keep the dashboard up until the test has read it (bounded: never outlive the test).
deadline = time.monotonic() + {deadline}
while not os.path.exists(sys.argv[1]) and time.monotonic() < deadline:
    time.sleep(0.05)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Spawn:
    """`pathway spawn` of a script, its output collected line by line."""

    def __init__(self, tmp_path, start: str, processes: int = 2, threads: int = 2):
        self.release = tmp_path / "release"
        script = tmp_path / "script.py"
        script.write_text(SCRIPT.format(pipeline=PIPELINE, start=start, deadline=DEADLINE))
        env = dict(os.environ, PYTHONUNBUFFERED="1", STREAMVIZ_LINGER="0")
        pathway = os.path.join(os.path.dirname(sys.executable), "pathway")
        self.proc = subprocess.Popen([pathway, "spawn", "--processes", str(processes), "--threads", str(threads),
                                      sys.executable, str(script), str(self.release)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=env, cwd=str(tmp_path), start_new_session=True)
        self.out: list[str] = []
        self.err: list[str] = []
        self.lock = threading.Lock()
        for pipe, sink in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=self._read, args=(pipe, sink), daemon=True).start()

    def _read(self, pipe, sink) -> None:
        for line in pipe:
            with self.lock:
                sink.append(line)

    def reports(self) -> list[dict]:
        with self.lock:
            return [json.loads(ln) for ln in self.out if ln.startswith("{")]

    def stderr(self) -> str:
        with self.lock:
            return "".join(self.err)

    def failed(self) -> str:
        """Waits for the spawn to end by itself, checks that it failed with no process past
        pw.run(), and returns its stderr."""
        try:
            wait_until(lambda: self.proc.poll() is not None, DEADLINE, "the spawn to exit")
        finally:
            self.close()
        assert self.proc.returncode != 0
        assert not self.reports(), "no process went on to pw.run()"
        return self.stderr()

    def close(self) -> None:
        self.release.write_text("")
        try:
            self.proc.wait(DEADLINE)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def servers_of(pids: list[int]) -> list[int]:
    """Live streamviz processes whose parent is one of pids."""
    return [server for pid in pids for server in child_servers(pid)]


def expected() -> tuple[dict, int]:
    scope: dict = {}
    exec(textwrap.dedent(PIPELINE), scope)
    rows = pandas_rows(pw.debug.table_to_pandas(scope["by_region"]), key="region")
    total = pw.debug.table_to_pandas(scope["totals"])["revenue"].tolist()
    pw.internals.parse_graph.G.clear()
    return rows, total[0]


def test_two_processes_of_two_threads_share_one_server_on_the_requested_port_and_it_shows_pathways_result(tmp_path):
    want_rows, want_total = expected()
    port = free_port()
    spawn = Spawn(tmp_path, f"sv.start(port={port})")
    try:
        reports = wait_until(lambda: len(r := spawn.reports()) == 2 and r, DEADLINE,
                             "both processes past pw.run()")
        by_process = {r["process"]: r for r in reports}
        assert by_process["0"]["server"] is not None and by_process["1"]["server"] is None, reports
        assert by_process["0"]["url"] == f"http://127.0.0.1:{port}/" and by_process["1"]["url"] is None
        assert servers_of([r["pid"] for r in reports]) == [by_process["0"]["server"]], "exactly one server"
        urls = [ln for ln in spawn.stderr().splitlines() if "StreamViz dashboard:" in ln]
        assert urls == [f"StreamViz dashboard: http://127.0.0.1:{port}/"], spawn.stderr()
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: get_json(f"{base}/api/widgets/regions")["state"]["rows"] == want_rows, DEADLINE,
                   f"the table to equal Pathway's {want_rows}")
        wait_until(lambda: get_json(f"{base}/api/widgets/revenue")["state"]["value"] == want_total, DEADLINE,
                   f"the stat to equal Pathway's {want_total}")
        server = by_process["0"]["server"]
    finally:
        spawn.close()
    assert spawn.proc.returncode == 0, spawn.stderr()
    wait_until(lambda: not alive(server), DEADLINE, "the server to stop with the run")


def test_a_start_that_fails_in_process_0_ends_the_whole_spawn_with_a_clear_error(tmp_path):
    with socket.socket() as busy:
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        err = Spawn(tmp_path, f"sv.start(port={port})").failed()
    assert f"port {port} on 127.0.0.1 is in use" in err, err
    assert "process 0 of this pathway spawn could not start the dashboard" in err, err
    assert not [ln for ln in err.splitlines() if ln.count("did not start") > 1], "each error says it once"


def test_a_start_that_fails_in_process_1_ends_the_whole_spawn_and_stops_process_0s_server(tmp_path):
    port = free_port()
    start = (f"sv.start(port={port}, **({{'nats_auth': '/nonexistent/auth.json'}} "
             "if os.environ['PATHWAY_PROCESS_ID'] == '1' else {}))")
    err = Spawn(tmp_path, start).failed()
    assert "nats_auth='/nonexistent/auth.json' is invalid" in err, err
    assert "process 1 of this pathway spawn could not start its dashboard" in err, err
    with socket.socket() as s:  # process 0's server is gone: its port is free again
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        wait_until(lambda: s.bind(("127.0.0.1", port)) is None, DEADLINE, f"port {port} to be free")


@pytest.fixture(autouse=True)
def _no_pathway_graph():
    yield
    pw.internals.parse_graph.G.clear()
