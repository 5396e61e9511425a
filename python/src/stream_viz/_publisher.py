"""The SDK's own thread: an asyncio loop that encodes pending updates and publishes them.

Producers (user code, Pathway's worker thread) only touch in-memory buffers under a lock and
mark the widget dirty; they never wait on the network. This thread takes each dirty widget's
pending updates as one batch, encodes it, and publishes it with a JetStream acknowledgement.
Each widget has at most one message in flight, so a failed message is retried (with the same
Nats-Msg-Id, which the server deduplicates) before anything newer of that widget is sent, and
order per widget is kept. While the bus is away, pending state keeps coalescing in the buffers.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import json
import logging
import re
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from nats.aio.client import Client as NATS
from nats.errors import MaxPayloadError

from ._encode import NotEncoded, dumps
from ._errors import NotAuthorizedError, ServerUnreachableError, StreamVizError
from ._split import server_limit, split_message

log = logging.getLogger("stream_viz")

FLUSH_INTERVAL = 0.01  # seconds between looks at the buffers: the added latency
# Folding Pathway commits and encoding their rows is Python work that holds the GIL Pathway's
# own thread needs. After a flush that folded commits and took noticeable time, the SDK's
# thread waits so that it spends at most this share of the time flushing: commits arriving
# meanwhile fold together (a key changed by several of them costs once) and go out in one
# message. The wait is capped so the dashboard still moves every MAX_FLUSH_GAP. At 2% of the
# time, a 5,000-row table rewritten by every commit (about 15 ms of Python per flush) is sent
# about every 0.75 s and a 20,000-row one (about 40 ms) every 2 s; a flush of a few rows takes
# under FLUSH_INTERVAL and is never held back.
FLUSH_DUTY = 0.02
MAX_FLUSH_GAP = 2.0
PACE_AFTER = FLUSH_INTERVAL  # a flush shorter than this is never followed by a wait
ACK_TIMEOUT = 5.0


@contextlib.contextmanager
def collector_held() -> Iterator[None]:
    """Holds Python's cyclic garbage collector off while the SDK folds and encodes a flush.

    A flush of a big Pathway table allocates tens of thousands of short-lived dicts (rows, ops)
    that reference counting frees; none form cycles. Yet each allocation counts towards the
    collector's thresholds, so a 20,000-row flush set off a hundred young collections and, every
    other flush, a full one over the whole process's heap (Pathway's objects included, about
    80 ms each): measured with the 20,000-key table updated every commit, the SDK's flushes
    doubled the number of full collections, costing Pathway's process about 0.6 s of CPU per
    200,000 input rows. Held off, collections the flush made due run once right after it, so
    their number stays what the pipeline's own allocations make it. Nothing is awaited while
    held, and a collector the program disabled itself is left as it was."""
    global HOLDING_COLLECTOR
    if not gc.isenabled():
        yield
        return
    gc.disable()
    HOLDING_COLLECTOR = True
    try:
        yield
    finally:
        HOLDING_COLLECTOR = False
        gc.enable()


# Set while collector_held() has the collector off: a process forked meanwhile would inherit it
# off for good (the thread that turns it back on does not exist there), so the child turns it on.
HOLDING_COLLECTOR = False
MAX_PAYLOAD = 512 * 1024


class Source(Protocol):
    """What the publisher needs of a widget (see Widget._take/_fold/_drain)."""

    id: str

    def _take(self) -> Any: ...

    def _fold(self, taken: Any) -> int:
        """Returns how many Pathway commits it folded."""

    def _drain(self) -> list[tuple[str, Any, int]]:
        """(subject, body, updates): body is JSON-ready, or bytes already encoded."""


# What nats-py passes to error_cb when the server drops a message this user may not send.
_REFUSED = re.compile(r'permissions violation for publish to "([^"]+)"', re.IGNORECASE)
_AUTH_FAILED = ("authorization violation", "authorization failed", "authentication expired")


@dataclass(frozen=True)
class Credentials:
    """How to authenticate to the bus and verify its TLS certificate; passed to nats-py's connect."""

    user: str | None = None
    password: str | None = None
    nkeys_seed: str | None = None  # a file holding an nkey seed
    user_credentials: str | None = None  # a NATS .creds file
    tls_ca: str | None = None  # PEM CA certificates that verify the server

    def connect_options(self) -> dict[str, Any]:
        opts: dict[str, Any] = {}
        if self.user is not None:
            opts["user"], opts["password"] = self.user, self.password
        if self.nkeys_seed is not None:
            opts["nkeys_seed"] = self.nkeys_seed
        if self.user_credentials is not None:
            opts["user_credentials"] = self.user_credentials
        if self.tls_ca is not None:
            opts["tls"] = ssl.create_default_context(cafile=self.tls_ca)
        return opts


