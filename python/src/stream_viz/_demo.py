"""The demos behind `python -m stream_viz demo`."""

from __future__ import annotations

import datetime
import importlib.util
import logging
import math
import os
import random
import signal
import sys
import tempfile
import threading
import time
from typing import Any

import stream_viz as sv

REGIONS = ["eu-west", "eu-north", "us-east", "us-west", "apac", "latam"]


def run_demo(port: int | None, manual: bool, seconds: float | None, theme: str | dict[str, Any] | None = None) -> int:
    if theme is not None:
        # Checked before anything starts: a bad theme is an error naming the key, not a demo without it.
        sv.configure(theme=theme)
    if importlib.util.find_spec("pathway") is None:
        if not manual:
            print("Pathway is not installed: running the manual-mode demo. "
                  "For the Pathway demo: pip install 'stream-viz[pathway]'", file=sys.stderr)
        manual = True
    if manual:
        return _manual(port, seconds)
    return _pathway(port, seconds)


def _manual(port: int | None, seconds: float | None) -> int:
    sv.title("StreamViz demo (manual mode)")
    revenue = sv.stat("revenue", title="Revenue", unit="$", format=",.0f")
    load = sv.gauge("load", title="Checkout load", unit="%", thresholds=[(50, "#22c55e"), (80, "#eab308"), (100, "#ef4444")])
    rate = sv.chart("orders_per_sec", title="Orders per second", max_points=600)
    regions = sv.table("regions", title="Orders by region", key="region", sort_by="revenue",
                       column_format={"revenue": ",.0f"})
    sv.start(port)
    stop = _stop_event(seconds)
    status = _Status("manual mode")
    status.show()
    total, level, per_region = 0.0, 40.0, {r: [0, 0.0] for r in REGIONS}
    n = 0
    while not stop.wait(0.2):
        n += 1
        count = random.randint(1, int(20 * (1 + 0.5 * math.sin(n / 25))))
        for _ in range(count):
            r = random.choice(REGIONS)
            amount = 20 + random.expovariate(1 / 40)
            per_region[r][0] += 1
            per_region[r][1] += amount
            total += amount
        status.add(count, total)
        for r, (orders, rev) in per_region.items():
            regions.send({"region": r, "orders": orders, "revenue": rev})
        level = max(0.0, min(100.0, level + random.gauss(0, 4) + (50 - level) * 0.05))
        revenue.send(total)
        load.send(level)
        rate.send(count * 5)
    status.end()
    sv.stop()
    return 0


def _pathway(port: int | None, seconds: float | None) -> int:
    import pathway as pw

    # Built from types, not a class body: annotations in this module are strings (PEP 563)
    # and `pw` is local to this function.
    orders_schema = pw.schema_from_types(region=str, amount=float, at=pw.DateTimeUtc)

    # Signal handlers can only be installed on the main thread, not the connector's.
    stop = _stop_event(seconds)

    # Pathway logs each connector's progress at INFO, a line a second or more: into a file, so
    # the terminal keeps the URL and one status line.
    log_path = os.path.join(tempfile.gettempdir(), f"streamviz-demo-{os.getpid()}.log")
    logging.basicConfig(filename=log_path, level=logging.INFO, format="[%(asctime)s]:%(levelname)s:%(message)s", force=True)
    status = _Status(f"Pathway log: {log_path}")

    class Synthetic(pw.io.python.ConnectorSubject):
        def run(self) -> None:
            n, total = 0, 0.0
            while not stop.is_set():
                n += 1
                count = random.randint(1, int(20 * (1 + 0.5 * math.sin(n / 25))))
                for _ in range(count):
                    amount = 20 + random.expovariate(1 / 40)
                    total += amount
                    self.next(region=random.choice(REGIONS), amount=amount, at=_utcnow())
                self.commit()
                status.add(count, total)
                stop.wait(0.2)

    orders = pw.io.python.read(Synthetic(), schema=orders_schema, autocommit_duration_ms=200)
    by_region = orders.groupby(pw.this.region).reduce(
        pw.this.region,
        orders=pw.reducers.count(),
        revenue=pw.reducers.sum(pw.this.amount),
        avg_basket=pw.reducers.avg(pw.this.amount),
    )
    totals = orders.reduce(revenue=pw.reducers.sum(pw.this.amount), avg_basket=pw.reducers.avg(pw.this.amount))
    per_window = orders.windowby(pw.this.at, window=pw.temporal.tumbling(duration=_seconds(2))).reduce(
        window_start=pw.this._pw_window_start,
        orders=pw.reducers.count(),
    )

    sv.title("StreamViz demo: Pathway orders")
    sv.table(by_region, title="Orders by region", id="regions", sort_by="revenue",
             column_format={"revenue": ",.0f", "avg_basket": ".2f"})
    sv.stat(totals, "revenue", id="revenue", title="Revenue", unit="$", format=",.0f")
    sv.gauge(totals, "avg_basket", id="avg_basket", title="Average basket", unit="$", min_val=0, max_val=120,
             thresholds=[(40, "#eab308"), (80, "#22c55e"), (120, "#3b82f6")])
    sv.chart(per_window, "orders", x_column="window_start", id="orders_per_window", title="Orders per 2 s window",
             chart_type="bar", max_points=300)
    sv.start(port)
    status.show()
    pw.run(monitoring_level=pw.MonitoringLevel.NONE, default_logging=False)
    status.end()
    sv.stop()
    return 0


class _Status:
    """The demo's one status line: rewritten in place on a terminal, else printed at start and end."""

    def __init__(self, note: str):
        self.note = note
        self.orders, self.revenue = 0, 0.0
        self.started = time.monotonic()
        self.tty = sys.stderr.isatty()
        self.done = threading.Event()
        self.lock = threading.Lock()
        if self.tty:
            threading.Thread(target=self._refresh, name="demo-status", daemon=True).start()

    def add(self, orders: int, revenue: float) -> None:
        with self.lock:
            self.orders += orders
            self.revenue = revenue

    def line(self) -> str:
        with self.lock:
            return (f"demo running {time.monotonic() - self.started:.0f}s: {self.orders:,} orders, ${self.revenue:,.0f} revenue; "
                    f"{self.note}; Ctrl-C to stop")

    def show(self) -> None:
        if not self.tty:
            print(self.line(), file=sys.stderr, flush=True)

    def _refresh(self) -> None:
        while not self.done.wait(1.0):
            print("\r\033[K" + self.line(), end="", file=sys.stderr, flush=True)

    def end(self) -> None:
        self.done.set()
        text = self.line().replace("demo running", "demo stopped after").replace("; Ctrl-C to stop", "")
        print(("\r\033[K" if self.tty else "") + text, file=sys.stderr, flush=True)


def _seconds(n: float) -> datetime.timedelta:
    return datetime.timedelta(seconds=n)


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _stop_event(seconds: float | None) -> threading.Event:
    stop = threading.Event()
    if seconds is not None:
        timer = threading.Timer(seconds, stop.set)
        timer.daemon = True  # Ctrl-C must not wait for it
        timer.start()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    return stop
