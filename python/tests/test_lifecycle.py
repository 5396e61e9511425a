"""The spawned server's life as a user meets it: it dies under a running script (item 5), it is
frozen when the script stops (item 6), the same port is reused right after a run (item 7), and the
dashboard stays up after a script run from a terminal ends (item 11).

Every test runs the real binary; scripts that need a terminal of their own get a real
pseudo-terminal (pty), and signals are real signals.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import warnings

import pytest
from helpers import Unprintable, alive, get_json, wait_until, wait_widget

import stream_viz as sv

DEADLINE = 60  # generous bound on anything that should take a few seconds


# ---------------------------------------------------------------- item 5: the server dies


@pytest.mark.parametrize("sig, words", [(signal.SIGKILL, "killed by SIGKILL"), (signal.SIGTERM, "SIGTERM")])
def test_a_server_killed_mid_run_is_warned_once_naming_the_signal_and_later_updates_count_as_undelivered(sig, words):
    pts = sv.chart("pts")
    sv.start(port=0)
    for i in range(5):
        pts.send(i, i)
    wait_widget("pts", lambda w: len(w["state"]["points"]) == 5)
    wait_until(lambda: sv.stats()["pending_messages"] == 0, what="the first points acknowledged")
    proc = sv._D.server.proc
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        proc.send_signal(sig)
        wait_until(lambda: any("stopped while in use" in e for e in sv.stats()["errors"]), DEADLINE,
                   "the SDK to report the server's end")
        for i in range(5, 15):
            pts.send(i, i)
        # Exactly the ten points sent after the server died: none is lost without a count.
        wait_until(lambda: sv.stats()["undelivered_updates"] == 10, DEADLINE, "10 undelivered updates")
        st = sv.stats()
        sv.stop()
    reports = [e for e in st["errors"] if "stopped while in use" in e]
    assert len(reports) == 1, st["errors"]
    assert words in reports[0] and str(proc.pid) in reports[0] and "undelivered_updates" in reports[0], reports[0]
    warned = [w for w in caught if "stopped while in use" in str(w.message)]
    assert len(warned) == 1, "warned once, not once per update"
    assert st["connected"] is False and st["pending_messages"] == 0, st
    assert sv.stats()["undelivered_updates"] == 10, "the count survives sv.stop()"


def test_a_pipeline_whose_server_was_killed_finishes_warns_and_counts_what_it_could_not_deliver(tmp_path):
    """What a user sees: pw.run() completes, a warning naming SIGKILL, undelivered updates counted,
    no traceback, exit status 0."""
    child = run_script(tmp_path, """
        import json, os, signal
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
        sv.start(port=0)
        os.kill(sv._D.server.proc.pid, signal.SIGKILL)
        pw.run(monitoring_level=pw.MonitoringLevel.NONE)
        print(json.dumps(sv.stats()), flush=True)
    """)
    out, err = child.communicate(timeout=DEADLINE)
    assert child.returncode == 0, err
    st = json.loads(out.strip().splitlines()[-1])
    assert st["undelivered_updates"] > 0, st
    assert any("killed by SIGKILL" in e for e in st["errors"]), st
    assert "stopped while in use: it was killed by SIGKILL" in err
    assert "Traceback" not in err and "never retrieved" not in err, err


# ---------------------------------------------------------------- item 6: a frozen server


def test_stop_with_a_frozen_server_returns_within_its_timeout_says_what_it_gave_up_on_and_prints_no_traceback(tmp_path):
    child = run_script(tmp_path, """
        import json, os, signal, time
        import stream_viz as sv

        pts = sv.chart("pts")
        rows = sv.table("rows", key="k")
        sv.start(port=0)
        pts.send(1, 1)
        while sv.stats()["published_updates"] < 1:
            time.sleep(0.01)
        pid = sv._D.server.proc.pid
        os.kill(pid, signal.SIGSTOP)
        for i in range(100):
            pts.send(i + 2, i)
            rows.send({"k": f"k{i % 10}", "v": i})
        t0 = time.monotonic()
        sv.stop(timeout=2)
        took = time.monotonic() - t0
        print(json.dumps({"took": took, "pid": pid, "stats": sv.stats()}), flush=True)
    """)
    try:
        out, err = child.communicate(timeout=DEADLINE)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, err
    got = json.loads(out.strip().splitlines()[-1])
    # Before: 35 s (10 s flush, 5 s drain, 10 s for stdin, 5 s after SIGTERM) and a traceback.
    assert got["took"] < 10, f"sv.stop(timeout=2) took {got['took']:.1f}s"
    assert not alive(got["pid"]), "the frozen server was killed, not left behind"
    st = got["stats"]
    assert st["undelivered_updates"] > 0, st
    gave_up = [e for e in st["errors"] if "sv.stop() gave up after 2s" in e]
    assert len(gave_up) == 1, st["errors"]
    assert "not acknowledged" in gave_up[0] and "killed" in gave_up[0], gave_up[0]
    assert "sv.stop() gave up" in err
    for noise in ("Traceback", "never retrieved", "CancelledError", "Task was destroyed"):
        assert noise not in err, f"{noise!r} on stderr:\n{err}"


def test_stop_timeout_must_be_a_number():
    with pytest.raises(sv.InvalidOptionError):
        sv.stop(timeout="soon")
    with pytest.raises(sv.InvalidOptionError):
        sv.stop(timeout=-1)


# ---------------------------------------------------------------- item 7: rerun on the same port


def time_wait_on(port: int) -> bool:
    """Whether a TCP socket on 127.0.0.1:port is in TIME_WAIT (state 06 in /proc/net/tcp)."""
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            local, state = line.split()[1], line.split()[3]
            if local == f"0100007F:{port:04X}" and state == "06":
                return True
    return False


def test_start_on_an_explicit_port_left_in_time_wait_by_a_previous_run_succeeds():
    # A previous run: a server on the port that closed an accepted connection first, which
    # leaves that connection in TIME_WAIT on the port for a minute.
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        conn, _ = listener.accept()
        conn.close()  # the server side closes first: its end goes to TIME_WAIT
        client.recv(1)
        client.close()
    wait_until(lambda: time_wait_on(port), 10, f"a TIME_WAIT socket on port {port}")
    sv.stat("x").send(1)
    sv.start(port=port)
    assert sv._D.http_url == f"http://127.0.0.1:{port}/"
    wait_widget("x", lambda w: w["state"]["value"] == 1)


def test_start_on_an_explicit_port_with_a_listener_still_raises_port_in_use():
    with socket.socket() as busy:
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(sv.PortInUseError):
            sv.start(port=busy.getsockname()[1])


# ---------------------------------------------------------------- item 11: linger


SCRIPT = textwrap.dedent("""
    import json, sys
    import stream_viz as sv
    s = sv.stat("x")
    sv.start(port=0{linger})
    s.send(42)
    print(json.dumps({{"url": sv._D.http_url, "pid": sv._D.server.proc.pid}}), flush=True)
