"""Finds, spawns and stops the bundled streamviz server."""

from __future__ import annotations

import collections
import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ._errors import BinaryNotFoundError, PortInUseError, ServerStartError

DEFAULT_PORT = 3000
READY_TIMEOUT = 30.0


def find_binary() -> str:
    """The server binary: $STREAMVIZ_BIN, else the one bundled beside this package."""
    searched = []
    env = os.environ.get("STREAMVIZ_BIN")
    if env:
        if os.access(env, os.X_OK):
            return env
        searched.append(f"$STREAMVIZ_BIN={env}")
    bundled = Path(__file__).resolve().parent / "_bin" / ("streamviz.exe" if sys.platform == "win32" else "streamviz")
    if os.access(bundled, os.X_OK):
        return str(bundled)
    searched.append(str(bundled))
    raise BinaryNotFoundError(searched)


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


@dataclass
class Server:
    """A running child server. stop() is idempotent."""

    proc: subprocess.Popen
    http: str
    nats: str
    _stderr: collections.deque
    _url: str | None = None

    @property
    def url(self) -> str:
        return self._url or f"http://{self.http}/"

    def output(self) -> str:
        return "".join(self._stderr)

    def stop(self, timeout: float = 10.0) -> None:
        # Closing stdin asks for a clean shutdown (--exit-with-stdin); then
        # terminate, then kill, each after a bounded wait.
        if self.proc.poll() is not None:
            return
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
            self.proc.wait(timeout)
            return
        except subprocess.TimeoutExpired:
            pass
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


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
    stderr: collections.deque = collections.deque(maxlen=200)
    # Drain stderr for the life of the server: a full pipe would block it.
    drain = threading.Thread(target=_drain, args=(proc.stderr, stderr), name="streamviz-server-log", daemon=True)
    drain.start()
    ready = _read_ready(proc, stderr, drain)
    server = Server(proc=proc, http=ready["http"], nats=ready["nats"], _stderr=stderr, _url=ready.get("url"))
    threading.Thread(target=_drain, args=(proc.stdout, None), name="streamviz-server-out", daemon=True).start()
    return server


def _drain(pipe, sink) -> None:
    for line in iter(pipe.readline, b""):
        if sink is not None:
            sink.append(line.decode(errors="replace"))
    pipe.close()


def _read_ready(proc: subprocess.Popen, stderr: collections.deque, drain: threading.Thread) -> dict:
    result: dict = {}
    done = threading.Event()

    def read() -> None:
        line = proc.stdout.readline()
        try:
            result.update(json.loads(line))
        except ValueError:
            result["bad"] = line
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
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
    code = proc.poll()
    if code is None:
        proc.kill()
        proc.wait()
        reason = f"no ready line within {READY_TIMEOUT:.0f}s"
    else:
        reason = f"it exited with status {code}"
    drain.join(2)  # its last words, before they are reported
    raise ServerStartError(reason, "".join(stderr), code)
