"""Pathway bindings. Imported only when a Pathway table is given, so Pathway stays optional.

Pathway calls subscribers on its worker thread with the GIL held: the callbacks here only record
the change in a per-commit dict. At the end of each commit (on_time_end) the commit is merged into
the widget's buffers under the lock in one step, so a flush never carries half a commit; encoding
and network I/O happen on the SDK's own thread.
"""

from __future__ import annotations

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


def _subscribe(table: Any, w: Any, binding: Any, name: str) -> None:
    """Pathway's thread only appends each change to a list and, when the commit ends, hands
    the list over whole (one lock, O(1)); the binding folds it later on the SDK's thread.

    A change is (key, values, time, is_addition), values in the table's column order: the
    row's dict is built on the SDK's thread, once per row that survives a batch, instead of
    by Pathway for every change (pw.io.subscribe builds one per change on Pathway's thread,
    the largest share of what a subscription costs it)."""
    import pathway as pw

    buf: list = []

    def on_time_end(time: int) -> None:
        nonlocal buf
        if buf:
            commit, buf = buf, []
            w._commit(commit)

    w._binding = binding
    sink = _raw_sink()
    if sink is not None:
        callback_sink, table_to_datasink = sink

        def on_values(key: Any, values: list, time: int, diff: int) -> None:
            buf.append((key, values, time, diff > 0))

        table_to_datasink(table, callback_sink(on_change=on_values, on_time_end=on_time_end, on_end=lambda: None,
                                               skip_persisted_batch=True, skip_errors=True,
                                               unique_name=f"stream_viz_{name}"))
        return

    def on_change(key: Any, row: dict, time: int, is_addition: bool) -> None:
        buf.append((key, list(row.values()), time, is_addition))

    pw.io.subscribe(table, on_change=on_change, on_time_end=on_time_end, name=f"stream_viz_{name}")


def _raw_sink() -> tuple[Any, Any] | None:
    """Pathway's own callback sink, the one under pw.io.subscribe, which passes each change as
    a list of values. It is internal to Pathway, so it is looked up, not assumed: without it
    the public pw.io.subscribe does the same job at its own cost."""
    try:
        from pathway.internals import datasink
        from pathway.internals.table_io import table_to_datasink
    except ImportError:
        return None
    sink = getattr(datasink, "CallbackDataSink", None)
    return None if sink is None else (sink, table_to_datasink)


class _Rows:
    """The live rows of a Pathway table, updated a batch of commits at a time (SDK thread only).

    A Pathway key names one row, and within one commit a key gets at most a retraction of its
    old row and an insertion of its new one, in either order: so a commit's verdict on a key is
    its inserted row when it has one (an update in place, never a delete and an insert), else
    None (deleted). Later commits' verdicts override earlier ones, so a batch of commits folds
    into one verdict per key with C-level dict updates; the per-key Python work (including
    building the row's dict from its values) then runs once per batch, however many commits
    changed the key.
    """

    def __init__(self, columns: list[str]) -> None:
        self.columns = columns
        self.row: dict[Any, dict] = {}

    def apply(self, commits: list[list]) -> list[tuple[Any, dict | None, dict | None]]:
        """(key, row before, row now) for each key the commits changed; None when not live."""
        verdict: dict[Any, list | None] = {}
        for commit in commits:
            verdict.update({key: None for key, _values, _time, is_addition in commit if not is_addition})
            verdict.update({key: values for key, values, _time, is_addition in commit if is_addition})
        out = []
        rows, columns = self.row, self.columns
        for key, values in verdict.items():
            before = rows.get(key)
            if values is None:
                if before is None:
                    continue
                del rows[key]
                now = None
            else:
                now = rows[key] = dict(zip(columns, values))
            out.append((key, before, now))
        return out


class _TableBinding:
    def __init__(self, w: Table, columns: list[str], cols: list[str] | None, key_col: str | None):
        self.w, self.cols, self.key_col, self.rows = w, cols, key_col, _Rows(columns)
        self.texts: dict[Any, str] = {}  # Pathway key -> its text: str() of a Pointer is not cheap

    def fold(self, commits: list[list]) -> None:
        ops = self.w._f_ops
        cols, key_col = self.cols, self.key_col
        if key_col is None:
            texts = self.texts
            for key, _before, now in self.rows.apply(commits):
                k = texts.get(key)
                if k is None:
                    k = texts[key] = _text(key)
                if now is None:
                    del texts[key]
                    ops[k] = None
                else:
                    ops[k] = now if cols is None else {c: now[c] for c in cols}
            return
        # Keyed by a column: a row whose key value changed leaves its old key, which is
        # deleted unless another row of this commit took it over.
        upserts: dict[str, dict] = {}
        left: set[str] = set()
        for _key, before, now in self.rows.apply(commits):
            if before is not None:
                left.add(_text(before[key_col]))
            if now is not None:
                upserts[_text(now[key_col])] = now if cols is None else {c: now[c] for c in cols}
        for k in left - upserts.keys():
            ops[k] = None
        ops.update(upserts)