class _Pending:
    __slots__ = ("msg_id", "payload", "refused", "subject", "updates")

    def __init__(self, subject: str, payload: bytes, msg_id: str, updates: int):
        self.subject, self.payload, self.msg_id, self.updates = subject, payload, msg_id, updates
        self.refused = False


class AckError(Exception):
    """The server answered a publish with {"error": {"code", "description"}} (docs/protocol.md §1)."""

    def __init__(self, code: Any, description: str):
        super().__init__(f"code={code}: {description}")
        self.code, self.description = code, description


def _parse_ack(subject: str, reply: Any) -> dict[str, Any]:
    """The publish acknowledgement in reply, as a dict; raises AckError for an error answer, and
    RuntimeError for no responders or an answer that is not one."""
    if reply.headers and reply.headers.get("Status") == "503":
        raise RuntimeError(f"no server stores {subject} (no responders)")
    try:
        body = json.loads(reply.data)
    except ValueError:
        raise RuntimeError(f"unreadable acknowledgement for {subject}: {reply.data[:200]!r}") from None
    if not isinstance(body, dict):
        raise RuntimeError(f"unreadable acknowledgement for {subject}: {reply.data[:200]!r}")
    err = body.get("error")
    if err is not None:
        if isinstance(err, dict):
            raise AckError(err.get("code"), str(err.get("description", "")))
        raise AckError(None, str(err))
    return body