""")


def run_script(tmp_path, body: str, env: dict | None = None, **kw) -> subprocess.Popen:
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(body))
    e = dict(os.environ, PYTHONUNBUFFERED="1")
    e.pop("STREAMVIZ_LINGER", None)
    e.update(env or {})
    opts = {"stdin": subprocess.DEVNULL, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True,
            "preexec_fn": _ctrl_c_as_from_a_shell, **kw}
    return subprocess.Popen([sys.executable, str(script)], env=e, cwd=str(tmp_path), **opts)


def _ctrl_c_as_from_a_shell() -> None:
    """In the child before exec: Ctrl-C as a script started from a shell gets it. A test runner
    started as a background job of a non-interactive shell inherits SIGINT ignored (bash does
    that without job control), an ignored signal survives exec, and Python then installs no
    KeyboardInterrupt handler: the script under test would never see the Ctrl-C it is sent."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Lines:
    """Collects a pipe's lines on a thread of its own, so a test waits on them with a deadline."""

    def __init__(self, pipe):
        self.lines: list[str] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._read, args=(pipe,), daemon=True).start()

    def _read(self, pipe) -> None:
        for line in pipe:
            with self.lock:
                self.lines.append(line)

    def find(self, text: str) -> str | None:
        with self.lock:
            return next((ln for ln in self.lines if text in ln), None)


