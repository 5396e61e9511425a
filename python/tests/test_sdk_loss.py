"""Issue 11, the SDK publisher kind: every update the SDK is given, as fast as one thread gives it,
reaches the server's state (GET /api/widgets) and a WebSocket client, exactly once and in order.

This is the quick mode CI runs; `make bench` runs the full sizes (bench/py/sdk.py, which counts
the same way at 1M .send() calls and 10M extend() points). Nothing here depends on timing: the
client is connected before the first update and the checks wait on the counts themselves. The
sizes keep everything sent under the server's 8 MiB slow-socket bound, so even a client that the
loaded machine lets read nothing until the end is never cut off.
"""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import websockets.sync.client
from helpers import api_widget, api_widgets, cols_points, http_base, wait_until

import stream_viz as sv

CHARTS = 10
SENDS = 60_000  # .send() calls, round robin over the send charts
EXTEND_POINTS = 60_000  # points given to extend(), in chunks, round robin over the extend charts
CHUNK = 2_000
ROWS = 5_000  # table rows given to send_many(), each with its own key
T0 = 1_767_225_600_000


class Counter:
    """A WebSocket client that keeps every chart point and table row it is sent, per widget."""

    def __init__(self, base: str):
        self.points: dict[str, list[list]] = {}
        self.columnar: dict[str, int] = {}  # points that came in columnar events (protocol §2.2 "cols")
        self.rows: dict[str, dict] = {}
        self.errors: list[str] = []
        self.cond = threading.Condition()
        self.url = base.replace("http://", "ws://") + "/ws"
        self.ws = None
        self.opened = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.opened.wait(30) and self.ws is not None, f"could not open {self.url}: {self.errors}"

    def _run(self) -> None:
        try:
            with websockets.sync.client.connect(self.url, max_size=2**30) as ws:
                self.ws = ws
                self.opened.set()
                for raw in ws:
                    self._apply(json.loads(raw))
        except Exception as e:
            self.errors.append(repr(e))
        finally:
            self.opened.set()
            with self.cond:
                self.errors.append("socket closed")
                self.cond.notify_all()

    def _take(self, wid: str, state: dict | None) -> None:
        state = state or {}
        if "rows" in state:
            self.rows[wid] = dict(state["rows"])
        elif state.get("points") is not None:
            self.points[wid] = list(state["points"])

    def _apply(self, events: list[dict]) -> None:
        with self.cond:
            for ev in events:
                t = ev.get("type")
                if t == "snapshot":
                    for w in ev["widgets"]:
                        self._take(w["id"], w["state"])
                elif t == "config":
                    self._take(ev["id"], ev.get("state"))
                elif t == "data":
                    d = ev["data"]
                    if "ops" in d:
                        rows = self.rows.setdefault(ev["id"], {})
                        for op in d["ops"]:
                            if op.get("delete"):
                                rows.pop(op["key"], None)
                            else:
                                rows[op["key"]] = op["row"]
                    else:
                        assert d.get("mode", "append") == "append" and not d.get("series"), d
                        pts = d["points"] if "cols" not in d else cols_points(d["cols"])
                        if "cols" in d:
                            self.columnar[ev["id"]] = self.columnar.get(ev["id"], 0) + len(pts)
                        self.points.setdefault(ev["id"], []).extend(pts)
            self.cond.notify_all()

    def wait(self, pred, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not pred():
                left = deadline - time.monotonic()
                assert left > 0 and "socket closed" not in self.errors, f"WebSocket client: {what}; errors {self.errors}"
                self.cond.wait(min(left, 0.5))

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()
        self.thread.join(5)


def test_every_update_the_sdk_is_given_reaches_the_state_and_a_websocket_client_once_and_in_order():
    send_charts = [sv.chart(f"s{k}", max_points=100_000) for k in range(CHARTS)]
    extend_charts = [sv.chart(f"e{k}", max_points=100_000) for k in range(CHARTS)]
    table = sv.table("rows", key="k")
    sv.start(port=0)
    wait_until(lambda: len(api_widgets()) == 2 * CHARTS + 1, 30, "every widget's config")
    client = Counter(http_base())
    try:
        want: dict[str, list[list]] = {c.id: [] for c in send_charts + extend_charts}
        t0 = time.perf_counter()
        for i in range(SENDS):
            c = send_charts[i % CHARTS]
            c.send(i * 0.5, timestamp=T0 + i)
        sent = time.perf_counter() - t0
        for i in range(SENDS):
            want[f"s{i % CHARTS}"].append([T0 + i, i * 0.5])
        rng = np.random.default_rng(7)
        for j, start in enumerate(range(0, EXTEND_POINTS, CHUNK)):
            xs = np.arange(start, start + CHUNK, dtype=np.int64) + T0
            ys = rng.random(CHUNK)
            ys[::97] = np.nan  # gaps travel too
            # Every kind of column the bulk path takes: numpy, pandas, Arrow, lists (None a gap).
            kind = j % 4
            if kind == 1:
                extend_charts[j % CHARTS].extend(pd.Series(xs), pd.Series(ys))
            elif kind == 2:
                extend_charts[j % CHARTS].extend(pa.array(xs), pa.array(ys, from_pandas=True))
            elif kind == 3:
                extend_charts[j % CHARTS].extend(xs.tolist(), [None if y != y else y for y in ys.tolist()])
            else:
                extend_charts[j % CHARTS].extend(xs, ys)
            want[f"e{j % CHARTS}"] += [[x, None if y != y else y] for x, y in zip(xs.tolist(), ys.tolist(), strict=True)]
        keys = np.arange(ROWS)
        for start in range(0, ROWS, 1_000):
            part = keys[start : start + 1_000]
            table.send_many(pd.DataFrame({"k": part, "v": part * 2}))
        want_rows = {str(k): {"k": k, "v": 2 * k} for k in range(ROWS)}
        total = SENDS + EXTEND_POINTS + ROWS
        print(f".send(): {SENDS / sent:,.0f}/s from one thread with a WebSocket client in the same process")

        wait_until(lambda: sv.stats()["published_updates"] == total, 120, "the bus to acknowledge every update")
        st = sv.stats()
        assert (st["dropped_points"], st["undelivered_updates"], st["failed_publishes"] >= 0) == (0, 0, True), st

        state = {wid: api_widget(wid)["state"] for wid in [*want, "rows"]}
        for wid, pts in want.items():
            got = state[wid]["points"]
            assert len(got) == len(pts) and got == pts, f"{wid}: {len(got)} points in the server's state, {len(pts)} sent"
        assert state["rows"]["rows"] == want_rows

        client.wait(lambda: all(len(client.points.get(w, [])) >= len(p) for w, p in want.items())
                    and len(client.rows.get("rows", {})) >= ROWS, 120, "every point and row at the socket")
        for wid, pts in want.items():
            assert client.points[wid] == pts, f"{wid}: the socket saw {len(client.points[wid])} points, {len(pts)} sent"
        # Numbers went the columnar way (protocol §1.7) end to end, from extend() and .send() alike.
        for c in extend_charts + send_charts:
            assert client.columnar.get(c.id) == len(want[c.id]), (c.id, client.columnar.get(c.id))
        assert client.rows["rows"] == want_rows
    finally:
        client.close()
