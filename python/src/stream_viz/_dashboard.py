"""The process-wide dashboard: widgets, the publisher, and the server it may own."""

from __future__ import annotations

import atexit
import gc
import logging
import os
import re
import socket
import sys
import threading
import time
import warnings
from typing import Any, TypeVar

from ._auth import check_token, env_token
from ._errors import (
    DuplicateWidgetError,
    InvalidOptionError,
    PortInUseError,
    ProducerConflictWarning,
    PublishRefusedWarning,
    ServerStartError,
    StreamVizError,
    UpdateNotEncodedWarning,
    UpdateRefusedWarning,
    redact_url,
)
from ._publisher import Credentials, Publisher
from ._server import Server, describe_exit, spawn
from ._spawn import Peer
from ._spawn import from_env as spawn_peer
from ._widgets import Widget, fit_messages_to, fit_messages_to_server

W = TypeVar("W", bound=Widget)

log = logging.getLogger("stream_viz")


def default_producer() -> str:
    """Who this process is on the bus (docs/protocol.md §1.5): STREAMVIZ_PRODUCER, else host and
    script, so a restarted pipeline is the same producer and another script is another one."""
    env = os.environ.get("STREAMVIZ_PRODUCER", "").strip()
    if env:
        return env[:200]
    script = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else "python"
    return f"{socket.gethostname()}:{script}"[-200:]


_MODES = ("dark", "light", "auto")
_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})"
                    r"|(?:rgb|rgba|hsl|hsla)\([0-9.,%/ deg-]{1,60}\)|[a-zA-Z]{3,30}")
_FONT = re.compile(r"[A-Za-z0-9 ,\-._'\"]{1,200}")


def check_theme(theme: Any) -> str | dict[str, Any]:
    """The server's rules for a theme (protocol.md §1.1), checked here so a bad one fails at the call."""
    expected = ('"dark", "light", "auto" or a dict of mode, accent, background, surface, text '
                '(CSS colours: #rrggbb, rgb(...), hsl(...) or a name), font (family names) and radius (0 to 32 px)')
    if isinstance(theme, str):
        if theme not in _MODES:
            raise InvalidOptionError("dashboard", "theme", theme, expected)
        return theme
    if not isinstance(theme, dict):
        raise InvalidOptionError("dashboard", "theme", theme, expected)
    for k, v in theme.items():
        ok = ((k == "mode" and v in _MODES)
              or (k in ("accent", "background", "surface", "text") and isinstance(v, str) and _COLOR.fullmatch(v) is not None)
              or (k == "font" and isinstance(v, str) and _FONT.fullmatch(v) is not None and len(v.encode()) <= 200)
              or (k == "radius" and isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 32))
        if not ok:
            raise InvalidOptionError("dashboard", f"theme[{k!r}]", v, expected)
    return dict(theme)


class _Title:
    """The dashboard's title and theme travel on sv.$dashboard.config."""

    id = "$dashboard"

    def __init__(self, dash: Dashboard) -> None:
        self._dash = dash
        self.title: str | None = None
        self.theme: str | dict[str, Any] | None = None
        self._pending: Any = None

    def _take(self) -> Any:
        # A field left out keeps the server's (protocol.md §1.1): a theme alone leaves the title be.
        out: dict[str, Any] = {"producer": self._dash.producer}
        if self.title is not None:
            out["title"] = self.title
        if self.theme is not None:
            out["theme"] = self.theme
        return out

    def _fold(self, taken: Any) -> int:
        self._pending = taken
        return 0  # no Pathway commits: the title is set by hand

    def _drain(self) -> list[tuple[str, Any, int]]:
        body, self._pending = self._pending, None
        return [("sv.$dashboard.config", body, 0)] if body else []


