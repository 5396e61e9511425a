"""A stopped, paused or unreachable server never stalls pw.run(); the server dies with its parent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.error
import warnings

import pathway as pw
import pytest
from helpers import REPO, alive, get_json, pandas_rows, wait_state, wait_until, wait_widget

import stream_viz as sv

COMMITS = 300


class Schema(pw.Schema):
    k: str = pw.column_definition(primary_key=True)
    v: int


class Burst(pw.io.python.ConnectorSubject):
    """COMMITS commits, each upserting one of 50 keys: hundreds of on_time_end calls."""

    def __init__(self):
        super().__init__(session_type="upsert")

    def run(self):
        for i in range(COMMITS):
            self.next(k=f"k{i % 50}", v=i)
            self.commit()


def burst_pipeline():
    rows = pw.io.python.read(Burst(), schema=Schema, autocommit_duration_ms=10)
    total = rows.reduce(total=pw.reducers.sum(pw.this.v))
    return rows, total


def declare(rows, total):
    sv.table(rows, id="rows", key="k")
    sv.stat(total, "total", id="total")
    sv.chart(total, "total", id="total_over_time", max_points=1000)


def test_pw_run_finishes_promptly_when_the_server_was_killed_and_stats_report_it(pw_run):
    rows, total = burst_pipeline()
    declare(rows, total)
    sv.start(port=0)
    wait_widget("rows", lambda w: w["config"]["type"] == "table")  # connected and publishing
    proc = sv._D.server.proc
    proc.kill()
    proc.wait()
    wait_until(lambda: not sv.stats()["connected"], 10, "the publisher to notice the server is gone")

    took = pw_run()
    assert took < 10, f"pw.run() took {took:.1f}s with the server gone"
    # The server this process spawned cannot come back: what it could not take is counted, not kept.
    st = wait_until(lambda: (s := sv.stats())["undelivered_updates"] > 0 and s["pending_messages"] == 0 and s,
                    15, "the updates after the kill to be counted undelivered")
    assert st["connected"] is False
    assert any("killed by SIGKILL" in e for e in st["errors"]), st
    t0 = time.monotonic()
    sv.stop()
    assert time.monotonic() - t0 < 10, "sv.stop() does not hang on a dead server"


def test_paused_server_does_not_stall_pw_run_and_the_final_state_arrives_once_it_resumes(pw_run):
    rows, total = burst_pipeline()
    expected_rows = pandas_rows(pw.debug.table_to_pandas(rows), key="k")
    expected_total = sum(r["v"] for r in expected_rows.values())
    declare(rows, total)
    sv.start(port=0)
    wait_widget("total", lambda w: w["config"]["type"] == "stat")
    proc = sv._D.server.proc
    os.kill(proc.pid, signal.SIGSTOP)  # accepts nothing, acknowledges nothing
    try:
        took = pw_run()
        pending = sv.stats()["pending_messages"]
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    assert took < 10, f"pw.run() took {took:.1f}s with the server paused"
    assert pending > 0
    wait_state("rows", expected_rows, timeout=30, key=lambda st: st["rows"])
    wait_widget("total", lambda w: w["state"]["value"] == expected_total, timeout=30)
    wait_until(lambda: sv.stats()["pending_messages"] == 0, 30, "the publisher to catch up")
    points = get_json(sv._D.http_url + "api/widgets/total_over_time")["state"]["points"]
    assert points and points[-1][1] == expected_total
    xs = [p[0] for p in points]
    assert xs == sorted(xs) and len(set(xs)) == len(xs), "retried messages are not applied twice"


def test_chart_points_buffered_while_the_bus_is_away_are_bounded_counted_and_warned_once(streamviz_bin):
    from stream_viz._widgets import MAX_CHART_BUFFER

    # A bus this process joined (it may come back), not one it spawned: points wait for it.
    serve = subprocess.Popen([streamviz_bin, "serve", "--addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        ready = json.loads(serve.stdout.readline())
        c = sv.chart("bounded")
        sv.start(url=ready["nats"])
        wait_widget("bounded", lambda w: w["config"]["type"] == "chart", base=ready["url"].rstrip("/"))
    finally:
        serve.kill()
        serve.wait()
    wait_until(lambda: not sv.stats()["connected"], 10, "the publisher to notice the bus is gone")
    extra = 100_000
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i in range(MAX_CHART_BUFFER + extra):
            c.send(i, i)
    st = sv.stats()
    # At most one batch is taken towards the dead bus; the rest waits in a buffer of MAX_CHART_BUFFER.
    assert 0 < st["dropped_points"] <= extra, st
    assert st["undelivered_updates"] == 0, "a joined bus may come back: nothing is given up yet"
    drops = [w for w in caught if "bounded" in str(w.message)]
    assert len(drops) == 1 and "dropped" in str(drops[0].message), "warned once, naming the chart"
    assert any("bounded" in e for e in st["errors"])
    sv.stop(timeout=1)


# ---------------------------------------------------------------- processes


def run_script(tmp_path, body: str, *args: str, **kw) -> subprocess.Popen:
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(body))
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, str(script), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=str(tmp_path), **kw)


CHILD = """
    import json, sys
    import stream_viz as sv
    s = sv.stat("x")
    sv.start(port=0)
    s.send(1)
    print(json.dumps({"pid": sv._D.server.proc.pid, "http": sv._D.http_url}), flush=True)
    if sys.argv[1] == "wait":
        sys.stdin.read()   # until the test kills this process
