"""The four widgets: their options, their manual .send(), and their pending buffers."""

from __future__ import annotations

import collections
import itertools
import os
import re
import sys
import time
from typing import TYPE_CHECKING, Any, ClassVar

from ._bulk import (
    BadColumn,
    Block,
    Columns,
    TableBlock,
    TableColumns,
    _BadText,
    _typed_column,
    encode_appends,
    loaded_numpy,
    rows_of,
    series_columns,
    table_block,
    xs_column,
    ys_column,
)
from ._encode import NotEncoded, _fast, dumps, key_text, number, time_ms
from ._errors import InvalidOptionError, NotNumericError, UnknownColumnError, WidgetRemovedError

if TYPE_CHECKING:
    from ._dashboard import Dashboard

ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CHART_TYPES = ("line", "area", "bar", "scatter", "stacked_bar", "stacked_area")
MAX_CHART_BUFFER = 200_000  # chart points held per widget while the bus is slow or away
POINTS_PER_MESSAGE = 20_000
# Pathway's times from here on are no times of the data: the end of a finite stream (2**64 - 2).
PATHWAY_END_OF_STREAM = 2**63
MAX_MESSAGE_BYTES = 900 * 1024  # under NATS's default 1 MiB payload, with room for headers
_DEFAULT_MESSAGE_BYTES = _CALL_LIMIT = MAX_MESSAGE_BYTES