def bind_table(w: Table, table: Any) -> None:
    check_columns(w.id, table, *(w.columns or []), w.sort_by, w.key)
    # Rows go out as Pathway gives them unless the widget shows fewer columns.
    cols = None if w.columns is None or list(w.columns) == columns_of(table) else list(w.columns)
    _subscribe(table, w, _TableBinding(w, columns_of(table), cols, w.key), w.id)


def _text(k: Any) -> str:
    return k if isinstance(k, str) else str(k)


class _ValueBinding:
    def __init__(self, w: _ValueWidget, columns: list[str], column: str):
        self.w, self.column, self.rows = w, column, _Rows(columns)

    def fold(self, commits: list[list]) -> None:
        # Commit by commit: a single-row table is cheap to fold, and each commit's value counts
        # (the last single-row value stays when a later commit adds rows).
        for commit in commits:
            self._fold_one(commit)

    def _fold_one(self, commit: list) -> None:
        if not self.rows.apply([commit]):
            return
        w, n = self.w, len(self.rows.row)
        if n > 1:
            w._dash._warn_once(f"rows:{w.id}", str(MultipleRowsError(w.id, n)))
            return
        value = next(iter(self.rows.row.values()))[self.column] if n == 1 else None
        try:
            w._set_folded(number(value))
        except TypeError:
            w._dash._warn_once(f"num:{w.id}", str(NotNumericError(w.id, value)))


def bind_value(w: _ValueWidget, table: Any, column: str) -> None:
    check_columns(w.id, table, column)
    check_numeric(w.id, table, column)
    _subscribe(table, w, _ValueBinding(w, columns_of(table), column), w.id)


class _TimeChartBinding:
    """No x column: one point per inserted row, at the commit's time."""

    def __init__(self, w: Chart, columns: list[str]):
        self.w, self.y = w, columns.index(w.y_column)

    def fold(self, commits: list[list]) -> None:
        y = self.y
        pts = _numeric_points(self.w, [(time, values[y]) for commit in commits for _key, values, time, is_addition in commit if is_addition])
        if pts:
            self.w._fold_points("", pts)


class _XChartBinding:
    """One point per row, at its x: a changed row moves its point, a deleted row removes it."""

    def __init__(self, w: Chart, columns: list[str]):
        self.w, self.x, self.y, self.rows = w, w.x_column, w.y_column, _Rows(columns)
        self.live_x: dict[Any, int] = {}  # x -> how many live rows sit there

    def fold(self, commits: list[list]) -> None:
        x_col, y_col, live_x = self.x, self.y, self.live_x
        ups, gone = [], []
        for _key, before, now in self.rows.apply(commits):
            if before is not None:
                bx = before[x_col]
                live_x[bx] -= 1
                if not live_x[bx]:
                    del live_x[bx]
            if now is not None:
                nx = now[x_col]
                live_x[nx] = live_x.get(nx, 0) + 1
                ups.append((nx, now[y_col]))
            if before is not None:
                gone.append(before[x_col])
        w = self.w
        for x in gone:
            if x not in live_x:
                try:
                    w._fold_remove("", time_ms(x))
                except TypeError:
                    pass
        for x, y in _numeric_points(w, ups):
            w._fold_upsert("", x, y)


def bind_chart(w: Chart, table: Any) -> None:
    check_columns(w.id, table, w.y_column, w.x_column)
    check_numeric(w.id, table, w.y_column)
    columns = columns_of(table)
    binding = _TimeChartBinding(w, columns) if w.x_column is None else _XChartBinding(w, columns)
    _subscribe(table, w, binding, w.id)


def _numeric_points(w: Chart, pts: list[tuple[Any, Any]]) -> list[tuple[float, Any]]:
    out = []
    for x, y in pts:
        try:
            out.append((time_ms(x), number(y)))
        except TypeError:
            w._dash._warn_once(f"num:{w.id}", str(NotNumericError(w.id, y)))
    return out