class Publisher:
    def __init__(self, lock: threading.Lock):
        self.lock = lock
        self._dirty: dict[str, Source] = {}  # raw updates waiting, under the lock
        self._folded: dict[str, Source] = {}  # folded state waiting to be drained
        self._queued: dict[str, list[_Pending]] = {}  # encoded, not yet acknowledged, in order
        self._inflight: set[str] = set()
        self._acks: dict[str, asyncio.Task[None]] = {}  # per widget in flight: the wait for its acknowledgement
        # Acknowledgements come to one inbox subscription of this connection, each to its own
        # token: nats-py's publish_async raises an error answer (400, a refusal) out of its
        # callback instead of into the publish's future, which then never completes, so a
        # refused update was resent, with the same answer, for as long as the SDK ran.
        self._ack_inbox = ""
        self._ack_waits: dict[str, asyncio.Future[Any]] = {}
        self._session = uuid.uuid4().hex[:12]
        self._ids = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._nc: Any = None
        self._js: Any = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.active = False  # set under the lock once this thread folds Pathway commits
        self._pause_until = 0.0
        self._wake: asyncio.Event | None = None
        # Set (under the lock) while the SDK's thread sleeps with nothing to do; the first mark()
        # then wakes it. Polling an empty buffer every FLUSH_INTERVAL cost a few % of a core,
        # taken from a pipeline that had nothing to show.
        self._parked = False
        # Set when sv.stop() wants everything out: a paced flush then waits no longer.
        self._hurry: asyncio.Event | None = None
        # undelivered: updates given up on without the bus acknowledging them (the server this
        # process spawned died, sv.stop() ran out of time, or they could not be encoded).
        self.stats = {"messages": 0, "updates": 0, "failed_publishes": 0, "retries": 0, "refused": 0, "undelivered": 0}
        self._gone: str | None = None  # why nothing can be delivered any more (our server died)
        # False in the processes of a pathway spawn other than process 0, which sends the configs.
        self.configs = True
        self.url = ""
        self.on_connect: Callable[[], None] | None = None
        # Called on this thread with (widget, subject, reason) the first time the bus refuses a subject.
        self.on_refused: Callable[[str, str, str], None] | None = None
        self._refused: dict[str, str] = {}  # subject -> the server's reason; never sent again
        # Called on this thread with (widget, subject, warning) when the server's reply to a config
        # carries a warning (another producer declares the same widget: docs/protocol.md §1.5).
        self.on_warning: Callable[[str, str, str], None] | None = None
        # (widget, subject, the server's reason): an update stored but refused when applied (400).
        self.on_update_refused: Callable[[str, str, str], None] | None = None
        # (widget, the exception): folding or encoding its updates raised; they are dropped.
        self.on_encode_failed: Callable[[str, BaseException], None] | None = None
        # Called on this thread with the server's --max-message-bytes, learned from a 413 answer:
        # later messages are built under it.
        self.on_limit: Callable[[int], None] | None = None
        # Called on the SDK thread with (subject, payload) of every message the bus acknowledged;
        # the fault tests use it to know exactly which updates are durable.
        self.on_ack: Callable[[str, bytes], None] | None = None

    # ---- producer side (any thread) ----

    def mark(self, w: Source) -> None:
        """Call with self.lock held after changing w's buffers."""
        self._dirty[w.id] = w
        if self._parked:
            self._parked = False
            loop, wake = self._loop, self._wake
            if loop is not None and wake is not None:
                with contextlib.suppress(RuntimeError):  # the loop is closing: sv.stop() counts what is left
                    loop.call_soon_threadsafe(wake.set)

    # ---- lifecycle (caller's thread) ----

    def connect(self, url: str, timeout: float = 10.0, credentials: Credentials | None = None) -> None:
        self.url = url
        creds = credentials or Credentials()
        loop = self._loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            # What is cut short when sv.stop() gives up (a frozen server) must not print
            # tracebacks at exit ("exception was never retrieved"): sv.stop() says what it gave up on.
            loop.set_exception_handler(_quiet)
            ready.set()
            loop.run_forever()

        self._thread = threading.Thread(target=run, name="stream_viz-publisher", daemon=True)
        self._thread.start()
        ready.wait()
        fut = asyncio.run_coroutine_threadsafe(self._connect(url, timeout, creds), self._loop)
        try:
            fut.result()  # _connect bounds itself by timeout
        except (NotAuthorizedError, ServerUnreachableError):
            self._stop_loop()
            raise
        except Exception as e:
            self._stop_loop()
            raise ServerUnreachableError(url, _reason(e)) from e

    async def _connect(self, url: str, timeout: float, creds: Credentials) -> None:
        loop = asyncio.get_running_loop()
        # Set to the error to raise when the server's answer will not change by retrying.
        fatal: asyncio.Future[StreamVizError] = loop.create_future()
        last: list[BaseException] = []

        async def on_error(e: Exception) -> None:
            log.debug("stream_viz: NATS error: %s", e)
            text = str(e).lower()
            m = _REFUSED.search(str(e))
            if m:
                self._refuse(m.group(1), str(e).removeprefix("nats: "))
            elif fatal.done():
                pass
            elif any(a in text for a in _AUTH_FAILED):
                fatal.set_result(NotAuthorizedError(url, creds.user, str(e).removeprefix("nats: ").strip("'")))
            elif isinstance(e, ssl.SSLCertVerificationError):
                fatal.set_result(ServerUnreachableError(url, f"its TLS certificate is not trusted: {e.verify_message} "
                                                             "(pass tls_ca= the CA file that signed it)"))
            else:
                last[:] = [e]

        # nats-py retries the first connection as often as later ones, forever with
        # max_reconnect_attempts=-1; a refused TCP connect is the clear answer to give,
        # and so is the server refusing the credentials.
        await _probe(url, timeout)
        nc = NATS()
        connecting = loop.create_task(nc.connect(
            url,
            name="stream_viz",
            # nats-py annotates both as int but uses them as seconds (asyncio.wait_for, sleep):
            # fractions of a second work and are what is meant.
            connect_timeout=timeout,  # type: ignore[arg-type]
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,  # type: ignore[arg-type]
            error_cb=on_error,
            reconnected_cb=self._reconnected,
            **creds.connect_options(),
        ))
        first: set[asyncio.Future[Any]] = {connecting, fatal}
        done, _ = await asyncio.wait(first, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if connecting not in done:
            connecting.cancel()
            await asyncio.gather(connecting, return_exceptions=True)
            await nc.close()
            if fatal.done():
                raise fatal.result()
            raise last[0] if last else asyncio.TimeoutError()
        connecting.result()
        self._nc = nc
        self._js = self._nc.jetstream(publish_async_max_pending=256)
        self._ack_inbox = nc.new_inbox()
        await nc.subscribe(self._ack_inbox + ".*", cb=self._on_ack)
        with self.lock:
            self.active = True
        self._wake = asyncio.Event()
        self._hurry = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._flush_loop())

    def close(self, timeout: float = 10.0) -> int:
        """Publishes what is pending (waiting up to timeout for the bus), then disconnects.

        Returns how many updates it gave up on, unacknowledged (also added to stats["undelivered"]).
        Never raises and never takes much longer than timeout, whatever the server does.
        """
        if self._loop is None:
            return 0
        deadline = time.monotonic() + max(timeout, 0.0)
        fut = asyncio.run_coroutine_threadsafe(self._close(deadline), self._loop)
        lost = 0
        try:
            lost = fut.result(max(deadline - time.monotonic(), 0.0) + 2.0)
        except BaseException as e:  # closing must not raise at exit
            fut.cancel()
            log.debug("stream_viz: close: %r", e)
        self._stop_loop(max(deadline - time.monotonic(), 0.5))
        return lost

    async def _close(self, deadline: float) -> int:
        loop = asyncio.get_running_loop()
        end = loop.time() + (deadline - time.monotonic())
        # Leave a moment of the budget for disconnecting.
        flush_end = end - min(1.0, max(end - loop.time(), 0.0) / 4)
        if self._hurry is not None:
            self._hurry.set()
        # A bus that is away may be back within the budget (a server restarting, a network blip):
        # nats-py keeps reconnecting until the connection is closed, so wait for it as for a slow
        # one. A spawned server that died is _gone, and nothing waits for it.
        while (self._dirty or self._folded or self._queued or self._inflight) and loop.time() < flush_end \
                and not self._nc.is_closed and self._gone is None:
            await asyncio.sleep(FLUSH_INTERVAL)
        self._closing = True
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        lost = self._give_up()
        # Every acknowledged message is stored: a plain close loses nothing, and unlike drain
        # it does not wait on a server that has stopped answering.
        try:
            await asyncio.wait_for(self._nc.close(), max(end - loop.time(), 0.2))
        except BaseException as e:
            log.debug("stream_viz: closing the NATS connection: %r", e)
        return lost

    def _give_up(self) -> int:
        """Counts and forgets every update not acknowledged yet (on the SDK thread)."""
        with self.lock:
            dirty = list(self._dirty.values())
            self._dirty.clear()
            taken = [(w, w._take()) for w in dirty]
        # A widget whose updates cannot be folded or encoded is counted and reported by _lost:
        # it must not cost the count of the others, nor the rest of sv.stop().
        for w, t in taken:
            try:
                w._fold(t)
            except Exception as e:
                self._lost(w.id, 0, e)
                continue
            self._folded[w.id] = w
        lost = 0
        for queue in self._queued.values():
            lost += sum(m.updates for m in queue)
        for w in self._folded.values():
            try:
                lost += sum(n for _, _, n in w._drain())
            except Exception as e:
                self._lost(w.id, 0, e)
        self._queued.clear()
        self._folded.clear()
        self._inflight.clear()
        for t in self._acks.values():
            t.cancel()
        self._acks.clear()
        self.stats["undelivered"] += lost
        return lost

    def abandon(self, reason: str) -> None:
        """Nothing can be delivered any more (the server this process spawned is gone): stop
        reconnecting, and count what is pending, and every later update, as undelivered."""
        loop = self._loop
        if loop is None or self._gone is not None:
            return
        self._gone = reason

        async def go() -> None:
            self._give_up()  # counted before abandon() returns: sv.stats() says it at once
            try:
                await asyncio.wait_for(self._nc.close(), 2)
            except BaseException as e:
                log.debug("stream_viz: closing the NATS connection: %r", e)

        try:
            fut = asyncio.run_coroutine_threadsafe(go(), loop)
        except RuntimeError:  # the loop is closing
            return
        try:
            fut.result(3)
        except BaseException as e:
            log.debug("stream_viz: abandoning the bus: %r", e)

    def settle(self) -> None:
        """After abandon(): counts what is pending now, so stats read right after are exact."""
        loop = self._loop
        if loop is None or self._gone is None:
            return

        async def count() -> None:
            self._give_up()

        try:
            asyncio.run_coroutine_threadsafe(count(), loop).result(2)
        except BaseException as e:
            log.debug("stream_viz: counting what is undelivered: %r", e)

    def _stop_loop(self, timeout: float = 5.0) -> None:
        loop = self._loop
        if loop is None:
            return

        async def cancel_all() -> None:
            # Stopping a loop with tasks pending makes asyncio complain at exit.
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.wait(tasks, timeout=max(timeout - 0.5, 0.1)) if tasks else None
            for t in tasks:
                if t.done() and not t.cancelled():
                    t.exception()  # retrieved: nothing to print at exit

        with contextlib.suppress(BaseException):
            asyncio.run_coroutine_threadsafe(cancel_all(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread:
            self._thread.join(timeout)
        if not (self._thread and self._thread.is_alive()):
            # Closed here, not by the garbage collector at exit, where closing fails loudly.
            try:
                loop.close()
            except Exception as e:
                log.debug("stream_viz: closing the event loop: %r", e)
        self._loop = None

    @property
    def connected(self) -> bool:
        return bool(self._nc and self._nc.is_connected)

    @property
    def max_payload(self) -> int:
        """The largest message the bus takes (its server's max_payload), once connected."""
        return int(self._nc.max_payload) if self._nc is not None else 1 << 20

    def pending_messages(self) -> int:
        return sum(len(q) for q in self._queued.values()) + len(self._dirty) + len(self._folded)

    def remove(self, wid: str, producer: str, timeout: float) -> dict[str, Any]:
        """Caller's thread: sends the removal of widget wid (docs/protocol.md §1.2) once every update
        of it queued before has been acknowledged, so none of them lands after it and creates the
        widget again; returns the acknowledgement, raises AckError for an error answer."""
        loop = self._loop
        if loop is None or self._nc is None:
            raise RuntimeError("not connected: call sv.start() first")
        fut = asyncio.run_coroutine_threadsafe(self._remove(wid, producer, time.monotonic() + timeout), loop)
        return fut.result(timeout + 1.0)

    def _has_pending(self, wid: str) -> bool:
        return wid in self._dirty or wid in self._folded or bool(self._queued.get(wid)) or wid in self._inflight

    async def _remove(self, wid: str, producer: str, deadline: float) -> dict[str, Any]:
        while True:
            with self.lock:
                pending = self._has_pending(wid)
            if not pending:
                break
            if time.monotonic() >= deadline:
                raise TimeoutError(f"updates of {wid!r} still waiting for the bus; nothing removed")
            if self._wake:
                self._wake.set()
            await asyncio.sleep(0.01)  # polls the SDK thread's progress, not a wait for timing
        subject = f"sv.{wid}.config"
        body: dict[str, Any] = {"remove": True}
        if producer:
            body["producer"] = producer
        msg_id = f"{self._session}-rm-{next(self._ids)}"
        # The bus drops a publish this user may not send and says so on the connection, not in an
        # answer: a removal it refused would otherwise wait out the whole timeout and then read as
        # "no answer, the widget may be gone", when the widget is certainly kept.
        if subject in self._refused:
            raise AckError(403, self._refused[subject])
        request = asyncio.ensure_future(self._nc.request(
            subject, json.dumps(body).encode(), timeout=max(deadline - time.monotonic(), 0.1),
            headers={"Nats-Msg-Id": msg_id}))
        while not request.done():
            if subject in self._refused:
                request.cancel()
                raise AckError(403, self._refused[subject])
            await asyncio.wait({request}, timeout=0.01)  # polls for the bus's refusal, not a wait for timing
        return _parse_ack(subject, request.result())

    # ---- the SDK's thread ----

    async def _flush_loop(self) -> None:
        assert self._wake is not None
        while not self._closing:
            if not (self._folded or self._queued or self._inflight or self._gone is not None):
                with self.lock:
                    self._parked = not self._dirty
            if self._parked:
                # Nothing pending: sleep until a producer marks a widget, then gather what
                # comes within FLUSH_INTERVAL, as a look at the buffers would have.
                await self._wake.wait()
                with self.lock:
                    self._parked = False
                await asyncio.sleep(FLUSH_INTERVAL)
            else:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), FLUSH_INTERVAL)
            self._wake.clear()
            try:
                commits, busy = await self._flush_once()
            except Exception:  # never let one bad batch stop the publisher
                log.exception("stream_viz: publishing failed")
                await asyncio.sleep(0.1)
                continue
            # Only the Python work counts (not awaiting the bus), and a commit split over
            # several messages goes out without a pause between its parts.
            if commits and busy > PACE_AFTER and not any(len(q) > 1 for q in self._queued.values()) \
                    and self._hurry is not None and not self._hurry.is_set():
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._hurry.wait(), min(busy * (1 / FLUSH_DUTY - 1), MAX_FLUSH_GAP))

    async def _flush_once(self) -> tuple[int, float]:
        """Publishes what is due; returns how many Pathway commits it folded and the seconds
        it spent folding and encoding."""
        started = time.perf_counter()
        if self._gone is not None:
            self._give_up()
            return 0, time.perf_counter() - started
        with collector_held():
            commits = self._fold_and_encode()
        busy = time.perf_counter() - started
        loop = asyncio.get_running_loop()
        if loop.time() < self._pause_until:
            return commits, busy
        # _send awaits, and acknowledgements arriving meanwhile may empty and
        # drop a queue: look each one up afresh.
        for wid in list(self._queued):
            if wid not in self._inflight and self._queued.get(wid):
                await self._send(wid)
        return commits, busy

    def _fold_and_encode(self) -> int:
        """Folds every dirty widget's pending updates and queues the encoded messages of those
        with nothing in flight; returns how many Pathway commits it folded. Awaits nothing."""
        with self.lock:
            dirty = list(self._dirty.values())
            self._dirty.clear()
            taken = [(w, w._take()) for w in dirty]
        # Folding goes on whatever the bus does, so buffers stay coalesced and bounded;
        # a widget with unacknowledged messages is drained only once they are through.
        commits = 0
        for w, t in taken:
            try:
                commits += w._fold(t)
            except Exception as e:  # this widget's updates only: the others' still go out
                self._lost(w.id, 0, e)
                continue
            self._folded[w.id] = w
        for wid, w in list(self._folded.items()):
            if self._queued.get(wid):
                continue
            del self._folded[wid]
            drained: list[tuple[str, Any, int]] = []
            try:
                drained = w._drain()
                msgs = [_Pending(subject, body if type(body) is bytes else dumps(body), f"{self._session}-{next(self._ids)}", n)
                        for subject, body, n in drained]
            except Exception as e:
                self._lost(wid, sum(n for _s, _b, n in drained), e)
                continue
            kept = [m for m in msgs if m.subject not in self._refused and (self.configs or not m.subject.endswith(".config"))]
            self.stats["refused"] += sum(1 for m in msgs if m.subject in self._refused)
            msgs = kept
            if msgs:
                self._queued[wid] = msgs
        return commits

    def _lost(self, wid: str, updates: int, e: BaseException) -> None:
        """Folding or encoding widget wid raised: what it had taken is dropped, counted (when its
        updates are known) and reported; a message half-encoded must not go out in part."""
        if isinstance(e, NotEncoded):
            updates, e = updates + e.updates, e.cause
        self.stats["undelivered"] += updates
        log.debug("stream_viz: dropping updates of %s that could not be encoded: %r", wid, e)
        if self.on_encode_failed is not None:
            try:
                self.on_encode_failed(wid, e)
            except Exception:  # a warnings filter set to "error": the other widgets still go out
                log.exception("stream_viz: reporting the updates of %s that could not be encoded", wid)

    async def _send(self, wid: str) -> None:
        msg = self._queued[wid][0]  # the caller checked it is there, without awaiting since
        self._inflight.add(wid)
        fut: asyncio.Future[Any]
        try:
            if msg.subject.endswith(".config"):
                # Configs are few: a plain request shows the whole reply, warnings included.
                fut = asyncio.ensure_future(self._request_config(msg))
            else:
                fut = await self._publish(msg)
        except MaxPayloadError:
            # Larger than the bus takes (a row with a cell of megabytes): no retry can send it,
            # and retried it held every later update of the widget behind it for good. Refused
            # as the server refuses an update it cannot apply, so the widget's next ones go.
            fut = asyncio.get_running_loop().create_future()
            fut.set_exception(AckError(400, f"message of {len(msg.payload):,} bytes: more than the bus takes "
                                            f"({self._nc.max_payload:,} bytes: its max_payload, which streamviz serve "
                                            "--max-message-bytes sets for the embedded bus)"))
        except Exception as e:  # not connected, ...
            self._failed(wid, e)
            return
        self._acks[wid] = asyncio.get_running_loop().create_task(self._await_ack(wid, msg, fut))

    async def _publish(self, msg: _Pending) -> asyncio.Future[Any]:
        """Publishes msg with a reply subject of its own under this connection's acknowledgement
        inbox; the future gets the answer (_on_ack), and forgets it once done or cancelled."""
        token = str(next(self._ids))
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._ack_waits[token] = fut
        try:
            await self._nc.publish(msg.subject, msg.payload, reply=f"{self._ack_inbox}.{token}",
                                   headers={"Nats-Msg-Id": msg.msg_id})
        except BaseException:
            del self._ack_waits[token]
            raise
        fut.add_done_callback(lambda _f: self._ack_waits.pop(token, None))
        return fut

    async def _on_ack(self, msg: Any) -> None:
        fut = self._ack_waits.pop(msg.subject[len(self._ack_inbox) + 1:], None)
        if fut is not None and not fut.done():
            fut.set_result(msg)

    async def _request_config(self, msg: _Pending) -> None:
        """Publishes a config as a request: its reply is a publish acknowledgement (an error
        raises), which may carry a "warning" the server wants this producer to hear."""
        reply = await self._nc.request(msg.subject, msg.payload, timeout=ACK_TIMEOUT, headers={"Nats-Msg-Id": msg.msg_id})
        body = _parse_ack(msg.subject, reply)
        warning = body.get("warning")
        if isinstance(warning, str) and warning and self.on_warning is not None:
            parts = msg.subject.split(".")
            self.on_warning(parts[1] if len(parts) == 3 else msg.subject, msg.subject, warning)

    async def _await_ack(self, wid: str, msg: _Pending, fut: asyncio.Future[Any]) -> None:
        try:
            reply = await asyncio.wait_for(fut, ACK_TIMEOUT)
            if reply is not None:  # a data message's answer (a config's was read by its request)
                _parse_ack(msg.subject, reply)
        except BaseException as e:  # timeout, no responders, an error answer, cancelled at close or on a reconnect
            self._forget_ack(wid)
            # 400: stored but not applied (a limit, the widget's type; docs/protocol.md §1); 413: larger
            # than the server takes (serve --max-message-bytes). Resending cannot help either: retried,
            # a 413 held every later update of the widget behind it for good.
            if getattr(e, "code", None) not in (400, 413):
                if not msg.refused:  # a refused message is already dropped
                    self._failed(wid, e)
                return
            if getattr(e, "code", None) == 413 and not msg.refused and self._split(wid, msg, getattr(e, "description", "")):
                return
            self.stats["refused"] += 1
            msg.refused = True
            if self.on_update_refused is not None:
                try:
                    self.on_update_refused(wid, msg.subject, getattr(e, "description", "") or str(e))
                except Exception:  # a warnings filter set to "error": the refusal is still handled below
                    log.exception("stream_viz: reporting the refusal of an update of %s", wid)
        self._forget_ack(wid)
        queue = self._queued.get(wid)
        if queue and queue[0] is msg:
            queue.pop(0)
            if not queue:
                del self._queued[wid]
        self._inflight.discard(wid)
        self.stats["messages"] += 1
        self.stats["updates"] += msg.updates
        if self.on_ack is not None and not msg.refused:
            self.on_ack(msg.subject, msg.payload)
        if self._queued.get(wid) and self._wake:
            self._wake.set()

    def _split(self, wid: str, msg: _Pending, description: str) -> bool:
        """The server refused msg as larger than it takes (413; its --max-message-bytes may be far
        below what the SDK builds messages up to, and the embedded bus, larger on purpose, does not
        tell): when msg holds several updates, they take its place in its widget's queue as smaller
        messages, in order, each with a Msg-Id of its own derived from msg's (msg was not stored, so
        no part can be taken for it), and go before anything newer of the widget. Later messages
        are built under the limit the answer names. False when msg is a single update: it alone is
        over the limit and is refused."""
        limit = server_limit(description)
        if limit is not None and self.on_limit is not None:
            try:
                self.on_limit(limit)
            except Exception:
                log.exception("stream_viz: fitting messages to the server's limit of %d bytes", limit)
        parts = split_message(msg.payload, limit if limit is not None else len(msg.payload) - 1)
        queue = self._queued.get(wid)
        if not parts or len(parts) < 2 or not queue or queue[0] is not msg:
            return False
        log.debug("stream_viz: %s: a message of %d bytes over the server's limit (%s) goes again as %d",
                  wid, len(msg.payload), limit, len(parts))
        queue[:1] = [_Pending(msg.subject, payload, f"{msg.msg_id}.{i}", n) for i, (payload, n) in enumerate(parts)]
        self._inflight.discard(wid)
        if self._wake:
            self._wake.set()
        return True

    def _refuse(self, subject: str, reason: str) -> None:
        """The server dropped a publish to subject: drop what waits for it, and send it nothing more.

        Permissions do not change while a server runs, so retrying would only hold the widget's
        later updates (and sv.stop()) behind a message that can never be stored.
        """
        first = subject not in self._refused
        self._refused[subject] = reason
        parts = subject.split(".")
        widget = parts[1] if len(parts) == 3 and parts[0] == "sv" else subject
        # Warned (and listed in sv.stats()["errors"]) before it is counted: whoever sees
        # refused_publishes grow, on any thread, finds the reason already there.
        if first and self.on_refused is not None:
            try:
                self.on_refused(widget, subject, reason)
            except Exception:  # a warnings filter set to "error": the refusal is still handled below
                log.exception("stream_viz: reporting the refusal of %s", subject)
        for wid, queue in list(self._queued.items()):
            if queue[0].subject == subject:
                self._inflight.discard(wid)  # the head is the one in flight
            kept = [m for m in queue if m.subject != subject]
            for m in queue:
                if m.subject == subject:
                    m.refused = True
                    self.stats["refused"] += 1
            if len(kept) != len(queue):
                if kept:
                    self._queued[wid] = kept
                else:
                    del self._queued[wid]
        if self._wake:
            self._wake.set()

    def _forget_ack(self, wid: str) -> None:
        # Only this wait's own entry: after a refusal a newer message of wid may be in flight.
        if self._acks.get(wid) is asyncio.current_task():
            del self._acks[wid]

    async def _reconnected(self) -> None:
        # A message sent to the server that went away gets no acknowledgement from the new one:
        # send it again now (the server deduplicates its Msg-Id if it was stored) instead of
        # waiting out ACK_TIMEOUT.
        waiting = list(self._acks.values())
        for t in waiting:
            t.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)
        self._pause_until = 0.0
        if self._wake:
            self._wake.set()

    def _failed(self, wid: str, e: BaseException) -> None:
        # The message stays first in its widget's queue and goes again, with
        # its Msg-Id, on a later pass; newer updates wait behind it.
        self._inflight.discard(wid)
        if self._loop is not None:
            # Back off instead of spinning while the bus is away.
            self._pause_until = self._loop.time() + 0.5
        self.stats["failed_publishes"] += 1
        self.stats["retries"] += 1
        log.debug("stream_viz: publish to %s failed (%r); will retry", wid, e)


async def _probe(url: str, timeout: float) -> None:
    """Raises OSError naming why the first server of url does not take TCP connections."""
    from urllib.parse import urlsplit

    first = url.split(",")[0].strip()
    if "://" not in first:
        first = "nats://" + first
    parts = urlsplit(first)
    host, port = parts.hostname or "127.0.0.1", parts.port or 4222
    _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    writer.close()


def _quiet(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    log.debug("stream_viz: %s: %r", context.get("message"), context.get("exception"))


def _reason(e: BaseException) -> str:
    if isinstance(e, (asyncio.TimeoutError, TimeoutError)):
        return "no answer within the connect timeout"
    text = str(e).strip()
    return f"{type(e).__name__}: {text}" if text else type(e).__name__
