"""Finds, spawns and stops the bundled streamviz server."""

from __future__ import annotations

import collections
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ._errors import BinaryNotFoundError, PortInUseError, ServerStartError

DEFAULT_PORT = 3000
READY_TIMEOUT = 30.0


def find_binary() -> str:
    """The server binary: $STREAMVIZ_BIN, else the one bundled beside this package, else, for an
    editable install from a source checkout (`make demo`'s venv), the checkout's `make build` output."""
    searched = []
    env = os.environ.get("STREAMVIZ_BIN")
    if env:
        # An override that is wrong is an error, not a hint: falling back to the bundled binary
        # would run another server than the one the user named, and say nothing.
        if os.path.isfile(env) and os.access(env, os.X_OK):
            return env
        why = "is a directory" if os.path.isdir(env) else "is not executable" if os.path.exists(env) else "does not exist"
        raise BinaryNotFoundError([f"$STREAMVIZ_BIN={env} ({why})"],
                                  hint="point STREAMVIZ_BIN at a streamviz binary, or unset it for the bundled one")
    name = "streamviz.exe" if sys.platform == "win32" else "streamviz"
    here = Path(__file__).resolve().parent
    bundled = here / "_bin" / name
    if os.access(bundled, os.X_OK):
        return str(bundled)
    searched.append(str(bundled))
    # <checkout>/python/src/stream_viz/_server.py: only a tree with the Go module is a checkout.
    checkout = here.parents[2] if len(here.parents) > 2 else None
    if checkout is not None and (checkout / "go.mod").is_file():
        built = checkout / "bin" / name
        if os.access(built, os.X_OK):
            return str(built)
        searched.append(f"{built} (run `make build` in {checkout})")
    raise BinaryNotFoundError(searched)


def port_free(host: str, port: int) -> bool:
    """Whether the server could listen on host:port.

    Checked the way it binds: Go's net.Listen sets SO_REUSEADDR, so the TIME_WAIT connections
    a previous run left on the port do not make it busy; a listener does.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        if hasattr(socket, "SO_REUSEADDR") and sys.platform != "win32":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def describe_exit(code: int) -> str:
    """An exit status as words: "it was killed by SIGKILL", "it exited with status 2"."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"it was killed by {name}"
    return f"it exited with status {code}"


@dataclass
class Server:
    """A running child server. stop() is idempotent."""

    proc: subprocess.Popen[bytes]
    http: str
    nats: str
    _stderr: collections.deque[str]
    _url: str | None = None
    _stopping: bool = False
    _watcher: threading.Thread | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return self._url or f"http://{self.http}/"

    def output(self) -> str:
        return "".join(self._stderr)

    def exit_code(self) -> int | None:
        """The exit status if the server has ended (as Popen.returncode), else None; never
        blocks, and unlike poll() it does not answer None while the watcher holds Popen's lock."""
        if self.proc.returncode is not None:
            return self.proc.returncode
        try:
            r = os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:  # reaped a moment ago, by the watcher
            return self.proc.wait()
        except (AttributeError, OSError):
            return self.proc.poll()
        if r is None:
            return None
        killed = r.si_code in (os.CLD_KILLED, os.CLD_DUMPED)
        return -r.si_status if killed else r.si_status

    def watch(self, on_exit: Callable[[int], None]) -> None:
        """Calls on_exit(returncode), on a thread of its own, if the server ends without stop()."""

        def wait() -> None:
            # Waits without reaping (WNOWAIT), so poll() and stop() on other threads see the
            # exit status as usual instead of None while this thread would hold Popen's lock.
            with contextlib.suppress(AttributeError, ChildProcessError, OSError):
                os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOWAIT)
            code = self.proc.wait()
            if not self._stopping:
                on_exit(code)

        self._watcher = threading.Thread(target=wait, name="streamviz-server-watch", daemon=True)
        self._watcher.start()

    def stop(self, timeout: float = 10.0) -> str | None:
        """Stops the server within about timeout seconds; returns what it had to force, if anything.

        Closing stdin asks for a clean shutdown (--exit-with-stdin); then terminate, then kill.
        A stopped (SIGSTOP) server handles neither of the first two, so the last part of the
        budget is kept for them and kill always ends it.
        """
        self._stopping = True
        if self.proc.poll() is not None:
            return None
        deadline = time.monotonic() + max(timeout, 0.0)
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
        except OSError:
            pass
        if _wait(self.proc, deadline - min(1.0, timeout / 4) - time.monotonic()):
            return None
        self.proc.terminate()
        if _wait(self.proc, deadline - time.monotonic()):
            return "the server did not exit when asked and was sent SIGTERM"
        self.proc.kill()
        self.proc.wait()
        return "the server did not exit when asked and was killed"


