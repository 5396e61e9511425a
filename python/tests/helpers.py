"""Shared pieces of the SDK tests: deadline polling, the HTTP API, a real WebSocket client that
applies the protocol (docs/protocol.md §2) to its own copy of the dashboard, and process checks.

No mocks: everything here talks to a really spawned `streamviz` over the network.
"""

from __future__ import annotations

import array
import base64
import contextlib
import copy
import json
import math
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import websockets.sync.client

import stream_viz as sv

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


# ---------------------------------------------------------------- waiting

# A wait's shortest bound: only a failing test reaches it, and a loaded 2-core CI machine (Chromium,
# Pathway, the server and the test on it) can take many seconds for what takes one when quiet.
MIN_WAIT = 60.0


def wait_until(cond: Callable[[], Any], timeout: float = 15.0, what: str = "the condition", interval: float = 0.02) -> Any:
    """Polls cond until it returns something truthy (returned) or the deadline passes (AssertionError).

    Exceptions raised by cond count as "not yet"; the last one is reported. timeout is at least MIN_WAIT.
    """
    timeout = max(timeout, MIN_WAIT)
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            got = cond()
            if got:
                return got
            last = got
        except Exception as e:
            last = e
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")
        time.sleep(interval)


# ---------------------------------------------------------------- HTTP


def http_base() -> str:
    url = sv._D.http_url
    assert url, "stream_viz is not running a local server"
    return url.rstrip("/")