def fit_messages_to(max_payload: int) -> None:
    """Builds messages under the payload limit of the bus just joined: an external NATS server's
    max_payload (or `streamviz serve --max-message-bytes`) may be far below 1 MiB, and a message
    over it is refused whole by the client, every update in it with it, where smaller ones go."""
    global MAX_MESSAGE_BYTES, _CALL_LIMIT
    # Room for the headers (Nats-Msg-Id) and the reply subject, which count against the limit.
    MAX_MESSAGE_BYTES = _CALL_LIMIT = min(_DEFAULT_MESSAGE_BYTES, max(max_payload - 1024, max_payload // 2))


def fit_messages_to_server(limit: int) -> None:
    """Builds messages under the server's own limit (`streamviz serve --max-message-bytes`), learned
    from its 413 answer: the embedded bus takes larger payloads on purpose, so the bus alone never
    tells. Only the size messages are built to changes; send_many() still refuses only a row that
    no message to the bus could hold, so what a call accepts does not depend on when the limit was
    learned (a row over the server's limit is refused by it alone, and warned)."""
    global MAX_MESSAGE_BYTES
    # Room for the "as_of" added to a message once built.
    MAX_MESSAGE_BYTES = max(256, min(MAX_MESSAGE_BYTES, limit - 64))


def _call_limit() -> int:
    """What send_many() checks a row against at the call: the bus's limit, not the server's."""
    return _CALL_LIMIT


_INF = float("inf")
_MAX_FLOAT = sys.float_info.max

# One Pathway commit (the changes of one Pathway time), handed over whole: (inserted, retracted,
# time), each dict mapping a Pathway key to its row's values (a tuple, in the table's column
# order). Within one commit a key has at most one insertion and one retraction.
Values = tuple[Any, ...]
Commit = tuple[dict[Any, Values], dict[Any, Values], int]


def slug(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_-]+", "_", text.strip().lower()).strip("_")[:64]
    return s or "widget"


def check_id(widget_id: str) -> str:
    if not isinstance(widget_id, str) or not ID_PATTERN.match(widget_id):
        raise InvalidOptionError(str(widget_id), "id", widget_id, "1 to 64 letters, digits, - or _")
    return widget_id


class Widget:
    """Base of every widget. Options are attributes (.id, .title, ...)."""

    type: ClassVar[str]

    def __init__(self, dash: Dashboard, id: str, title: str | None, embed: bool):
        self._dash = dash
        self.id = check_id(id)
        self.title = title if title is not None else id
        self.embed = bool(embed)
        self._config_pending = True
        self._send_config = False
        self._commits: list[Commit] = []  # raw Pathway commits, under the lock
        self._binding: Any = None  # folds those commits, on the SDK thread
        # The Pathway time of the latest commit handed over (under the lock), folded (SDK thread),
        # and last sent: data messages carry it as "as_of" (docs/protocol.md §1.3).
        self._as_of: int | None = None
        self._f_as_of: int | None = None
        self._sent_as_of: int | None = None
        self.stale_after: float | None = None
        self._order: float = len(dash.widgets)  # declaration order is display order
        self.width: int | str | None = None
        self.height: int | str | None = None
        self.source: Any = None  # the Pathway table, or None in manual mode
        self._removed = False  # sv.remove() removed it: sending again raises WidgetRemovedError

    def _size(self, width: Any, height: Any, order: Any) -> None:
        """Sizing hints (docs/protocol.md §1.2), checked by the server's rules so a bad one fails here."""
        if width is not None and not (width == "full" or (type(width) is int and 1 <= width <= 4)):
            raise InvalidOptionError(self.id, "width", width, '1 to 4 (grid columns) or "full"')
        if height is not None and not (height in ("small", "medium", "large") or (type(height) is int and 60 <= height <= 2000)):
            raise InvalidOptionError(self.id, "height", height, '"small", "medium", "large" or pixels from 60 to 2000')
        if order is not None:
            if isinstance(order, bool) or not isinstance(order, (int, float)) or order != order or abs(order) == float("inf"):
                raise InvalidOptionError(self.id, "order", order, "a number (widgets sort by order, then id)")
            self._order = order
        self.width, self.height = width, height

    def _stale(self, stale_after: Any) -> None:
        """stale_after= (docs/protocol.md §1.2): seconds without a newer commit before the card shows stale."""
        if stale_after is not None and (isinstance(stale_after, bool) or not isinstance(stale_after, (int, float))
                                        or not 0 < stale_after <= 365 * 24 * 3600):
            raise InvalidOptionError(self.id, "stale_after", stale_after, "seconds above 0 (at most a year), or None for never")
        self.stale_after = stale_after

    @property
    def order(self) -> float:
        return self._order

    def __repr__(self) -> str:
        return f"<{type(self).__name__} id={self.id!r} title={self.title!r}>"

    @property
    def embed_url(self) -> str | None:
        """The widget alone, for an iframe; None until the dashboard runs locally.

        When the server has a token the link is signed and works for an hour; sv.embed_url()
        chooses the lifetime.
        """
        base = self._dash.http_url
        if not base:
            return None
        if self._dash.token:
            from ._auth import embed_url

            return embed_url(base, self._dash.token, self.id, 3600)
        return f"{base}embed/{self.id}"

    def _config(self) -> dict[str, Any]:
        # producer: who declares it, so the server can tell two pipelines declaring one id apart.
        cfg: dict[str, Any] = {"type": self.type, "title": self.title, "order": self._order, "producer": self._dash.producer}
        if self.width is not None:
            cfg["width"] = self.width
        if self.height is not None:
            cfg["height"] = self.height
        if self.stale_after is not None:
            cfg["stale_after"] = self.stale_after
        return cfg

    def _mark(self) -> None:
        if self._removed:
            # Sending would create the widget again with a default config, not this one's.
            raise WidgetRemovedError(self.id)
        self._dash.publisher.mark(self)

    # A data body is a dict, or the message already encoded (bytes) when encoding it whole was
    # needed anyway to split it by size.
    # The publisher moves updates through three stages:
    #   _take  (dashboard lock held, any thread): swap the raw buffers out, O(1);
    #   _fold  (SDK thread): merge them into the coalesced state waiting to be sent;
    #   _drain (SDK thread, when the widget has nothing in flight): turn that state
    #          into (subject, body, updates) messages and clear it.
    # Producers touch only the raw buffers, so they never wait on encoding or I/O,
    # and folding goes on while the bus is slow, which is what keeps memory bounded.
    def _take(self) -> tuple[bool, Any, list[Commit], int | None]:
        cfg = self._config_pending
        self._config_pending = False
        commits, self._commits = self._commits, []
        return cfg, self._swap(), commits, self._as_of

    def _fold(self, taken: tuple[bool, Any, list[Commit], int | None]) -> int:
        """Returns how many Pathway commits it folded."""
        cfg, raw, commits, as_of = taken
        if cfg:
            self._send_config = True
        self._merge(raw)
        if commits and self._binding is not None:
            self._binding.fold(commits)
        self._f_as_of = as_of
        return len(commits)

    def _drain(self) -> list[tuple[str, Any, int]]:
        out: list[tuple[str, Any, int]] = []
        if self._send_config:
            self._send_config = False
            out.append((f"sv.{self.id}.config", self._config(), 0))
        bodies = self._bodies()
        as_of = self._f_as_of
        if as_of is not None and as_of != self._sent_as_of:
            # Every message of this drain reflects the commits up to as_of; a commit that changed
            # nothing shown still tells the dashboard the data is current.
            if not bodies:
                bodies = self._as_of_only()
            bodies = [(_with_as_of(body, as_of), n) for body, n in bodies]
            if bodies:
                self._sent_as_of = as_of
        out.extend((f"sv.{self.id}.data", body.encode() if type(body) in (Columns, TableColumns) else body, n)
                   for body, n in bodies)
        return out

    def _as_of_only(self) -> list[tuple[Any, int]]:
        """A data message that changes nothing, to carry a newer as_of; none for a stat or gauge
        (a value message would add a delta)."""
        return []

    def _commit(self, commit: Commit) -> None:
        """Pathway's thread, at a commit's end: hand the commit over whole."""
        if commit[2] >= PATHWAY_END_OF_STREAM:
            # What Pathway held until its input ended (exactly-once windows, delayed results)
            # comes in a last commit at the end of time, 2**64 - 2: no time of the data, and
            # as an as_of it got every message of the widget refused (more than 24 hours ahead).
            # It is shown as of the latest commit before it (a time chart plots it there).
            commit = (commit[0], commit[1], self._as_of if self._as_of is not None else 0)
        with self._dash.lock:
            if self._removed:
                # The pipeline runs on; its commits no longer have a widget. Said once, since
                # rows a pipeline still makes and no one sees are otherwise a silent loss.
                self._dash._warn_once(f"removed-commits:{self.id}", f"stream_viz: widget {self.id!r} was removed "
                                      "with sv.remove() but its Pathway table still commits: those rows are not "
                                      "shown (declare the widget again to show them)")
                return
            self._as_of = commit[2]
            if self._dash.publisher.active:
                self._commits.append(commit)
            else:
                # No SDK thread folds before sv.start() or after sv.stop(): fold here,
                # under the lock the publisher takes to become active, so memory stays
                # bounded and the two never fold at once.
                self._binding.fold([commit])
            self._mark()

    def _swap(self) -> Any:
        raise NotImplementedError

    def _merge(self, raw: Any) -> None:
        raise NotImplementedError

    def _bodies(self) -> list[tuple[Any, int]]:
        raise NotImplementedError


class _ValueWidget(Widget):
    def __init__(self, dash: Dashboard, id: str, title: str | None, embed: bool, unit: str, color: str | None,
                 format: str | None):
        super().__init__(dash, id, title, embed)
        self.unit, self.color, self.format = unit, color, format
        self._value: Any = None
        self._has_value = False
        self._f_value: Any = None
        self._f_has = False

    def send(self, value: Any) -> None:
        """Shows value (a number, or None for no value)."""
        try:
            v = number(value)
        except TypeError:
            raise NotNumericError(self.id, value) from None
        with self._dash.lock:
            self._value, self._has_value = v, True
            self._mark()

    def _swap(self) -> Any:
        taken = (self._has_value, self._value)
        self._has_value, self._value = False, None
        return taken

    def _merge(self, raw: Any) -> None:
        has, v = raw
        if has:
            self._set_folded(v)

    def _set_folded(self, v: Any) -> None:
        self._f_value, self._f_has = v, True

    def _bodies(self) -> list[tuple[Any, int]]:
        if not self._f_has:
            return []
        self._f_has = False
        return [({"value": self._f_value}, 1)]


class Stat(_ValueWidget):
    """A big number with its change against the previous value."""

    type = "stat"

    def __init__(self, dash: Dashboard, id: str, *, title: str | None = None, unit: str = "", color: str | None = None,
                 format: str | None = None, delta: bool = True, embed: bool = False, column: str | None = None):
        super().__init__(dash, id, title, embed, unit, color, format)
        self.delta = bool(delta)
        self.column = column

    def _config(self) -> dict[str, Any]:
        return {**super()._config(), "unit": self.unit, "color": self.color, "format": self.format, "delta": self.delta}


class Gauge(_ValueWidget):
    """A value on a bounded arc with coloured thresholds."""

    type = "gauge"

    def __init__(self, dash: Dashboard, id: str, *, title: str | None = None, unit: str = "", min_val: float = 0,
                 max_val: float = 100, color: str | None = None, thresholds: list[tuple[float, str]] | None = None,
                 embed: bool = False, column: str | None = None):
        super().__init__(dash, id, title, embed, unit, color, None)
        try:
            lo, hi = float(min_val), float(max_val)
        except (TypeError, ValueError):
            raise InvalidOptionError(id, "min_val/max_val", (min_val, max_val), "numbers") from None
        if not lo < hi:
            raise InvalidOptionError(id, "min_val", min_val, f"a number below max_val={max_val!r}")
        self.min_val, self.max_val = min_val, max_val
        self.thresholds = _thresholds(id, thresholds)
        self.column = column

    def _config(self) -> dict[str, Any]:
        return {**super()._config(), "unit": self.unit, "color": self.color, "min": self.min_val, "max": self.max_val,
                "thresholds": [[v, c] for v, c in self.thresholds]}


def _thresholds(wid: str, thresholds: Any) -> list[tuple[float, str]]:
    if thresholds is None:
        return []
    try:
        out = [(float(v), str(c)) for v, c in thresholds]
    except (TypeError, ValueError):
        raise InvalidOptionError(wid, "thresholds", thresholds, "a list of (value, colour) pairs") from None
    return sorted(out)


class _Runs:
    """One chart series' pending edits, in the order they were made: runs of appended points,
    and runs of upserts and removals (each run's removals apply before its upserts, which is
    exact: a later upsert at an x drops that x from its run's removals only by writing after them).

    An append run's deque holds (x, y) tuples (from .send()) and Blocks (arrays from .extend());
    run[2] counts its points. Appends are bounded: while the bus lags, the oldest appended points
    are dropped first."""

    __slots__ = ("appended", "runs")

    def __init__(self) -> None:
        self.runs: list[list[Any]] = []  # ["a", deque[(x, y) | Block], points] or ["u", {x: y}, set of x]
        self.appended = 0

    def _run(self, kind: str) -> list[Any]:
        if self.runs and self.runs[-1][0] == kind:
            return self.runs[-1]
        run = ["a", collections.deque(), 0] if kind == "a" else ["u", {}, set()]
        self.runs.append(run)
        return run

    def append(self, pts: Any) -> int:
        """Appends (x, y) tuples; returns how many old points it dropped to stay within MAX_CHART_BUFFER."""
        run = self._run("a")
        run[1].extend(pts)
        run[2] += len(pts)
        self.appended += len(pts)
        return self._trim()

    def append_block(self, block: Block) -> int:
        """Appends points given as arrays, kept whole until they are encoded."""
        run = self._run("a")
        run[1].append(block)
        run[2] += block.n
        self.appended += block.n
        return self._trim()

    def _trim(self) -> int:
        over = self.appended - MAX_CHART_BUFFER
        if over <= 0:
            return 0
        dropped = 0
        for run in self.runs:
            if dropped == over:
                break
            if run[0] == "a":
                q = run[1]
                while q and dropped < over:
                    head = q[0]
                    if type(head) is Block:
                        k = min(head.n, over - dropped)
                        if k == head.n:
                            q.popleft()
                        else:
                            q[0] = head.tail(head.n - k)
                    else:
                        k = 1
                        q.popleft()
                    dropped += k
                    run[2] -= k
        self.appended -= dropped
        self.runs = [r for r in self.runs if r[0] != "a" or r[1]]
        return dropped

    def upsert(self, x: Any, y: Any) -> None:
        self._run("u")[1][x] = y

    def upsert_many(self, pts: Any) -> None:
        self._run("u")[1].update(pts)

    def remove(self, x: Any) -> None:
        run = self._run("u")
        run[1].pop(x, None)
        run[2].add(x)

    def extend(self, other: _Runs) -> int:
        for run in other.runs:
            if run[0] == "a":
                mine = self._run("a")
                mine[1].extend(run[1])
                mine[2] += run[2]
                self.appended += run[2]
            else:
                mine = self._run("u")
                for x in run[2]:
                    mine[1].pop(x, None)
                    mine[2].add(x)
                mine[1].update(run[1])
        return self._trim()


class Chart(Widget):
    """A live chart (uPlot): points per series, appended or upserted by x.

    Pathway-fed charts with x_column= show one point per (series, x): when several live rows share
    it, the row inserted or changed most recently wins (ties within one Pathway commit: the greater
    Pathway key), its retraction brings back the next one, and the point goes with the last row.
    """

    type = "chart"

    def __init__(self, dash: Dashboard, id: str, *, title: str | None = None, unit: str = "", color: str | None = None,
                 chart_type: str = "line", max_points: int | None = None, embed: bool = False,
                 y_column: str | list[str] | None = None, x_column: str | None = None, series_column: str | None = None,
                 x_type: str = "number"):
        super().__init__(dash, id, title, embed)
        if chart_type not in CHART_TYPES:
            raise InvalidOptionError(id, "chart_type", chart_type, "one of " + ", ".join(CHART_TYPES))
        if max_points is not None and (not isinstance(max_points, int) or isinstance(max_points, bool)
                                       or not 1 <= max_points <= 100_000):
            raise InvalidOptionError(id, "max_points", max_points,
                                     "an integer from 1 to 100000, or None for the server's --history")
        self.unit, self.color, self.chart_type, self.max_points = unit, color, chart_type, max_points
        self.y_column, self.x_column, self.series_column = y_column, x_column, series_column
        self.label: str | None = None  # the default series' legend name (a Pathway chart's y column)
        if x_type not in ("number", "category"):
            raise InvalidOptionError(id, "x_type", x_type, "'number' (numbers and times) or 'category' (text)")
        self.x_type = x_type  # "category": text x values, one point (bar) per category
        self._runs: dict[str, _Runs] = {}  # raw, under the lock
        self._f_runs: dict[str, _Runs] = {}  # folded, SDK thread
        self._lock = dash.lock
        # The fast path of .send(): the deque of the default series' last append run, open while
        # nothing else was done to the raw buffers since (every other edit closes it, and the
        # publisher's take does). While it is open the chart is marked dirty, so a point appended
        # to it needs nothing but the append; _tail_max keeps the raw buffer within its bound.
        self._tail: collections.deque[Any] | None = None
        self._tail_run: list[Any] = []
        self._tail_len0 = 0
        self._tail_max = 0
        self.dropped = 0
        self.y_min: float | None = None
        self.y_max: float | None = None
        self.y_scale: str | None = None
        self.thresholds: list[tuple[float, str]] = []

    def _y_axis(self, y_min: Any, y_max: Any, y_scale: Any) -> None:
        """The y axis's fixed ends and scale (docs/protocol.md §1.2), checked as the server does."""
        for name, v in (("y_min", y_min), ("y_max", y_max)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or abs(v) == float("inf")):
                raise InvalidOptionError(self.id, name, v, "a finite number")
        if y_min is not None and y_max is not None and not y_min < y_max:
            raise InvalidOptionError(self.id, "y_min", y_min, f"a number below y_max={y_max!r}")
        if y_scale is not None and y_scale not in ("linear", "log"):
            raise InvalidOptionError(self.id, "y_scale", y_scale, "'linear' or 'log'")
        if y_scale == "log" and any(v is not None and v <= 0 for v in (y_min, y_max)):
            raise InvalidOptionError(self.id, "y_min" if y_min is not None and y_min <= 0 else "y_max",
                                     y_min if y_min is not None and y_min <= 0 else y_max, "above 0 on a log scale")
        self.y_min, self.y_max, self.y_scale = y_min, y_max, y_scale

    def _config(self) -> dict[str, Any]:
        cfg = {**super()._config(), "unit": self.unit, "color": self.color, "chart_type": self.chart_type}
        for k in ("y_min", "y_max", "y_scale"):
            if getattr(self, k) is not None:
                cfg[k] = getattr(self, k)
        if self.thresholds:
            cfg["thresholds"] = [[v, c] for v, c in self.thresholds]
        if self.max_points is not None:  # else the server's --history: one default for every producer
            cfg["max_points"] = self.max_points
        cfg["x_type"] = self.x_type
        if self.label is not None:
            cfg["label"] = self.label
        return cfg

    def send(self, value: Any, timestamp: Any = None, *, mode: str | None = None) -> None:
        """Adds a point at timestamp; a dict {series: value} adds one point per series.

        timestamp: when the point happened: a datetime (a naive one is taken as UTC), a date, or
        a number of MILLISECONDS since the epoch; default: now. A number between 1e9 and 1e11
        looks like epoch seconds (2001 to 5138 in seconds, but January 1970 in milliseconds) and
        is warned about once per chart: multiply it by 1000 or pass a datetime.

        mode="upsert" replaces the point already at that timestamp in its series instead of adding a
        second one (late corrections: one point per x, as Pathway-fed charts keep).

        In a category chart (x_type="category") timestamp is the category (text), and mode
        defaults to "upsert": one bar per category, updated in place.

        Many points at once: extend(xs, ys).
        """
        # The common call (a number at a number, appended to the default series) costs one
        # append under the lock; anything else takes the general path below.
        tv = type(value)
        if mode is None and (tv is float or tv is int):
            if timestamp is None:
                timestamp = time.time() * 1000.0
            tt = type(timestamp)
            # Epoch milliseconds (>= 1e11) pass the seconds check with one comparison. NaN, the
            # infinities and ints past float64 fail every one: the general path names them.
            if ((tt is int or tt is float) and (1e11 <= timestamp <= _MAX_FLOAT or -1e9 < timestamp < 1e9
                                                or -_MAX_FLOAT <= timestamp <= -1e11)
                    and self.x_type == "number"):
                if tv is float and not -_INF < value < _INF:
                    value = None  # NaN and infinities are gaps, as number() makes them
                elif tv is int and not -_MAX_FLOAT <= value <= _MAX_FLOAT:
                    value = None  # an infinity to the server, which refuses it: a gap, as number() makes it
                with self._lock:
                    tail = self._tail
                    if tail is not None and len(tail) < self._tail_max:
                        tail.append((timestamp, value))
                        return
        if mode is None:
            mode = "upsert" if self.x_type == "category" else "append"
        if mode not in ("append", "upsert"):
            raise InvalidOptionError(self.id, "mode", mode, "'append' or 'upsert'")
        x = self._x(timestamp, now=True)
        if isinstance(timestamp, (int, float)) and not isinstance(timestamp, bool) and 1e9 <= abs(timestamp) < 1e11:
            self._warn_seconds(timestamp)
        if isinstance(value, dict):
            try:
                items = [(str(k), number(v)) for k, v in value.items()]
            except TypeError:
                raise NotNumericError(self.id, value) from None
        else:
            try:
                items = [("", number(value))]
            except TypeError:
                raise NotNumericError(self.id, value) from None
        with self._lock:
            self._close_tail()
            for series, y in items:
                runs = self._raw(series)
                if mode == "upsert":
                    runs.upsert(x, y)
                else:
                    self._count_drop(runs.append(((x, y),)))
            self._open_tail()
            self._mark()

    def extend(self, xs: Any, ys: Any, *, series: str = "", mode: str | None = None) -> None:
        """Adds many points at once: ys[i] at xs[i], as .send(ys[i], xs[i]) would, in one step.

        xs and ys are lists, tuples, numpy arrays, pandas Series or pyarrow Arrays of equal length;
        xs holds numbers (milliseconds) or times (datetimes, numpy datetime64, pandas Timestamps:
        naive ones are UTC), or categories (text) in a category chart. ys holds numbers; None, NaN
        and infinities are gaps. ys may also be a dict {series: column}, a pandas DataFrame or a
        pyarrow Table: one series per column, named by it. series= names the series of a single
        column (default: the unnamed one); mode= is as for .send().

        Arrays are checked once and sent as columnar messages (float64 columns, docs/protocol.md
        §1.7) from the SDK's thread, without touching each point in Python: this is the fast way
        in for producers that have them (docs/benchmarks.md).
        """
        if mode is None:
            mode = "upsert" if self.x_type == "category" else "append"
        if mode not in ("append", "upsert"):
            raise InvalidOptionError(self.id, "mode", mode, "'append' or 'upsert'")
        if not isinstance(series, str):
            raise InvalidOptionError(self.id, "series", series, "text (the series name; '' is the unnamed one)")
        cols = series_columns(ys)
        if cols is not None and series:
            raise InvalidOptionError(self.id, "series", series, "nothing when ys names the series (a dict or columns)")
        try:
            x = xs_column(xs, self.x_type == "category")
        except BadColumn as e:
            raise InvalidOptionError(self.id, e.where or "xs", e.value, e.expected) from None
        ycols = []
        for name, col in cols if cols is not None else [(series, ys)]:
            try:
                ycols.append((name, ys_column(col)))
            except BadColumn as e:
                where = e.where or "ys"
                if cols is not None:
                    where = where.replace("ys", f"ys[{name!r}]", 1)
                if e.numeric:
                    raise NotNumericError(self.id, e.value, where) from None
                raise InvalidOptionError(self.id, where, e.value, e.expected) from None
        for name, y in ycols:
            if len(y) != len(x):
                raise InvalidOptionError(self.id, "ys" if cols is None else f"ys[{name!r}]", f"{len(y)} values",
                                         f"as many values as xs ({len(x)})")
        secs = _seconds_like(x) if self.x_type == "number" else None
        if secs is not None:
            self._warn_seconds(secs)
        self._bulk([(name, Block(x, y)) for name, y in ycols if len(y)], mode)

    def _bulk(self, blocks: list[tuple[str, Block]], mode: str) -> None:
        """Appends (or upserts) checked points, per series, in one step under the lock; any
        thread. The bulk way in for producers inside the SDK (the Pathway sink may use it)."""
        with self._lock:
            self._close_tail()
            for name, block in blocks:
                runs = self._raw(name)
                if mode == "upsert":
                    runs.upsert_many(block.items())
                else:
                    self._count_drop(runs.append_block(block))
            self._open_tail()
            self._mark()

    def _warn_seconds(self, timestamp: Any) -> None:
        self._dash._warn_once(f"seconds:{self.id}", f"stream_viz: chart {self.id!r}: timestamp={timestamp!r} looks like "
                              "epoch seconds, but a number is taken as milliseconds (it lands in January 1970); "
                              "pass timestamp * 1000 or a datetime")

    def _raw(self, series: str) -> _Runs:
        runs = self._runs.get(series)
        if runs is None:
            runs = self._runs[series] = _Runs()
        return runs

    def _close_tail(self) -> None:
        """Under the lock, before any other edit of the raw buffers: counts what the fast path appended."""
        tail = self._tail
        if tail is not None:
            self._tail = None
            k = len(tail) - self._tail_len0
            self._tail_run[2] += k
            self._runs[""].appended += k

    def _open_tail(self) -> None:
        """Under the lock, after an edit, with the chart about to be marked dirty."""
        runs = self._runs.get("")
        if runs is not None and runs.runs and runs.runs[-1][0] == "a":
            run = runs.runs[-1]
            self._tail, self._tail_run, self._tail_len0 = run[1], run, len(run[1])
            self._tail_max = len(run[1]) + MAX_CHART_BUFFER - runs.appended

    def _x(self, timestamp: Any, now: bool = False) -> Any:
        if self.x_type == "category":
            if not isinstance(timestamp, str) or not 1 <= len(timestamp.encode()) <= 200:
                raise InvalidOptionError(self.id, "timestamp", timestamp, "a category: text of 1 to 200 bytes")
            return timestamp
        if timestamp is None and now:
            return time.time() * 1000.0
        try:
            return time_ms(timestamp)
        except TypeError:
            raise InvalidOptionError(self.id, "timestamp", timestamp, "a number (ms) or a datetime") from None

    def remove(self, timestamp: Any, series: str = "") -> None:
        """Removes the points at timestamp (a category's, in a category chart) from series (default: the unnamed one)."""
        x = self._x(timestamp)
        with self._lock:
            self._close_tail()
            self._raw(str(series)).remove(x)
            self._mark()

    def _count_drop(self, n: int) -> None:
        if n:
            self.dropped += n
            self._dash._warn_drop(self)

    def _swap(self) -> Any:
        self._close_tail()
        taken = self._runs
        self._runs = {}
        return taken

    def _as_of_only(self) -> list[tuple[Any, int]]:
        return [({"points": []}, 0)]

    def _merge(self, raw: Any) -> None:
        for series, runs in raw.items():
            self._count_drop(self._folded(series).extend(runs))

    def _folded(self, series: str) -> _Runs:
        f = self._f_runs.get(series)
        if f is None:
            f = self._f_runs[series] = _Runs()
        return f

    def _fold_points(self, series: str, pts: Any) -> None:
        self._count_drop(self._folded(series).append(pts))

    def _fold_block(self, series: str, block: Block) -> None:
        """SDK thread: points given as arrays (Block(xs, ys), checked), encoded in bulk when sent."""
        self._count_drop(self._folded(series).append_block(block))

    def _fold_upsert(self, series: str, x: Any, y: Any) -> None:
        self._folded(series).upsert(x, y)

    def _fold_remove(self, series: str, x: Any) -> None:
        self._folded(series).remove(x)

    def _bodies(self) -> list[tuple[Any, int]]:
        pending, self._f_runs = self._f_runs, {}
        out: list[tuple[Any, int]] = []
        for series, runs in pending.items():
            for run in runs.runs:
                if run[0] == "a":
                    out.extend(encode_appends(run[1], series, POINTS_PER_MESSAGE, MAX_MESSAGE_BYTES, self.x_type != "category"))
                    continue
                ups, rm = run[1], run[2]
                # Numeric x in order (a new point lands where it belongs); categories as they came.
                items = ups.items() if self.x_type == "category" else sorted(ups.items())
                pts = [[x, y] for x, y in items]
                first = True
                for i in range(0, max(len(pts), 1), POINTS_PER_MESSAGE):
                    part = pts[i : i + POINTS_PER_MESSAGE]
                    body: dict[str, Any] = {"points": part, "mode": "upsert"}
                    n = len(part)
                    if first and rm:
                        # Removals come first: they apply before the points of the same message.
                        body["remove"] = list(rm) if self.x_type == "category" else sorted(rm)
                        n += len(rm)
                    first = False
                    out.append((_with_series(body, series), n))
        return out


def _with_as_of(body: Any, as_of: int) -> Any:
    if type(body) in (Columns, TableColumns):
        body.as_of = as_of
        return body
    if type(body) is bytes:  # encoded in bulk: the object's last field goes before its closing brace
        return body[:-1] + b',"as_of":' + dumps(as_of) + b"}"
    body["as_of"] = as_of
    return body


def _seconds_like(xs: Any) -> Any:
    """The first x that lies where epoch seconds would (1e9 to 1e11 in absolute value), or None."""
    if isinstance(xs, list):
        return next((x for x in xs if 1e9 <= abs(x) < 1e11), None)
    a = abs(xs)
    hits = ((a >= 1e9) & (a < 1e11)).nonzero()[0]
    return xs[hits[0]].item() if len(hits) else None


def _with_series(body: dict[str, Any], series: str) -> dict[str, Any]:
    if series:
        body["series"] = series
    return body


class Table(Widget):
    """Live rows, upserted by key."""

    type = "table"

    def __init__(self, dash: Dashboard, id: str, *, title: str | None = None, columns: list[str] | None = None,
                 column_labels: dict[str, str] | None = None, column_format: dict[str, str] | None = None,
                 max_rows: int = 100, sort_by: str | None = None, sort_desc: bool = True, key: str | None = None,
                 embed: bool = False):
        super().__init__(dash, id, title, embed)
        if not isinstance(max_rows, int) or not 1 <= max_rows <= 100_000:
            raise InvalidOptionError(id, "max_rows", max_rows, "an integer from 1 to 100000")
        self.columns = list(columns) if columns is not None else None
        self.column_labels = dict(column_labels or {})
        self.column_format = dict(column_format or {})
        self.max_rows, self.sort_by, self.sort_desc, self.key = max_rows, sort_by, bool(sort_desc), key
        self._ops: dict[str, Any] = {}  # key -> row dict, or None for a delete; raw, under the lock
        # The same, folded, on the SDK thread; a Pathway table's binding puts its rows' values
        # there as tuples in the order of _row_columns, made dicts only when encoded.
        self._f_ops: dict[str, Any] = {}
        self._row_columns: list[str] = []
        # send_many's columnar blocks (keyed tables), in order with the ops before them: raw
        # (under the lock) and folded (SDK thread), each a list of op dicts and TableBlocks.
        self._q: list[Any] = []
        self._f_q: list[Any] = []
        self._appended: collections.deque[str] = collections.deque()
        self._held: set[str] = set()  # keys the server was told to hold (SDK thread)
        self._held_ints: set[int] = set()  # of them, those sent as int64 keys (columnar, key_type "i64")
        # int64 key arrays sent but not yet in _held_ints, and their length: a set of 10,000 ints
        # per block of 10,000 rows cost more than the block's encoding, so they are folded in only
        # when they could take the table past the row limit, or before a delete.
        self._pending_ints: list[Any] = []
        self._pending_n = 0
        # _held_ints as an int64 array, to find which pending keys are new without hashing each
        # again; None when deletes left it behind the set (rebuilt from the set when next needed).
        self._held_arr: Any = None
        self.refused_rows = 0  # of them, how many the server's row limit leaves out
        self._serial = itertools.count(1)

    def _config(self) -> dict[str, Any]:
        return {**super()._config(), "columns": self.columns, "column_labels": self.column_labels,
                "column_format": self.column_format, "max_rows": self.max_rows, "sort_by": self.sort_by,
                "sort_desc": self.sort_desc}

    def send(self, row: dict[str, Any]) -> None:
        """Upserts row by its `key` column; without key=, appends it and keeps the last max_rows."""
        if not isinstance(row, dict):
            raise InvalidOptionError(self.id, "row", row, "a dict of column -> value")
        with self._dash.lock:
            if self.key is not None:
                if self.key not in row:
                    raise UnknownColumnError(self.id, self.key, list(row))
                self._ops[_key_text(row[self.key])] = dict(row)
            else:
                k = str(next(self._serial))
                self._ops[k] = dict(row)
                self._appended.append(k)
                while len(self._appended) > self.max_rows:
                    self._ops[self._appended.popleft()] = None
            self._mark()

    def send_many(self, rows: Any) -> None:
        """Upserts (or, without key=, appends) many rows in one step, as .send() would one by one.

        rows: a list of dicts, a pandas DataFrame, a pyarrow Table or RecordBatch, a numpy
        structured array, or a dict of columns {name: list or array} of equal lengths. Values are
        encoded as .send() encodes them (NaN and infinities become null). With key=, columns go to
        the server as columns (docs/protocol.md §1.8): numbers are never printed here.
        """
        if self.key is not None:
            # Columns go as columns (docs/protocol.md §1.8): no dict per row, numbers never printed here.
            try:
                block = table_block(rows, self.key, _call_limit())
            except BadColumn as e:
                if e.where == "key":
                    raise UnknownColumnError(self.id, self.key, list(e.value)) from None
                raise InvalidOptionError(self.id, e.where, e.value, e.expected) from None
            if block is not None:
                if block.n:
                    with self._dash.lock:
                        if self._ops:
                            self._q.append(self._ops)
                            self._ops = {}
                        self._q.append(block)
                        self._mark()
                return
        try:
            got, fresh = rows_of(rows)
        except BadColumn as e:
            raise InvalidOptionError(self.id, e.where, e.value, e.expected) from None
        self._bulk_rows(got, copy=not fresh)

    def _bulk_rows(self, rows: list[dict[str, Any]], *, copy: bool = True) -> None:
        """Rows checked to be dicts, in one step under the lock; any thread. The bulk way in for
        producers inside the SDK. A row without the key column refuses the whole call. copy=False:
        the dicts are the caller's to give away (made for this call), else each is copied as
        .send() copies it, so the caller may reuse them."""
        key = self.key
        if key is not None:
            keys = []
            for r in rows:
                try:
                    k = r[key]
                except KeyError:
                    raise UnknownColumnError(self.id, key, list(r)) from None
                keys.append(k if type(k) is str else _key_text(k))
        with self._dash.lock:
            ops = self._ops
            if key is not None:
                ops.update(zip(keys, map(dict, rows) if copy else rows, strict=True))
            else:
                appended, serial = self._appended, self._serial
                for r in rows:
                    k = str(next(serial))
                    ops[k] = dict(r) if copy else r
                    appended.append(k)
                while len(appended) > self.max_rows:
                    ops[appended.popleft()] = None
            self._mark()

    def delete(self, key: Any) -> None:
        """Removes the row with this key."""
        with self._dash.lock:
            self._ops[_key_text(key)] = None
            self._mark()

    def _swap(self) -> Any:
        taken = self._q, self._ops
        self._q, self._ops = [], {}
        return taken

    def _as_of_only(self) -> list[tuple[Any, int]]:
        return [({"ops": []}, 0)]

    def _merge(self, raw: Any) -> None:
        q, ops = raw
        for item in q:
            if type(item) is dict:
                self._f_ops.update(item)
            else:
                # A block goes after everything folded before it; later ops fold after it.
                if self._f_ops:
                    self._f_q.append(self._f_ops)
                    self._f_ops = {}
                self._f_q.append(item)
        self._f_ops.update(ops)

    def _bodies(self) -> list[tuple[Any, int]]:
        out: list[tuple[Any, int]] = []
        queued, self._f_q = self._f_q, []
        data, self._f_ops = self._f_ops, {}
        try:
            for item in queued:
                if type(item) is dict:
                    out += self._ops_bodies(item)
                else:
                    if item.int_keys:
                        self._pending_ints.append(item.keys)
                        self._pending_n += item.n
                        self._count_held({})
                    else:
                        self._count_held(dict.fromkeys(item.key_texts(), True))
                    out += [(part, part.j - part.i) for part in item.parts(MAX_MESSAGE_BYTES)]
            return out + self._ops_bodies(data)
        except Exception as e:
            # A cell that cannot be encoded (its __str__ raises): the publisher drops this drain
            # whole, none of it sent in part, and counts the rows it held.
            raise NotEncoded(sum(len(item) if type(item) is dict else item.n for item in queued) + len(data), e) from e

    def _ops_bodies(self, data: dict[str, Any]) -> list[tuple[Any, int]]:
        if not data:
            return []
        cols = self._row_columns
        self._count_held(data)
        block = _tuple_block(cols, data)
        if block is not None:
            return [(part, part.j - part.i) for part in block.parts(MAX_MESSAGE_BYTES)]
        fast = _encoded_tuples(cols, data)
        if fast is not None:
            return fast
        ops = [{"key": k, "delete": True} if row is None
               else {"key": k, "row": row if type(row) is dict else dict(zip(cols, row, strict=True))} for k, row in data.items()]
        return _encoded_ops(ops)

    def _fold_pending_ints(self) -> None:
        np = sys.modules["numpy"]
        held = self._held_arr
        if held is None:
            held = np.fromiter(self._held_ints, dtype=np.int64, count=len(self._held_ints))
        keys = np.concatenate(self._pending_ints)
        self._pending_ints, self._pending_n = [], 0
        new = _unheld(keys, held)
        if new is None:  # spread-out keys: hashed
            new = np.array([k for k in np.unique(keys).tolist() if k not in self._held_ints], dtype=np.int64)
        if len(new):
            self._held_ints.update(new.tolist())
            held = np.concatenate((held, new))
        self._held_arr = held

    def _count_held(self, data: dict[str, Any]) -> None:
        """Keeps the keys the server is told to hold. Beyond its row limit (serve --max-table-rows,
        which the SDK reads from STREAMVIZ_MAX_TABLE_ROWS, default 100000) the server leaves new
        keys out and the page says so (docs/protocol.md §1.3): warn once and count them."""
        held = self._held
        held.update(data)
        deletes = None in data.values()
        limit = max_table_rows()
        if self._pending_ints and (deletes or len(held) + len(self._held_ints) + self._pending_n > limit):
            self._fold_pending_ints()
        if deletes:
            gone = [k for k, row in data.items() if row is None]
            held.difference_update(gone)
            if self._held_ints:
                self._held_ints.difference_update(int(k) for k in gone if _int_text(k))
                self._held_arr = None
        # Keys still pending cannot take it past the limit (else they were folded in above).
        n = len(held) + len(self._held_ints)
        if n > limit and held and self._held_ints:  # a key held both ways counts once
            n = len(held | set(map(str, self._held_ints)))
        self.refused_rows = max(0, n - limit)
        if self.refused_rows:
            self._dash._warn_once(f"limit:{self.id}", f"stream_viz: table {self.id!r} has {n:,} rows, more than the "
                                  f"server keeps ({limit:,}: streamviz serve --max-table-rows, STREAMVIZ_MAX_TABLE_ROWS); "
                                  "rows beyond it are left out and the page says 'limit reached' "
                                  "(see sv.stats()['refused_rows'])")


def _unheld(keys: Any, held: Any) -> Any:
    """Of the keys (int64), those not in held (int64, distinct), each once; None when the keys are
    too spread out for that to be cheap. Keys sent again and again (a table updated in place) are
    most of them: when keys and held lie in a range a few times their number, a table of that range
    drops the held ones with no hashing (np.unique cost 30 ns a key, more than encoding its row)."""
    np = sys.modules["numpy"]
    if not len(keys):
        return keys
    lo, hi = int(keys.min()), int(keys.max())
    if len(held):
        lo, hi = min(lo, int(held.min())), max(hi, int(held.max()))
    span = hi - lo + 1
    if span > 4 * (len(keys) + len(held)):
        return None
    seen = np.zeros(span, dtype=bool)
    seen[held - lo] = True
    fresh = np.zeros(span, dtype=bool)
    fresh[keys - lo] = True
    fresh &= ~seen
    return np.flatnonzero(fresh) + lo


def _int_text(k: str) -> bool:
    """Whether k is the decimal text of a whole number, as an int64 key is keyed. ASCII digits only:
    str.isdigit() also holds for "²" or "①", which int() refuses."""
    digits = k[1:] if k.startswith("-") else k
    return digits.isascii() and digits.isdigit() and str(int(k)) == k


def max_table_rows() -> int:
    """The row limit of the server the SDK spawns (it inherits STREAMVIZ_MAX_TABLE_ROWS)."""
    try:
        return max(1, int(os.environ.get("STREAMVIZ_MAX_TABLE_ROWS", "") or 100_000))
    except ValueError:
        return 100_000


def _encoded_ops(ops: list[dict[str, Any]]) -> list[tuple[Any, int]]:
    """The ops as encoded table messages: one for everything that fits (the server applies a
    message atomically, so a commit is split only when it cannot travel in one message, the bus's
    payload limit). The size is estimated from a sample, so each op is encoded about once: a
    20,000-row Pathway commit encoded whole, then in halves to check each, then again to publish,
    was most of what the SDK spent on a table updated every commit."""
    n = len(ops)
    sample = ops if n <= 512 else ops[:: n // 256]
    estimate = len(dumps(sample)) * n / len(sample)
    parts = max(1, -int(-estimate // (MAX_MESSAGE_BYTES * 3 // 4)))  # ceil: parts well under the limit
    size = -(-n // parts)
    out: list[tuple[Any, int]] = []
    for i in range(0, n, size):
        part = ops[i : i + size]
        enc = dumps(part)
        if len(enc) + 8 > MAX_MESSAGE_BYTES and len(part) > 1:  # the sample misjudged it: halve
            out += _encoded_ops(part[: len(part) // 2]) + _encoded_ops(part[len(part) // 2 :])
        else:
            out.append((b'{"ops":' + enc + b"}", len(part)))
    return out


def _tuple_block(cols: list[str], data: dict[str, Any]) -> TableBlock | None:
    """Upserts of rows given as tuples of values (a Pathway table's) as a columnar table update
    (docs/protocol.md §1.8): numbers go as int64 or float64 and are never printed here, other
    values as one JSON text per cell, and no dict is made per row. None when numpy is missing,
    the rows are not all tuples (a delete, a manual .send()) or a text cannot be UTF-8: the
    caller sends JSON ops."""
    n = len(data)
    if n < 64 or not cols or loaded_numpy() is None:
        return None  # a few rows: JSON costs nothing worth it
    rows = list(data.values())
    if not all(type(r) is tuple and len(r) == len(cols) for r in rows):
        return None
    try:
        joined = "\n".join(data)
        # Keys without a newline (nearly always) are encoded in one go.
        keys = joined.encode().split(b"\n") if joined.count("\n") == n - 1 else [k.encode() for k in data]
        typed = [_typed_column(name, list(col), n) for name, col in zip(cols, zip(*rows, strict=True), strict=True)]
    except (UnicodeEncodeError, _BadText):
        return None
    return TableBlock(keys, typed)


_PLAIN_NUMBERS = frozenset((int, float, bool, type(None)))


def _encoded_tuples(cols: list[str], data: dict[str, Any]) -> list[tuple[Any, int]] | None:
    """Upserts of rows given as tuples of values (a Pathway table's), encoded column by column:
    the same bytes _encoded_ops makes of their dicts, without a dict per row. Each column is
    encoded whole by the C encoder and cut into its values where a JSON array of numbers can
    only be cut (at its commas) or one of text (at `","`, which an encoded string cannot hold);
    the rows are then put together by a bytes template. None (encode the dicts) when the rows
    are not all tuples (a delete, a manual .send()), a column mixes text and other values or
    holds values of other kinds, a float is NaN or infinite (the JSON encoder refuses it: the
    slow path makes it null), or a cut does not give one piece per row."""
    n = len(data)
    if n < 64 or not cols:
        return None  # a few rows: the dicts cost nothing worth it
    rows = list(data.values())
    if not all(type(r) is tuple and len(r) == len(cols) for r in rows):
        return None
    try:
        keys = _cut(list(data), text=True)
        pieces = [keys]
        for col in zip(*rows, strict=True):
            kinds = set(map(type, col))
            if kinds == {str}:
                pieces.append(_cut(col, text=True))
            elif kinds <= _PLAIN_NUMBERS:
                pieces.append(_cut(col, text=False))
            else:
                return None
    except (ValueError, _Misfit):
        return None
    template = (b'{"key":"%b","row":{' + b",".join(dumps(c).replace(b"%", b"%%") + (b':"%b"' if type(p) is _Text else b":%b")
                                                   for c, p in zip(cols, pieces[1:], strict=True)) + b"}}")
    ops = list(map(template.__mod__, zip(*pieces, strict=True)))
    return _joined_ops(ops)


class _Misfit(Exception):
    """A column's JSON did not cut into one piece per value."""


class _Text(list):  # type: ignore[type-arg]
    """The pieces of a column of text (each the inside of a JSON string, without its quotes)."""


def _cut(col: Any, *, text: bool) -> list[bytes]:
    enc = _fast.encode(list(col)).encode()  # raises ValueError on NaN and infinities
    if text:
        # A text ending in '",' (or in a backslash) puts '\","' before a real cut: the split would
        # cut after its escaped quote, and with as many pieces as rows no count would tell.
        if b'\\","' in enc:
            raise _Misfit
        parts: list[bytes] = _Text(enc[2:-2].split(b'","'))
    else:
        parts = enc[1:-1].split(b",")
    if len(parts) != len(col):
        raise _Misfit
    return parts


def _joined_ops(ops: list[bytes]) -> list[tuple[Any, int]]:
    """Encoded ops as table messages, each well under the bus's payload limit (as _encoded_ops)."""
    n = len(ops)
    parts = max(1, -int(-sum(map(len, ops)) // (MAX_MESSAGE_BYTES * 3 // 4)))
    size = -(-n // parts)
    out: list[tuple[Any, int]] = []
    for i in range(0, n, size):
        part = ops[i : i + size]
        enc = b'{"ops":[' + b",".join(part) + b"]}"
        if len(enc) + 32 > MAX_MESSAGE_BYTES and len(part) > 1:  # room for "as_of"
            out += _joined_ops(part[: len(part) // 2]) + _joined_ops(part[len(part) // 2 :])
        else:
            out.append((enc, len(part)))
    return out


def _key_text(k: Any) -> str:
    return key_text(k)
