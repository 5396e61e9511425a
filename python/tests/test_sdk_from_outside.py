"""The SDK used from outside as scripts do: forks after sv.start(), many threads on one widget,
sv.start() twice, sv.stop() then sv.start() in one process, and a script that ends without
sv.stop(). Real server, real processes; every check polls for its condition."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading

import pytest
from helpers import REPO, DashClient, api_widget, get_json, wait_until

import stream_viz as sv

SRC = os.path.join(REPO, "python", "src")

# A script that forks after sv.start(), checks from the parent that every point of both
# processes arrived exactly once, and prints what it found. The parent spawns the server, so a
# child that took it for its own (and at its exit for dead) would show here too.
FORKING = textwrap.dedent('''
    import json, multiprocessing, os, sys, time, urllib.request, warnings
    import stream_viz as sv

    how = sys.argv[1]
    c = sv.chart("forked", max_points=10000)
    sv.start(linger=False)
    c.send(0, 0)

    def child():
        for i in range(1, 101):
            c.send(i, i)

    if how == "os.fork":
        pid = os.fork()
        if pid == 0:
            child()
            sys.exit(0)  # atexit: the child's updates go out before it ends
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
    else:
        p = multiprocessing.get_context("fork").Process(target=child)
        p.start()
        p.join()
        code = p.exitcode
    for i in range(101, 106):
        c.send(i, i)
    # Each process's points in its order; the two processes' interleave as they reach the bus.
    want = [[i, i] for i in range(106)]
    got = None
    end = time.monotonic() + 60
    while time.monotonic() < end and (got is None or sorted(got) != want):
        try:
            with urllib.request.urlopen(sv._D.http_url + "api/widgets/forked", timeout=5) as r:
                got = json.load(r)["state"]["points"]
        except OSError:
            pass
        time.sleep(0.05)
    ok = got is not None and sorted(got) == want and [p for p in got if 1 <= p[0] <= 100] == want[1:101]
    print(json.dumps({"child_exit": code, "points": ok, "got": None if ok else got,
                      "stats": sv.stats()}), flush=True)
    sv.stop()
''')


@pytest.mark.parametrize("how", ["os.fork", "multiprocessing"])
def test_a_process_forked_after_start_delivers_its_own_updates_once_and_leaves_the_parents_server_running(tmp_path, how):
    script = tmp_path / "forking.py"
    script.write_text(FORKING)
    env = dict(os.environ, PYTHONPATH=SRC, STREAMVIZ_LINGER="0")
    r = subprocess.run([sys.executable, str(script), how], capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["child_exit"] == 0 and out["points"], (out, r.stderr[-3000:])
    assert out["stats"]["errors"] == [] and out["stats"]["undelivered_updates"] == 0, out
    assert "stopped while in use" not in r.stderr and "Traceback" not in r.stderr, r.stderr[-3000:]


def test_eight_threads_sending_to_one_widget_deliver_every_update_once_each_in_its_threads_order():
    chart = sv.chart("threads", max_points=100_000)
    table = sv.table("thread_rows", key="k")
    sv.start()
    client = DashClient()
    n = 2000

    def run(th: int) -> None:
        for i in range(n):
            chart.send(th * 1_000_000 + i, i)
            table.send({"k": f"t{th}", "i": i})

    threads = [threading.Thread(target=run, args=(th,)) for th in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wait_until(lambda: len(api_widget("threads")["state"]["points"]) == 8 * n, what="every point")
    ys = [p[1] for p in api_widget("threads")["state"]["points"]]
    assert len(set(ys)) == 8 * n
    for th in range(8):
        assert [y for y in ys if th * 1_000_000 <= y < (th + 1) * 1_000_000] == [th * 1_000_000 + i for i in range(n)], th
    wait_until(lambda: {k: r["i"] for k, r in api_widget("thread_rows")["state"]["rows"].items()}
               == {f"t{th}": n - 1 for th in range(8)}, what="each thread's last row")
    # A browser saw each thread's rows only move forward.
    client.wait_for(lambda c: len(c.rows("thread_rows")) == 8 and all(r["i"] == n - 1 for r in c.rows("thread_rows").values()),
                    what="each thread's last row")
    seen: dict[str, int] = {}
    for st in client.event_states_of("thread_rows"):
        for k, r in ((st or {}).get("rows") or {}).items():
            assert r["i"] >= seen.get(k, -1), (k, r)
            seen[k] = r["i"]
    client.close()


def test_start_twice_raises_and_stop_then_start_delivers_to_the_new_server():
    chart = sv.chart("restarted", max_points=1000)
    sv.start()
    with pytest.raises(sv.StreamVizError, match="already started"):
        sv.start()
    chart.send(1, 1)
    wait_until(lambda: api_widget("restarted")["state"]["points"] == [[1, 1]], what="the first point")
    sv.stop()
    sv.start()
    chart.send(2, 2)
    # The new server got the widget's config again (max_points) and the point sent after.
    wait_until(lambda: api_widget("restarted")["state"]["points"] == [[2, 2]], what="the point after the restart")
    assert api_widget("restarted")["config"]["max_points"] == 1000


# Ends without sv.stop(). numpy is imported on another thread (as the SDK's thread does on its first
# columnar message) while this one calls send_many(), which looks for numpy arrays: numpy is in
# sys.modules from the start of its import, half made. The import is held at its first submodule
# until this thread is about to call send_many(), so the call meets numpy half made (the hold ends
# on its own: a fixed SDK waits in send_many() for the import to finish).
ENDING = textwrap.dedent('''
    import sys, threading, time
    import stream_viz as sv

    about_to_send = threading.Event()

    class HoldNumpy:
        def find_spec(self, name, path=None, target=None):
            if name.startswith("numpy."):
                sys.meta_path.remove(self)
                about_to_send.wait()
                time.sleep(0.5)  # into send_many(); only how often the old SDK's bug shows depends on it
            return None

    c = sv.chart("ending", max_points=100000)
    t = sv.table("ending_rows", key="k")
    sv.start(url=sys.argv[1])
    sys.meta_path.insert(0, HoldNumpy())
    importing = threading.Thread(target=__import__, args=("numpy",))
    importing.start()
    while "numpy" not in sys.modules:
        pass
    about_to_send.set()
    for j in range(100):
        t.send_many({"k": [j], "v": [j]})
    for i in range(30000):
        c.send(i, i)
''')


def test_a_script_that_ends_without_stop_delivers_every_update(streamviz_bin, tmp_path):
    script = tmp_path / "ending.py"
    script.write_text(ENDING)
    proc = subprocess.Popen([streamviz_bin, "serve", "--addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0",
                             "--data-dir", str(tmp_path / "data")], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        ready = json.loads(proc.stdout.readline())
        base = f"http://{ready['http']}"
        r = subprocess.run([sys.executable, str(script), ready["nats"]], capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, PYTHONPATH=SRC))
        assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr[-3000:]
        # Everything was acknowledged before the script's exit: nothing is still on its way.
        assert get_json(f"{base}/api/widgets/ending")["state"]["points"] == [[i, i] for i in range(30000)]
        assert len(get_json(f"{base}/api/widgets/ending_rows")["state"]["rows"]) == 100
    finally:
        proc.terminate()
        proc.wait(15)