def get_json(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.load(r)


def api_widget(wid: str, base: str | None = None) -> dict | None:
    """GET /api/widgets/{wid}: {"config", "state"}, or None while it is unknown (404)."""
    try:
        return get_json(f"{base or http_base()}/api/widgets/{wid}")
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise


def api_widgets(base: str | None = None) -> list[dict]:
    return get_json(f"{base or http_base()}/api/widgets")


def wait_widget(wid: str, pred: Callable[[dict], Any], timeout: float = 15.0, base: str | None = None) -> dict:
    """Polls /api/widgets/{wid} until pred(widget) holds; returns the widget."""
    box: dict = {}

    def check() -> Any:
        w = api_widget(wid, base)
        box["last"] = w
        return w if w is not None and pred(w) else None

    try:
        return wait_until(check, timeout, f"widget {wid!r}")
    except AssertionError as e:
        raise AssertionError(f"{e}\nlast /api/widgets/{wid}: {json.dumps(box.get('last'))[:4000]}") from None


def wait_state(wid: str, expected: Any, timeout: float = 15.0, base: str | None = None, key: Callable[[dict], Any] | None = None) -> dict:
    """Waits until key(state) (default: the state) equals expected."""
    key = key or (lambda st: st)
    return wait_widget(wid, lambda w: key(w["state"]) == expected, timeout, base)


def rows_of(w: dict | None) -> dict:
    return ((w or {}).get("state") or {}).get("rows") or {}


# ---------------------------------------------------------------- WebSocket client


class DashClient:
    """A browser stand-in: a real WebSocket on /ws that applies every event like the page does.

    history holds, after each server message (one JSON array), a deep copy of the widgets that
    message touched, so tests can check every state a browser could have shown.
    """

    def __init__(self, base: str | None = None, widget: str | None = None):
        base = base or http_base()
        self.url = base.replace("http://", "ws://") + "/ws" + (f"?widget={widget}" if widget else "")
        self.ws: Any = None
        self.widgets: dict[str, dict] = {}
        self.title: str | None = None
        self.messages: list[list[dict]] = []
        self.history: list[tuple[int, dict[str, dict]]] = []  # (message index, {id: copy of widget})
        self.event_states: list[tuple[str, Any]] = []  # (widget id, copy of its state) after each data/config event
        self.seq = 0
        self.errors: list[str] = []
        self.cond = threading.Condition()
        self.closed = False
        self._opened = threading.Event()
        self._open_error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="dash-client", daemon=True)
        self.thread.start()
        self._opened.wait(15)
        if self._open_error is not None:
            raise self._open_error
        assert self.ws is not None, f"could not open {self.url}"

    # -- reading

    def _run(self) -> None:
        try:
            with websockets.sync.client.connect(self.url, open_timeout=10, max_size=64 * 2**20) as ws:
                self.ws = ws
                self._opened.set()
                for raw in ws:
                    self._on_message(raw)
        except Exception as e:
            if self.ws is None:
                self._open_error = e
            elif not self.closed:
                self.errors.append(f"socket ended: {e!r}")
        finally:
            self._opened.set()
            with self.cond:
                self.closed = True
                self.cond.notify_all()

    def _on_message(self, raw: str | bytes) -> None:
        events = json.loads(raw)
        with self.cond:
            if not isinstance(events, list):
                self.errors.append(f"a server message is not a JSON array: {raw[:200]!r}")
                return
            self.messages.append(events)
            touched: set[str] = set()
            for ev in events:
                try:
                    changed = self._apply(ev)
                except Exception as e:
                    self.errors.append(f"cannot apply {ev!r}: {e!r}")
                    continue
                touched |= changed
                if ev.get("type") in ("data", "config") and ev.get("id") in changed:
                    self.event_states.append((ev["id"], copy.deepcopy(self.widgets[ev["id"]]["state"])))
            self.history.append((len(self.messages) - 1, {w: copy.deepcopy(self.widgets[w]) for w in touched if w in self.widgets}))
            self.cond.notify_all()

    def _apply(self, ev: dict) -> set[str]:
        t = ev["type"]
        if t == "snapshot":
            self.widgets = {w["id"]: {"config": w["config"], "state": w["state"]} for w in ev["widgets"]}
            self.title = ev.get("title")
            self.seq = ev["seq"]
            return set(self.widgets)
        if t == "resumed":
            return set()
        if ev["seq"] <= self.seq:
            return set()  # duplicate
        self.seq = ev["seq"]
        if t == "title":
            self.title = ev["title"]
            return set()
        if t in ("config", "data"):
            return fold_event(self.widgets, ev)
        self.errors.append(f"unknown event type {t!r}")
        return set()

    # -- waiting

    def wait_for(self, pred: Callable[[DashClient], Any], timeout: float = 15.0, what: str = "the client state") -> Any:
        deadline = time.monotonic() + max(timeout, MIN_WAIT)
        with self.cond:
            while True:
                got = pred(self)
                if got:
                    return got
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    raise AssertionError(f"WebSocket client: timed out waiting for {what}; widgets: "
                                         f"{json.dumps(self.widgets)[:3000]}; errors: {self.errors}")
                self.cond.wait(min(left, 0.5))

    def state(self, wid: str) -> Any:
        w = self.widgets.get(wid)
        return None if w is None else w["state"]

    def rows(self, wid: str) -> dict:
        return (self.state(wid) or {}).get("rows") or {}

    def data_events(self, wid: str) -> list[dict]:
        with self.cond:
            return [ev for msg in self.messages for ev in msg if ev.get("type") == "data" and ev.get("id") == wid]

    def states_of(self, wid: str) -> list[dict]:
        """Every state of wid the client held after a message (what a page renders), in order."""
        with self.cond:
            return [ws[wid]["state"] for _, ws in self.history if wid in ws]

    def event_states_of(self, wid: str) -> list[dict]:
        """The state of wid after each of its events: finer than states_of, since the server may
        put several events in one message, and a page renders between messages."""
        with self.cond:
            return [st for w, st in self.event_states if w == wid]

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(Exception):
            self.ws.close()
        self.thread.join(5)


def fold_event(widgets: dict[str, dict], ev: dict) -> set[str]:
    """Applies a config or data event (protocol §2.2) to widgets ({id: {"config", "state"}}) like the
    browser; returns the ids it changed. testdata/protocol pins it to the server's fold."""
    wid = ev["id"]
    if ev["type"] == "config":
        # The event carries the whole state after the change.
        widgets[wid] = {"config": ev["config"], "state": ev["state"]}
    else:
        apply_data(widgets[wid], ev["data"])
    return {wid}


def cols_points(cols: dict) -> list[list]:
    """A data event's "cols" (protocol §2.2) as [x, y] points, y None for a gap."""
    xs, ys = array.array("d"), array.array("d")
    xs.frombytes(base64.b64decode(cols["x"]))
    ys.frombytes(base64.b64decode(cols["y"]))
    assert len(xs) == len(ys) == cols["n"], cols
    if sys.byteorder != "little":
        xs.byteswap()
        ys.byteswap()
    # Floats compare equal to the ints JSON gives for whole numbers: [3.0, 1.5] == [3, 1.5].
    return [[x, None if y != y else y] for x, y in zip(xs, ys, strict=True)]


