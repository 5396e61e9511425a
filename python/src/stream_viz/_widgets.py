"""The four widgets: their options, their manual .send(), and their pending buffers."""

from __future__ import annotations

import collections
import itertools
import re
import time
from typing import TYPE_CHECKING, Any, ClassVar

from ._encode import cell, number, time_ms
from ._errors import InvalidOptionError, NotNumericError, UnknownColumnError

if TYPE_CHECKING:
    from ._dashboard import Dashboard

ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CHART_TYPES = ("line", "area", "bar", "scatter")
MAX_CHART_BUFFER = 200_000  # chart points held per widget while the bus is slow or away
POINTS_PER_MESSAGE = 20_000
OPS_PER_MESSAGE = 5_000


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
        self._order = len(dash.widgets)  # declaration order is display order
        self.source: Any = None  # the Pathway table, or None in manual mode

    def __repr__(self) -> str:
        return f"<{type(self).__name__} id={self.id!r} title={self.title!r}>"

    @property
    def embed_url(self) -> str | None:
        """The widget alone, for an iframe; None until the dashboard runs locally."""
        base = self._dash.http_url
        return f"{base}embed/{self.id}" if base else None

    def _config(self) -> dict:
        return {"type": self.type, "title": self.title, "order": self._order}

    def _mark(self) -> None:
        self._dash.publisher.mark(self)

    # Publisher protocol: _take runs under the dashboard lock and only swaps
    # buffers; _encode runs on the SDK's thread.
    def _take(self) -> tuple[dict | None, Any]:
        cfg = self._config() if self._config_pending else None
        self._config_pending = False
        return cfg, self._swap()

    def _swap(self) -> Any:
        raise NotImplementedError

    def _encode(self, taken: tuple[dict | None, Any]) -> list[tuple[str, Any, int]]:
        cfg, data = taken
        out: list[tuple[str, Any, int]] = []
        if cfg is not None:
            out.append((f"sv.{self.id}.config", cfg, 0))
        out.extend((f"sv.{self.id}.data", body, n) for body, n in self._bodies(data))
        return out

    def _bodies(self, data: Any) -> list[tuple[Any, int]]:
        raise NotImplementedError


class _ValueWidget(Widget):
    def __init__(self, dash: Dashboard, id: str, title: str | None, embed: bool, unit: str, color: str | None, format: str | None):
        super().__init__(dash, id, title, embed)
        self.unit, self.color, self.format = unit, color, format
        self._value: Any = None
        self._has_value = False

    def send(self, value: Any) -> None:
        """Shows value (a number, or None for no value)."""
        try:
            v = number(value)
        except TypeError:
            raise NotNumericError(self.id, value) from None
        with self._dash.lock:
            self._value, self._has_value = v, True
            self._mark()

    def _set_from_pipeline(self, v: Any) -> None:
        # Called with the lock held, from the Pathway binding.
        self._value, self._has_value = v, True
        self._mark()

    def _swap(self) -> Any:
        taken = (self._has_value, self._value)
        self._has_value, self._value = False, None
        return taken

    def _bodies(self, data: Any) -> list[tuple[Any, int]]:
        has, v = data
        return [({"value": v}, 1)] if has else []


class Stat(_ValueWidget):
    """A big number with its change against the previous value."""

    type = "stat"

    def __init__(self, dash: Dashboard, id: str, *, title=None, unit="", color=None, format=None, delta=True, embed=False, column=None):
        super().__init__(dash, id, title, embed, unit, color, format)
        self.delta = bool(delta)
        self.column = column

    def _config(self) -> dict:
        return {**super()._config(), "unit": self.unit, "color": self.color, "format": self.format, "delta": self.delta}


class Gauge(_ValueWidget):
    """A value on a bounded arc with coloured thresholds."""

    type = "gauge"

    def __init__(self, dash: Dashboard, id: str, *, title=None, unit="", min_val=0, max_val=100, color=None, thresholds=None, embed=False, column=None):
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

    def _config(self) -> dict:
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