"""


@pytest.mark.parametrize("how", ["sigkill", "sigterm", "exit"])
def test_the_server_dies_with_its_parent(tmp_path, how):
    child = run_script(tmp_path, CHILD, "wait" if how != "exit" else "exit")
    try:
        line = child.stdout.readline()
        assert line, f"the child printed nothing; stderr:\n{child.stderr.read()}"
        info = json.loads(line)
        pid = info["pid"]
        assert alive(pid)
        if how != "exit":
            assert get_json(info["http"] + "healthz")["status"] == "ok"
            child.send_signal(signal.SIGKILL if how == "sigkill" else signal.SIGTERM)
        child.wait(15)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    wait_until(lambda: not alive(pid), 10, f"server {pid} to exit after its parent ({how})")
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        get_json(info["http"] + "healthz", timeout=2)


def test_a_process_whose_server_died_still_runs_its_pipeline_and_exits_cleanly(tmp_path):
    """What a user sees: pw.run() completes, sv.stop() returns, exit status 0, no tracebacks or
    asyncio errors on stderr."""
    child = run_script(tmp_path, """
        import json, time
        import pathway as pw
        import stream_viz as sv

        class Schema(pw.Schema):
            k: str = pw.column_definition(primary_key=True)
            v: int

        class Burst(pw.io.python.ConnectorSubject):
            def __init__(self):
                super().__init__(session_type="upsert")
            def run(self):
                for i in range(200):
                    self.next(k=f"k{i % 20}", v=i)
                    self.commit()

        rows = pw.io.python.read(Burst(), schema=Schema, autocommit_duration_ms=10)
        sv.table(rows, id="rows", key="k")
        sv.stat(rows.reduce(n=pw.reducers.count()), "n", id="n")
        sv.start(port=0)
        sv._D.server.proc.kill()
        sv._D.server.proc.wait()
        t0 = time.monotonic()
        pw.run(monitoring_level=pw.MonitoringLevel.NONE)
        ran = time.monotonic() - t0
        t0 = time.monotonic()
        sv.stop()
        print(json.dumps({"run": ran, "stop": time.monotonic() - t0}), flush=True)
    """)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    times = json.loads(out.strip().splitlines()[-1])
    assert times["run"] < 10 and times["stop"] < 10, times
    noise = [ln for ln in err.splitlines() if "Traceback" in ln or "Task was destroyed" in ln or ":ERROR:" in ln]
    assert not noise, "stderr after a clean run and stop:\n" + "\n".join(noise[:10])


def test_sdk_repo_checkout_is_the_one_under_test():
    # Guards against testing a stale installed copy instead of the checkout.
    assert os.path.realpath(sv.__file__).startswith(os.path.join(REPO, "python", "src"))
