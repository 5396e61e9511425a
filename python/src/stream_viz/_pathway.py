"""Pathway bindings. Imported only when a Pathway table is given, so Pathway stays optional.

Pathway calls subscribers on its worker thread with the GIL held: the callbacks here only record
the change in a per-commit dict. At the end of each commit (on_time_end) the commit is merged into
the widget's buffers under the lock in one step, so a flush never carries half a commit; encoding
and network I/O happen on the SDK's own thread.
"""

from __future__ import annotations

import threading
from typing import Any

from ._encode import number, time_ms
from ._errors import InvalidOptionError, MultipleRowsError, NotNumericError, UnknownColumnError
from ._widgets import Chart, Table, _ValueWidget


def is_table(source: Any) -> bool:
    return type(source).__module__.startswith("pathway") and hasattr(source, "column_names") and hasattr(source, "schema")


def columns_of(table: Any) -> list[str]:
    return list(table.column_names())


def check_columns(widget: str, table: Any, *names: str | None) -> None:
    have = columns_of(table)
    for n in names:
        if n is not None and n not in have:
            raise UnknownColumnError(widget, n, have)


def _numeric_type(t: Any) -> bool:
    import typing

    args = typing.get_args(t)
    if args:  # Optional[float] and friends
        return all(_numeric_type(a) or a is type(None) for a in args)
    return t in (int, float, bool) or getattr(t, "__name__", "") in ("int", "float", "bool")


def check_numeric(widget: str, table: Any, column: str) -> None:
    hint = table.schema.typehints().get(column)
    if hint is not None and hint is not Any and not _numeric_type(hint):
        raise InvalidOptionError(widget, "column", column, f"a numeric column; {column!r} holds {getattr(hint, '__name__', hint)}")


def _subscribe(table: Any, on_change, on_time_end, name: str) -> None:
    import pathway as pw

    pw.io.subscribe(table, on_change=on_change, on_time_end=on_time_end, name=f"stream_viz_{name}")


class _Rows:
    """The live rows of a Pathway table, updated a commit at a time.

    Within one commit Pathway may deliver an update's retraction and insertion in either order,
    so changes are summed per key (+1 / -1) and the last inserted row is kept; at the commit's
    end a key is live when its count is positive. A retraction plus an insertion is therefore an
    update in place, never a delete followed by an insert.
    """

    def __init__(self) -> None:
        self.guard = threading.Lock()  # Pathway may call from several worker threads
        self.count: dict[Any, int] = {}
        self.row: dict[Any, dict] = {}
        self.delta: dict[Any, int] = {}
        self.added: dict[Any, dict] = {}

    def on_change(self, key: Any, row: dict, time: int, is_addition: bool) -> None:
        with self.guard:
            self.delta[key] = self.delta.get(key, 0) + (1 if is_addition else -1)
            if is_addition:
                self.added[key] = row

    def end_commit(self) -> list[tuple[Any, dict | None, dict | None]]:
        """(key, row before, row now) for each key the commit changed; None when not live."""
        with self.guard:
            delta, added = self.delta, self.added
            self.delta, self.added = {}, {}
            out = []
            for key, d in delta.items():
                before = self.row.get(key)
                n = self.count.get(key, 0) + d
                if n > 0:
                    now = added.get(key, before)
                    self.count[key], self.row[key] = n, now
                else:
                    now = None
                    self.count.pop(key, None)
                    self.row.pop(key, None)
                if before is not now:
                    out.append((key, before, now))
            return out

    def live(self) -> int:
        return len(self.count)


def bind_table(w: Table, table: Any) -> None:
    check_columns(w.id, table, *(w.columns or []), w.sort_by, w.key)
    cols, key_col = w.columns, w.key
    rows = _Rows()

    def on_time_end(time: int) -> None:
        changes = rows.end_commit()
        if not changes:
            return
        ops: dict[str, Any] = {}
        for key, before, now in changes:
            ref = now if now is not None else before
            k = _text(ref[key_col]) if key_col is not None else _text(key)
            if now is None:
                ops.setdefault(k, None)
            else:
                ops[k] = now if cols is None else {c: now[c] for c in cols}
        with w._dash.lock:
            w._apply_commit(ops)

    _subscribe(table, rows.on_change, on_time_end, w.id)


def _text(k: Any) -> str:
    return k if isinstance(k, str) else str(k)


def bind_value(w: _ValueWidget, table: Any, column: str) -> None:
    check_columns(w.id, table, column)
    check_numeric(w.id, table, column)
    rows = _Rows()

    def on_time_end(time: int) -> None:
        if not rows.end_commit():
            return
        n = rows.live()
        if n > 1:
            w._dash._warn_once(f"rows:{w.id}", str(MultipleRowsError(w.id, n)))
            return
        value = next(iter(rows.row.values()))[column] if n == 1 else None
        try:
            v = number(value)
        except TypeError:
            w._dash._warn_once(f"num:{w.id}", str(NotNumericError(w.id, value)))
            return
        with w._dash.lock:
            w._set_from_pipeline(v)

    _subscribe(table, rows.on_change, on_time_end, w.id)


def bind_chart(w: Chart, table: Any) -> None:
    check_columns(w.id, table, w.y_column, w.x_column)
    check_numeric(w.id, table, w.y_column)
    y_col, x_col = w.y_column, w.x_column
    if x_col is None:
        # One point per inserted row, at the commit's time.
        guard = threading.Lock()
        points: list[tuple[float, Any]] = []

        def on_change(key: Any, row: dict, time: int, is_addition: bool) -> None:
            if is_addition:
                with guard:
                    points.append((time, row[y_col]))

        def on_time_end(time: int) -> None:
            with guard:
                if not points:
                    return
                batch = list(points)
                points.clear()
            good = _numeric_points(w, batch)
            with w._dash.lock:
                for x, y in good:
                    w._append("", x, y)
                w._mark()

        _subscribe(table, on_change, on_time_end, w.id)
        return

    # One point per row, at its x: a changed row moves its point, a deleted row removes it.
    rows = _Rows()

    def on_time_end(time: int) -> None:
        changes = rows.end_commit()
        if not changes:
            return
        live_xs = {r[x_col] for r in rows.row.values()}
        ups, removes = [], []
        for _, before, now in changes:
            if before is not None and (now is None or before[x_col] != now[x_col]) and before[x_col] not in live_xs:
                removes.append(before[x_col])
            if now is not None:
                ups.append((now[x_col], now[y_col]))
        good = _numeric_points(w, ups)
        xs_removed = []
        for x in removes:
            try:
                xs_removed.append(time_ms(x))
            except TypeError:
                pass
        with w._dash.lock:
            for x in xs_removed:
                w._remove("", x)
            for x, y in good:
                w._upsert("", x, y)
            w._mark()

    _subscribe(table, rows.on_change, on_time_end, w.id)


def _numeric_points(w: Chart, pts: list[tuple[Any, Any]]) -> list[tuple[float, Any]]:
    out = []
    for x, y in pts:
        try:
            out.append((time_ms(x), number(y)))
        except TypeError:
            w._dash._warn_once(f"num:{w.id}", str(NotNumericError(w.id, y)))
    return out