class Chart(Widget):
    """A live time series (uPlot)."""

    type = "chart"

    def __init__(self, dash: Dashboard, id: str, *, title=None, unit="", color=None, chart_type="line", max_points=200,
                 embed=False, y_column=None, x_column=None):
        super().__init__(dash, id, title, embed)
        if chart_type not in CHART_TYPES:
            raise InvalidOptionError(id, "chart_type", chart_type, "one of " + ", ".join(CHART_TYPES))
        if not isinstance(max_points, int) or not 1 <= max_points <= 100_000:
            raise InvalidOptionError(id, "max_points", max_points, "an integer from 1 to 100000")
        self.unit, self.color, self.chart_type, self.max_points = unit, color, chart_type, max_points
        self.y_column, self.x_column = y_column, x_column
        self._points: dict[str, collections.deque] = {}
        self._upserts: dict[str, dict[float, Any]] = {}
        self._removes: dict[str, set[float]] = {}
        self.dropped = 0

    def _config(self) -> dict:
        return {**super()._config(), "unit": self.unit, "color": self.color, "chart_type": self.chart_type, "max_points": self.max_points}

    def send(self, value: Any, timestamp: Any = None) -> None:
        """Adds a point at timestamp (default: now); a dict {series: value} adds one point per series."""
        try:
            x = time.time() * 1000.0 if timestamp is None else time_ms(timestamp)
        except TypeError:
            raise InvalidOptionError(self.id, "timestamp", timestamp, "a number (ms) or a datetime") from None
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
        with self._dash.lock:
            for series, y in items:
                self._append(series, x, y)
            self._mark()

    def _append(self, series: str, x: float, y: Any) -> None:
        # Lock held. The buffer is bounded: while the bus lags, the oldest points go first.
        q = self._points.get(series)
        if q is None:
            q = self._points[series] = collections.deque(maxlen=MAX_CHART_BUFFER)
        if len(q) == MAX_CHART_BUFFER:
            self.dropped += 1
            self._dash._warn_drop(self)
        q.append((x, y))

    def _upsert(self, series: str, x: float, y: Any) -> None:
        self._upserts.setdefault(series, {})[x] = y
        rm = self._removes.get(series)
        if rm:
            rm.discard(x)

    def _remove(self, series: str, x: float) -> None:
        ups = self._upserts.get(series)
        if ups:
            ups.pop(x, None)
        self._removes.setdefault(series, set()).add(x)

    def _swap(self) -> Any:
        taken = (self._points, self._upserts, self._removes)
        self._points, self._upserts, self._removes = {}, {}, {}
        return taken

    def _bodies(self, data: Any) -> list[tuple[Any, int]]:
        points, upserts, removes = data
        out: list[tuple[Any, int]] = []
        for series, q in points.items():
            pts = [[x, y] for x, y in q]
            for i in range(0, len(pts), POINTS_PER_MESSAGE):
                part = pts[i : i + POINTS_PER_MESSAGE]
                out.append((_with_series({"points": part}, series), len(part)))
        for series in set(upserts) | set(removes):
            ups = upserts.get(series, {})
            body: dict[str, Any] = {"points": [[x, y] for x, y in sorted(ups.items())], "mode": "upsert"}
            rm = removes.get(series)
            if rm:
                body["remove"] = sorted(rm)
            out.append((_with_series(body, series), len(ups) + len(rm or ())))
        return out


def _with_series(body: dict, series: str) -> dict:
    if series:
        body["series"] = series
    return body


class Table(Widget):
    """Live rows, upserted by key."""

    type = "table"

    def __init__(self, dash: Dashboard, id: str, *, title=None, columns=None, column_labels=None, column_format=None,
                 max_rows=100, sort_by=None, sort_desc=True, key=None, embed=False):
        super().__init__(dash, id, title, embed)
        if not isinstance(max_rows, int) or not 1 <= max_rows <= 100_000:
            raise InvalidOptionError(id, "max_rows", max_rows, "an integer from 1 to 100000")
        self.columns = list(columns) if columns is not None else None
        self.column_labels = dict(column_labels or {})
        self.column_format = dict(column_format or {})
        self.max_rows, self.sort_by, self.sort_desc, self.key = max_rows, sort_by, bool(sort_desc), key
        self._ops: dict[str, Any] = {}  # key -> raw row dict, or None for a delete
        self._appended: collections.deque[str] = collections.deque()
        self._serial = itertools.count(1)

    def _config(self) -> dict:
        return {**super()._config(), "columns": self.columns, "column_labels": self.column_labels,
                "column_format": self.column_format, "max_rows": self.max_rows, "sort_by": self.sort_by, "sort_desc": self.sort_desc}

    def send(self, row: dict) -> None:
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

    def delete(self, key: Any) -> None:
        """Removes the row with this key."""
        with self._dash.lock:
            self._ops[_key_text(key)] = None
            self._mark()

    def _apply_commit(self, ops: dict[str, Any]) -> None:
        # Lock held: one Pathway commit, merged whole so no flush splits it.
        self._ops.update(ops)
        self._mark()

    def _swap(self) -> Any:
        taken = self._ops
        self._ops = {}
        return taken

    def _bodies(self, data: Any) -> list[tuple[Any, int]]:
        ops = [{"key": k, "delete": True} if row is None else {"key": k, "row": {str(c): cell(v) for c, v in row.items()}}
               for k, row in data.items()]
        return [({"ops": ops[i : i + OPS_PER_MESSAGE]}, len(ops[i : i + OPS_PER_MESSAGE])) for i in range(0, len(ops), OPS_PER_MESSAGE)]


def _key_text(k: Any) -> str:
    v = cell(k)
    return v if isinstance(v, str) else str(v)