def spawn(port: int | None, data_dir: str | None, explicit_port: bool, nats_auth: str | None = None,
          token: str | None = None) -> Server:
    """Starts `streamviz serve` and returns once its ready line arrived.

    port=None or 0 picks a free port; the default port falls back to a free one when busy;
    an explicit busy port is an error. A token goes through the environment, not the command
    line, where other users could read it.
    """
    binary = find_binary()
    host = "127.0.0.1"
    want = DEFAULT_PORT if port is None else port
    if want != 0 and not port_free(host, want):
        if explicit_port:
            raise PortInUseError(want, host)
        want = 0
    try:
        return _launch(binary, host, want, data_dir, nats_auth, token)
    except ServerStartError as e:
        # The port was free when checked, but another process (a second script started at the
        # same moment) took it before the server listened: the same outcome as a busy port.
        if want == 0 or not _lost_port(e, host, want):
            raise
        if explicit_port:
            raise PortInUseError(want, host) from None
    return _launch(binary, host, 0, data_dir, nats_auth, token)


def _lost_port(e: ServerStartError, host: str, port: int) -> bool:
    """Whether the server failed because its HTTP address was taken (serve names it: "--addr ...: ...")."""
    if f"--addr {host}:{port}:" not in e.stderr:
        return False
    return "address already in use" in e.stderr.lower() or not port_free(host, port)


def _launch(binary: str, host: str, want: int, data_dir: str | None, nats_auth: str | None, token: str | None) -> Server:
    args = [binary, "serve", "--addr", f"{host}:{want}", "--nats-addr", f"{host}:0", "--exit-with-stdin"]
    if data_dir:
        args += ["--data-dir", str(data_dir)]
    if nats_auth:
        # The server reads and checks the file; a bad one ends in ServerStartError with its reason.
        args += ["--nats-auth", os.fspath(nats_auth)]
    env = None
    if token is not None:
        env = dict(os.environ, STREAMVIZ_TOKEN=token)
        env.pop("STREAMVIZ_TOKEN_FILE", None)  # the server refuses both
    try:
        # A session of its own: Ctrl-C in the terminal reaches Python, which then stops the
        # server cleanly after a last flush; the stdin pipe still ties it to this process.
        proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, close_fds=True,
                                start_new_session=True, env=env)
    except OSError as e:
        raise ServerStartError(f"could not run {binary}: {e}") from e
    stderr: collections.deque[str] = collections.deque(maxlen=200)
    # Drain stderr for the life of the server: a full pipe would block it.
    drain = threading.Thread(target=_drain, args=(proc.stderr, stderr), name="streamviz-server-log", daemon=True)
    drain.start()
    ready = _read_ready(proc, stderr, drain, binary)
    server = Server(proc=proc, http=ready["http"], nats=ready["nats"], _stderr=stderr, _url=ready.get("url"))
    threading.Thread(target=_drain, args=(proc.stdout, None), name="streamviz-server-out", daemon=True).start()
    return server


def _wait(proc: subprocess.Popen[bytes], seconds: float) -> bool:
    try:
        proc.wait(max(seconds, 0.01))
        return True
    except subprocess.TimeoutExpired:
        return False


def _drain(pipe: IO[bytes], sink: collections.deque[str] | None) -> None:
    for line in iter(pipe.readline, b""):
        if sink is not None:
            sink.append(line.decode(errors="replace"))
    pipe.close()


def _read_ready(proc: subprocess.Popen[bytes], stderr: collections.deque[str], drain: threading.Thread,
                binary: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    done = threading.Event()

    def read() -> None:
        assert proc.stdout is not None  # spawned with stdout=PIPE
        line = proc.stdout.readline()
        try:
            got = json.loads(line)
        except ValueError:
            got = None
        if isinstance(got, dict):
            result.update(got)
        result["_line"] = line
        done.set()

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + READY_TIMEOUT
    while not done.wait(0.05):
        if proc.poll() is not None or time.monotonic() > deadline:
            break
    if result.get("event") == "ready":
        return result
    if done.is_set():
        # stdout ended without a ready line: the process is exiting; let it finish.
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(15)
    code = proc.poll()
    if code is None:
        proc.kill()
        proc.wait()
        reason = f"{binary} printed no ready line" + ("" if done.is_set() else f" within {READY_TIMEOUT:.0f}s")
    else:
        reason = f"{binary} exited with status {code} before its ready line"
    # Named, with what it printed instead: a STREAMVIZ_BIN naming another program exits 0 and
    # says nothing on stderr, and "exited with status 0" alone does not tell which program ran.
    printed = result.get("_line", b"").decode(errors="replace").strip()
    if printed:
        reason += f"; it printed {printed[:200]!r} instead (is it the streamviz server?)"
    # Its last words, before they are reported. The process is gone, so the pipe is at its end
    # and this returns at once; the bound only matters on a machine too loaded to run the thread.
    drain.join(15)
    raise ServerStartError(reason, "".join(stderr), code)