class Terminal:
    """A script run on a pseudo-terminal (stdin, stdout and stderr), as from an interactive shell."""

    def __init__(self, tmp_path, body: str, env: dict | None = None):
        self.master, slave = pty.openpty()
        self.proc = run_script(tmp_path, body, env, stdin=slave, stdout=slave, stderr=slave, text=False,
                               start_new_session=True)
        os.close(slave)
        self.out = b""
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                r, _, _ = select.select([self.master], [], [], 0.2)
                if r:
                    chunk = os.read(self.master, 4096)
                    if not chunk:
                        return
                    with self.lock:
                        self.out += chunk
                elif self.proc.poll() is not None:
                    return
            except OSError:  # the terminal closed with the process
                return

    def text(self) -> str:
        with self.lock:
            return self.out.decode(errors="replace")

    def info(self) -> dict:
        line = wait_until(lambda: next((ln for ln in self.text().splitlines() if ln.startswith("{")), None), DEADLINE,
                          "the script's first line")
        return json.loads(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(DEADLINE)
        with contextlib.suppress(OSError):
            os.close(self.master)


def up(url: str) -> bool:
    try:
        return get_json(url + "healthz", timeout=2)["status"] == "ok"
    except (OSError, ValueError):
        return False


def test_a_script_ended_in_a_terminal_keeps_the_dashboard_up_says_so_and_ctrl_c_ends_it(tmp_path):
    term = Terminal(tmp_path, SCRIPT.format(linger=""))
    try:
        info = term.info()
        msg = f"pipeline finished; dashboard still at {info['url']}, Ctrl-C to exit"
        wait_until(lambda: msg in term.text(), DEADLINE, "the linger message")
        assert term.proc.poll() is None, "the script waits"
        assert up(info["url"]), "the dashboard is still served"
        wait_widget("x", lambda w: w["state"]["value"] == 42, DEADLINE, base=info["url"].rstrip("/"))
        term.proc.send_signal(signal.SIGINT)  # Ctrl-C
        term.proc.wait(DEADLINE)
        assert term.proc.returncode == 0, term.text()
        wait_until(lambda: not alive(info["pid"]), DEADLINE, "the server to stop after Ctrl-C")
        assert "Traceback" not in term.text(), term.text()
    finally:
        term.close()


@pytest.mark.parametrize("linger, env", [(", linger=False", None), ("", {"STREAMVIZ_LINGER": "0"})])
def test_linger_false_or_streamviz_linger_0_ends_a_terminal_script_at_once(tmp_path, linger, env):
    term = Terminal(tmp_path, SCRIPT.format(linger=linger), env)
    try:
        info = term.info()
        term.proc.wait(DEADLINE)
        assert term.proc.returncode == 0, term.text()
        assert "dashboard still at" not in term.text()
        wait_until(lambda: not alive(info["pid"]), DEADLINE, "the server to stop with the script")
    finally:
        term.close()


def test_a_script_without_a_terminal_does_not_linger_unless_asked(tmp_path):
    child = run_script(tmp_path, SCRIPT.format(linger=""))
    out, err = child.communicate(timeout=DEADLINE)
    assert child.returncode == 0, err
    assert "dashboard still at" not in err
    assert not alive(json.loads(out.splitlines()[0])["pid"])

    asked = run_script(tmp_path, SCRIPT.format(linger=", linger=True"), stdin=subprocess.PIPE)
    try:
        info = json.loads(asked.stdout.readline())
        err = Lines(asked.stderr)
        line = wait_until(lambda: err.find("dashboard still at"), DEADLINE, "the linger message")
        assert f"pipeline finished; dashboard still at {info['url']}, Ctrl-C to exit" in line, line
        assert up(info["url"])
        asked.send_signal(signal.SIGINT)
        asked.wait(DEADLINE)
        assert asked.returncode == 0
        wait_until(lambda: not alive(info["pid"]), DEADLINE, "the server to stop after Ctrl-C")
    finally:
        if asked.poll() is None:
            asked.kill()
            asked.wait()


def test_a_script_that_fails_does_not_linger(tmp_path):
    term = Terminal(tmp_path, SCRIPT.format(linger="") + "raise RuntimeError('the pipeline failed')\n")
    try:
        info = term.info()
        term.proc.wait(DEADLINE)
        assert term.proc.returncode == 1
        assert "the pipeline failed" in term.text() and "dashboard still at" not in term.text()
        wait_until(lambda: not alive(info["pid"]), DEADLINE, "the server to stop with the script")
    finally:
        term.close()


def test_after_the_server_died_a_cell_that_cannot_be_encoded_is_counted_and_warned_and_no_other_update_goes_uncounted():
    bad = sv.table("bad")
    good = sv.stat("good")
    sv.start(port=0)
    good.send(1)
    wait_widget("good", lambda w: w["state"].get("value") == 1)
    wait_until(lambda: sv.stats()["pending_messages"] == 0, what="the first value acknowledged")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sv._D.server.proc.send_signal(signal.SIGKILL)
        wait_until(lambda: any("stopped while in use" in e for e in sv.stats()["errors"]), DEADLINE,
                   "the SDK to report the server's end")
        bad.send({"k": Unprintable()})
        good.send(2)
        # Giving up on what is pending folds and drains it to count it: the cell that cannot be
        # encoded once cost that count and, on sv.stop(), the rest of the stop.
        wait_until(lambda: sv.stats()["undelivered_updates"] == 2, DEADLINE, "2 undelivered updates")
        sv.stop()
    failed = [w.message for w in caught if isinstance(w.message, sv.UpdateNotEncodedWarning)]
    assert [w.widget for w in failed] == ["bad"], [str(w.message) for w in caught]
    assert sv.stats()["undelivered_updates"] == 2