def apply_data(w: dict, d: dict) -> None:
    """Applies one normalized data event (protocol §2.2) to {"config", "state"} like the browser."""
    cfg = w["config"]
    typ = cfg["type"]
    st = w["state"]
    if typ in ("stat", "gauge"):
        if st is None:
            st = w["state"] = {"value": None, "prev": None, "ts": None}
        st["prev"] = d["prev"] if "prev" in d else st.get("value")  # the widget's, when the event says
        st["value"] = d.get("value")
        st["ts"] = d.get("ts")
    elif typ == "table":
        if st is None:
            st = w["state"] = {"rows": {}}
        rows = st.setdefault("rows", {})
        if "refused" in d:  # the table's count of keys its row limit left out (protocol §1.3)
            if d["refused"]:
                st["refused"] = d["refused"]
            else:
                st.pop("refused", None)
        for op in d["ops"]:
            if op.get("delete"):
                rows.pop(op["key"], None)
            else:
                rows[op["key"]] = op["row"]
    elif typ == "chart":
        if st is None:
            st = w["state"] = {"points": []}
        name = d.get("series") or ""
        pts = st.setdefault("series", {}).setdefault(name, []) if name else st.setdefault("points", [])
        rm = set(d.get("remove") or [])
        if rm:
            pts[:] = [p for p in pts if p[0] not in rm]
        category = cfg.get("x_type") == "category"
        if "cols" in d:  # columnar (protocol §1.7, §2.2): base64 float64 columns, NaN y a gap
            pts.extend(cols_points(d["cols"]))
        for p in d.get("points") or []:
            if d.get("mode") == "upsert":
                same = [i for i, q in enumerate(pts) if q[0] == p[0]]
                if same:
                    pts[same[-1]] = list(p)
                    continue
                if category:  # a new category goes after the others
                    pts.append(list(p))
                    continue
                at = 0
                for i, q in enumerate(pts):
                    if q[0] <= p[0]:
                        at = i + 1
                pts.insert(at, list(p))
            else:
                pts.append(list(p))
        limit = cfg.get("max_points") or 1000
        if len(pts) > limit:
            del pts[: len(pts) - limit]
        if name and not pts:
            st["series"].pop(name, None)
            if not st["series"]:
                st.pop("series")
    else:
        raise ValueError(f"unknown widget type {typ!r}")
    as_of = d.get("as_of")  # the latest wins, as on the server (protocol §1.3)
    if as_of is not None and (w["state"].get("as_of") is None or as_of > w["state"]["as_of"]):
        w["state"]["as_of"] = as_of


# ---------------------------------------------------------------- values


def plain(v: Any) -> Any:
    """numpy/pandas scalars -> Python, NaN -> None: how a Pathway value looks after JSON."""
    if hasattr(v, "item") and type(v).__module__.startswith("numpy"):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def pandas_rows(df, key: str | None = None) -> dict[str, dict]:
    """pw.debug.table_to_pandas output as the dashboard's table rows: {key: {column: value}}."""
    out = {}
    for idx, rec in df.to_dict(orient="index").items():
        row = {c: plain(v) for c, v in rec.items()}
        k = str(row[key]) if key is not None else str(idx)
        out[k] = row
    return out


def points_xy(points: list) -> list[tuple[float, Any]]:
    return [(float(x), y) for x, y in points]


# ---------------------------------------------------------------- processes


def proc_state(pid: int) -> str | None:
    """The one-letter state of pid from /proc (None when it does not exist)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def alive(pid: int) -> bool:
    s = proc_state(pid)
    return s is not None and s not in ("Z", "X")


def child_servers(parent: int | None = None) -> list[int]:
    """Live streamviz processes whose parent is this process (or parent)."""
    parent = os.getpid() if parent is None else parent
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        if comm == "streamviz" and int(fields[1]) == parent and fields[0] not in ("Z", "X"):
            found.append(int(name))
    return found


class Unprintable:
    """A cell neither the JSON encoder nor str() can take."""

    def __str__(self) -> str:
        raise RuntimeError("no text for this cell")

    __repr__ = __str__