class Dashboard:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.widgets: dict[str, Widget] = {}
        self.publisher = self._new_publisher()
        self.server: Server | None = None
        self.http_url: str | None = None
        self.token: str | None = None  # the running server's, for signing embed links
        self.started = False
        self.port: int | None = None
        self.embed: bool | None = None
        self.producer = default_producer()  # named in every config (docs/protocol.md §1.5)
        self._title = _Title(self)
        self._warned: set[str] = set()
        self.errors: list[str] = []
        self._totals: dict[str, int] = {}
        self._atexit = False
        self.linger: bool | None = None  # sv.start(linger=): None decides at exit (see _lingers)
        self._server_gone = False  # the server this process spawned died while in use
        self._exit_lock = threading.Lock()
        self._peer: Peer | None = None  # this process's place in a multi-process pathway spawn
        # Where and how sv.start() joined the bus: a forked process joins it again (_after_fork).
        self._nats_url: str | None = None
        self._credentials: Credentials | None = None
        self._joining: threading.Thread | None = None  # a forked process's connection under way
        self._mp_hooked = False

    # ---- declaration ----

    def add(self, w: W) -> W:
        with self.lock:
            if w.id in self.widgets:
                raise DuplicateWidgetError(w.id)
            self.widgets[w.id] = w
            self.publisher.mark(w)
        return w

    def set_title(self, title: str | None, theme: str | dict[str, Any] | None = None) -> None:
        with self.lock:
            if title is not None:
                self._title.title = str(title)
            if theme is not None:
                self._title.theme = check_theme(theme)
            self.publisher.mark(self._title)

    # ---- running ----

    def _new_publisher(self) -> Publisher:
        p = Publisher(self.lock)
        p.on_refused = self._warn_refused
        p.on_warning = self._warn_from_server
        p.on_update_refused = self._warn_update_refused
        p.on_encode_failed = self._warn_not_encoded
        p.on_limit = fit_messages_to_server
        return p

    def start(self, port: int | None, url: str | None, data_dir: str | None, credentials: Credentials | None = None,
              nats_auth: str | None = None, token: str | None = None) -> None:
        if self.started:
            raise StreamVizError("stream_viz is already started; call sv.stop() first to restart it")
        self._server_gone = False
        if url is not None and (port is not None or data_dir is not None or nats_auth is not None or token is not None):
            raise StreamVizError("sv.start(url=...) joins a running server: port= and data_dir= (and nats_auth=, token=) "
                                 "belong to the server it spawns")
        if token is not None:
            check_token(token)
        # Under `pathway spawn --processes N` one process serves the dashboard (_spawn.py).
        peer = spawn_peer()
        follower = peer is not None and not peer.leader
        self.publisher.configs = not follower
        if peer is not None and follower and url is None and peer.run_dir is None:
            # Several machines (--addresses): nothing shared finds process 0's bus; Pathway hands
            # every subscription's output to process 0 anyway.
            log.debug("stream_viz: process %d of a multi-machine pathway spawn: process 0 serves the dashboard", peer.index)
            self.started = True
            return
        try:
            if url is None and peer is not None and follower:
                first = peer.wait_for(0)
                if not first.get("ok"):
                    raise ServerStartError(f"process 0 of this pathway spawn could not start the dashboard: {first.get('error')}")
                nats_url = first["nats"]
            elif url is None:
                # A port the user chose must be free; the default falls back to a free one.
                from_env = port is None and self.port is None
                if port is None:
                    port = self.port if self.port is not None else env_port()
                try:
                    self.server = spawn(port, data_dir, explicit_port=port is not None, nats_auth=nats_auth, token=token)
                except PortInUseError as e:
                    # The script may say no port at all: the error names where the port came from.
                    if from_env:
                        raise PortInUseError(e.port, e.host, source="STREAMVIZ_PORT") from None
                    raise
                nats_url = self.server.nats
                self.http_url = self.server.url
                self.token = token if token is not None else env_token()
            else:
                nats_url = url
            self.publisher.connect(nats_url, credentials=credentials)
            fit_messages_to(self.publisher.max_payload)
            self._nats_url, self._credentials = nats_url, credentials
            self._hook_multiprocessing()
        except BaseException as e:
            self._abort_start()
            if peer is not None:
                peer.report(False, error=_first_line(e))
            raise
        if peer is not None:
            peer.report(True, nats=nats_url, url=self.http_url)
            try:
                peer.wait_all()
            except BaseException:
                self.publisher.close(1.0)
                self.publisher = _fresh_publisher(self)
                self._abort_start()
                raise
            self._peer = peer
        self.started = True
        if self.server:
            self.server.watch(self._server_exited)
        if not self._atexit:
            atexit.register(self._at_exit)
            self._atexit = True
        if self.http_url:
            print(f"StreamViz dashboard: {self.http_url}", file=sys.stderr, flush=True)
            for w in self.widgets.values():
                if w.embed:
                    print(f"  {w.id}: {w.embed_url}", file=sys.stderr, flush=True)

    def start_failed(self, e: BaseException) -> None:
        """sv.start() refused its arguments: under pathway spawn, tell the other processes."""
        if self.started:
            return
        try:
            peer = spawn_peer()
        except StreamVizError:
            return
        if peer is not None:
            peer.report(False, error=_first_line(e))

    def _abort_start(self) -> None:
        if self.server:
            self.server.stop()
            self.server = None
        self.http_url = None
        self.token = None

    def stop(self, timeout: float = 5.0) -> None:
        if not self.started:
            return
        joining = self._joining
        if joining is not None:
            # A forked process still connecting: what it sent waits for that connection.
            joining.join(max(timeout * 0.7, 0.0))
            self._joining = None
        self._check_server()
        self.started = False
        deadline = time.monotonic() + timeout
        server, gone = self.server, self._server_gone
        # A server of our own needs a moment of the budget to shut down (or be killed).
        reserve = min(2.0, timeout * 0.3) if server else 0.0
        lost = self.publisher.close(max(deadline - reserve - time.monotonic(), 0.0))
        for k, v in self.publisher.stats.items():  # counters survive a restart
            self._totals[k] = self._totals.get(k, 0) + v
        self.publisher = _fresh_publisher(self)
        forced = None
        if server:
            forced = server.stop(max(deadline - time.monotonic(), 0.5))
            self.server = None
        self.http_url = None
        self.token = None
        if self._peer is not None:
            self._peer.clean()
            self._peer = None
        gave_up = []
        if lost and not gone:  # a dead server was reported when it died
            gave_up.append(f"{lost} update(s) were not acknowledged by the bus and are lost")
        if forced:
            gave_up.append(forced)
        if gave_up:
            msg = f"stream_viz: sv.stop() gave up after {timeout:g}s: " + "; ".join(gave_up)
            self.errors.append(msg)
            warnings.warn(msg, RuntimeWarning, stacklevel=3)

    def _at_exit(self) -> None:
        if self.started and self._lingers():
            url = self.http_url
            # What the script sent last is on the page before the page is announced as complete.
            end = time.monotonic() + 5
            while self.publisher.pending_messages() and self.publisher.connected and time.monotonic() < end:
                time.sleep(0.02)
            print(f"stream_viz: pipeline finished; dashboard still at {url}, Ctrl-C to exit", file=sys.stderr, flush=True)
            try:
                server = self.server
                while server is not None and server.exit_code() is None:
                    time.sleep(0.2)
            except KeyboardInterrupt:
                print(file=sys.stderr, flush=True)
        self.stop()

    def _lingers(self) -> bool:
        """Whether the end of the script keeps the dashboard up (README: "When the script ends")."""
        if self.server is None or getattr(sys, "last_type", None) is not None:
            return False  # nothing of ours to keep up, or the script failed or was interrupted
        if self.linger is not None:
            return self.linger
        env = os.environ.get("STREAMVIZ_LINGER", "").strip().lower()
        if env:
            return env not in ("0", "false", "no", "off")
        if hasattr(sys, "ps1") or sys.flags.interactive:
            return False  # an interactive session: its user is there and ends it
        try:
            return sys.stdin.isatty() and sys.stderr.isatty()
        except (AttributeError, ValueError):
            return False

    def _check_server(self) -> None:
        """Reports the server's end now if it ended and its watcher has not said so yet."""
        server = self.server
        if server is not None and self.started and not self._server_gone:
            code = server.exit_code()
            if code is not None:
                self._server_exited(code)

    def _after_fork(self) -> None:
        """In a process forked after sv.start() (os.fork(), multiprocessing's fork start method).

        Only the forking thread exists here: the SDK's thread, the server's watcher and whatever
        held the lock are gone, and the bus connection is the parent's socket. Before, the child's
        updates were never sent (no thread took them), its exit took the server the parent spawned
        for dead ("stopped while in use") and gave up on them after the stop timeout. Now the
        child joins the same bus with a connection of its own, delivers what it sends (flushed at
        its exit, as the parent's are), leaves the parent's updates, connection and server to the
        parent, and never stops that server."""
        from . import _publisher

        if _publisher.HOLDING_COLLECTOR:
            _publisher.HOLDING_COLLECTOR = False
            gc.enable()
        self.lock = threading.Lock()  # another thread may have held it at the fork
        self._exit_lock = threading.Lock()
        inherited = self.publisher
        self.publisher = self._new_publisher()
        self.publisher.configs = inherited.configs
        self._totals.clear()
        self._joining = None
        for w in list(self.widgets.values()):
            if hasattr(w, "_lock"):
                w._lock = self.lock
            # What the parent had not yet sent is the parent's to send: sent here too, it would
            # arrive twice. Taken and dropped, which also closes a chart's open append run (a
            # child appending to it would otherwise never mark the chart for its own publisher).
            try:
                w._fold(w._take())
                w._drain()
            except Exception as e:
                log.debug("stream_viz: dropping the parent's pending updates of %s in a forked process: %r", w.id, e)
        self._title._pending = None
        if not self.started:
            return
        # The parent's: this process neither watches nor stops them.
        self.server = None
        self._peer = None
        url, creds = self._nats_url, self._credentials
        if url is None:
            return
        self._joining = threading.Thread(target=self._join_after_fork, args=(url, creds),
                                         name="stream_viz-fork-connect", daemon=True)
        self._joining.start()

    def _join_after_fork(self, url: str, creds: Credentials | None) -> None:
        try:
            self.publisher.connect(url, credentials=creds)
        except Exception as e:
            self._warn_once("fork-connect", f"stream_viz: this forked process (pid {os.getpid()}) could not join the bus "
                            f"at {redact_url(url)}: {e}; its updates are not delivered")

    def _hook_multiprocessing(self) -> None:
        """multiprocessing's fork children end with os._exit(), which runs no atexit handler: they
        run multiprocessing's own finalizers, registered after its fork (the registry is cleared
        first), so sv.stop() is registered there to flush what the child sent."""
        if self._mp_hooked:
            return
        import multiprocessing.util as mp_util

        def in_child(dash: Dashboard) -> None:
            mp_util.Finalize(dash, dash.stop, exitpriority=100)

        mp_util.register_after_fork(self, in_child)
        self._mp_hooked = True

    def _server_exited(self, code: int) -> None:
        """The watcher's thread (or _check_server): the server this process spawned ended without sv.stop()."""
        with self._exit_lock:
            if self._server_gone:
                return
            self._server_gone = True
        server = self.server
        pid = server.proc.pid if server else "?"
        how = describe_exit(code) if code != 0 else "it shut down on SIGTERM or SIGINT (exit status 0)"
        msg = (f"stream_viz: the dashboard server (pid {pid}) stopped while in use: {how}; updates are no longer "
               "delivered (counted in sv.stats()['undelivered_updates'])")
        self._warn_once(f"server-exit:{pid}", msg)
        self.publisher.abandon(msg)

    def reset(self) -> None:
        """Forgets every widget (tests, notebooks)."""
        self.stop()
        with self.lock:
            self.widgets.clear()
            self.publisher = self._new_publisher()
            self._title = _Title(self)
            self._warned.clear()
            self._totals.clear()
            self.errors.clear()
            self.port = None
            self.embed = None

    # ---- reporting ----

    def _warn_once(self, key: str, message: str, warning: Warning | None = None) -> None:
        if key in self._warned:
            return
        self._warned.add(key)
        self.errors.append(message)
        if warning is not None:
            warnings.warn(warning, stacklevel=3)
        else:
            warnings.warn(message, RuntimeWarning, stacklevel=3)

    def _warn_drop(self, w: Widget) -> None:
        self._warn_once(f"drop:{w.id}", f"stream_viz: chart {w.id!r} is producing points faster than the bus takes them; "
                                         "the oldest buffered points are dropped (see sv.stats())")

    def _warn_from_server(self, widget: str, subject: str, warning: str) -> None:
        # The server's reply to a config: another producer declares the same widget (or title).
        w = ProducerConflictWarning(widget, warning)
        self._warn_once(f"server:{subject}:{warning}", str(w), w)

    def _warn_refused(self, widget: str, subject: str, reason: str) -> None:
        # Runs on the publisher's thread: a warning there still reaches the warnings filters and logging.
        w = PublishRefusedWarning(widget, subject, reason)
        self.errors.append(str(w))
        warnings.warn(w, stacklevel=2)

    def _warn_update_refused(self, widget: str, subject: str, reason: str) -> None:
        # Once per subject: a producer past a limit is refused again and again, each time with a
        # reason that may name other numbers.
        w = UpdateRefusedWarning(widget, subject, reason)
        self._warn_once(f"refused:{subject}", str(w), w)

    def _warn_not_encoded(self, widget: str, error: BaseException) -> None:
        # Once per widget: a cell that cannot be encoded is usually sent again with every update.
        w = UpdateNotEncodedWarning(widget, error)
        self._warn_once(f"not-encoded:{widget}", str(w), w)

    def stats(self) -> dict[str, Any]:
        self._check_server()
        if self._server_gone and self.started:
            self.publisher.settle()
        p = self.publisher
        total = {k: v + self._totals.get(k, 0) for k, v in p.stats.items()}
        return {
            "connected": p.connected,
            "published_messages": total["messages"],
            "published_updates": total["updates"],
            "failed_publishes": total["failed_publishes"],
            # Updates given up on, never acknowledged: the server this process spawned died,
            # sv.stop() ran out of time on a bus that did not answer, or they could not be encoded.
            "undelivered_updates": total["undelivered"],
            # Messages the bus refused (this user may not publish to their subjects): dropped, never retried.
            "refused_publishes": total["refused"],
            # Configs re-queued for a restart are not waiting on the bus.
            "pending_messages": p.pending_messages() if self.started else 0,
            "dropped_points": sum(getattr(w, "dropped", 0) for w in self.widgets.values()),
            # Table rows beyond the server's row limit (serve --max-table-rows): not on the dashboard.
            "refused_rows": sum(getattr(w, "refused_rows", 0) for w in self.widgets.values()),
            "errors": list(self.errors),
        }


def env_port() -> int | None:
    """STREAMVIZ_PORT: the port sv.start() insists on when given none (README)."""
    text = os.environ.get("STREAMVIZ_PORT", "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) > 65535:
        raise StreamVizError(f"STREAMVIZ_PORT={text!r} is not a port: expected an integer from 0 to 65535")
    return int(text)


def _first_line(e: BaseException) -> str:
    # The other processes wrap this in a ServerStartError of their own: its reason alone, or their
    # message would say "the streamviz server did not start" twice.
    text = (e.reason if isinstance(e, ServerStartError) else str(e)).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _fresh_publisher(d: Dashboard) -> Publisher:
    # Widgets declared before a restart send their config again to the new bus.
    p = d._new_publisher()
    with d.lock:
        for w in d.widgets.values():
            w._config_pending = True
            p.mark(w)
        if d._title.title is not None or d._title.theme is not None:
            p.mark(d._title)
    return p


DASHBOARD = Dashboard()
os.register_at_fork(after_in_child=DASHBOARD._after_fork)
