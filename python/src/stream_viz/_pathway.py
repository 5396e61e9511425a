"""Pathway bindings. Imported only when a Pathway table is given, so Pathway stays optional.

Pathway calls subscribers on its worker thread with the GIL held: the callbacks here only record
the change in a per-commit dict. At the end of each commit (on_time_end) the commit is merged into
the widget's buffers under the lock in one step, so a flush never carries half a commit; encoding
and network I/O happen on the SDK's own thread.
"""

from __future__ import annotations

import hashlib
import operator
from typing import Any

from ._encode import key_text, number, time_ms
from ._errors import InvalidOptionError, MultipleRowsError, NotNumericError, UnknownColumnError
from ._widgets import Chart, Commit, Table, Values, _ValueWidget

Row = dict[str, Any]  # a live row: column -> value


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
        held = getattr(hint, "__name__", hint)
        raise InvalidOptionError(widget, "column", column, f"a numeric column; {column!r} holds {held}{_json_hint(hint, column)}")


def _json_hint(hint: Any, column: str) -> str:
    """How to make a Json column (a field of a JSON message: pw.this.data["price"]) a number."""
    import typing

    names = {getattr(a, "__name__", str(a)) for a in (typing.get_args(hint) or (hint,))}
    return f" (convert it, e.g. pw.this.{column}.as_float())" if "Json" in names else ""


def _source(table: Any) -> tuple[Any, list[str], bool]:
    """What the SDK subscribes to for this table, the columns of the values each change brings
    (in order), and whether that is the table's stream of changes.

    Through Pathway's value-list sink the SDK subscribes to table.remove_errors().to_stream(): Pathway then
    hands over one change per key and commit, an update as one upsert (its new values) instead
    of a retraction and an insertion, a deletion with the values deleted, each with a last
    value saying which it is. Every change is one Python call on Pathway's thread, so a table
    whose rows are updated in place costs half the calls (to_stream is a stateless operator of
    Pathway's own, in Rust). The rest of the SDK keeps the live rows itself and never needed
    the retracted values of an update. Without that sink, or on a Pathway without to_stream,
    the table itself (retractions and insertions)."""
    columns = columns_of(table)
    if _raw_sink() is None or not hasattr(table, "to_stream"):
        return table, columns, False
    flag = "_sv_upsert"
    while flag in columns:
        flag = "_" + flag
    try:
        # Under pw.run(terminate_on_error=False) a row whose value failed is an error row, which
        # a sink skips: in the stream of changes the update that made it one would be skipped
        # whole, and the row before it left on the dashboard. Without error rows the update is a
        # deletion, as subscribers of the table itself see it (its retraction, and nothing else).
        clean = table.remove_errors() if hasattr(table, "remove_errors") else table
        stream = clean.to_stream(flag)
    except (TypeError, ValueError):  # a Pathway whose to_stream takes no column name
        return table, columns, False
    if columns_of(stream) != [*columns, flag]:
        return table, columns, False
    return stream, [*columns, flag], True


def _subscribe(source: tuple[Any, list[str], bool], w: Any, binding: Any, name: str) -> None:
    """Pathway's thread only records each change in the commit's two dicts (inserted and
    retracted rows by Pathway key) and, when the commit ends, hands them over whole (one lock,
    O(1)); the binding folds them later on the SDK's thread.

    A row's values come as Pathway's value-list sink gives them, a tuple in the order of the
    source's columns (_source), and stay so: the SDK makes a dict of one only to encode it.
    (pw.io.subscribe builds a dict per change on Pathway's thread, the largest share of what a
    subscription costs it.)

    Restarted with pw.persistence, Pathway hands a sink the rows it restored (a commit at time
    0 with every live row) unless the sink skips that "persisted batch"; after it, only new
    changes, including retractions of rows restored, which a binding that keeps the live rows
    must know. Such bindings take it (binding.replay): every restored row is upserted again,
    which leaves the dashboard (same data dir) as it was, or completes it when the last run
    stopped before publishing its last commits. A chart of points at commit times keeps no
    rows and skips it: its points are already on the dashboard."""
    import pathway as pw

    table, _columns, streamed = source
    # Two dicts for the whole run, copied and emptied at each commit's end: the per-change
    # callback reaches them through default arguments, with no lookup (it runs once per change),
    # and stores the change with no object of its own (a tuple per change was a third of what the
    # callback cost, and more work for the garbage collector). The values are tuples of plain
    # values (numbers, text, Pathway keys), which the collector stops tracking in its young
    # collections, so commits held until the SDK folds them (up to seconds) never reach its old
    # generation and set off full collections over the whole heap.
    inserted: dict[Any, tuple[Any, ...]] = {}
    retracted: dict[Any, tuple[Any, ...]] = {}

    def on_time_end(time: int) -> None:
        if inserted or retracted:
            commit = (inserted.copy(), retracted.copy(), time)
            inserted.clear()
            retracted.clear()
            w._commit(commit)

    w._binding = binding
    sink = _raw_sink()
    if sink is not None:
        callback_sink, table_to_datasink = sink

        if streamed:
            # A change of table.to_stream(): its last value is True for an upsert, False for a deletion.
            def on_values(key: Any, values: tuple[Any, ...], time: int, diff: int,
                          ins: Any = inserted, ret: Any = retracted) -> None:
                if values[-1]:
                    ins[key] = values
                else:
                    ret[key] = values
        else:
            def on_values(key: Any, values: tuple[Any, ...], time: int, diff: int,
                          ins: Any = inserted, ret: Any = retracted) -> None:
                if diff > 0:
                    ins[key] = values
                else:
                    ret[key] = values

        table_to_datasink(table, callback_sink(on_change=on_values, on_time_end=on_time_end, on_end=lambda: None,
                                               skip_persisted_batch=not getattr(binding, "replay", True), skip_errors=True,
                                               unique_name=f"stream_viz_{name}"))
        return

    def on_change(key: Any, row: Row, time: int, is_addition: bool) -> None:
        (inserted if is_addition else retracted)[key] = tuple(row.values())

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
    """The live rows of a Pathway table, updated a batch of commits at a time (SDK thread only),
    each kept as its tuple of values.

    A Pathway key names one row, and within one commit a key gets at most a retraction of its
    old row and an insertion of its new one, in either order (from table.to_stream(), one of
    them: an upsert or a deletion): so a commit's verdict on a key is its inserted row when it
    has one (an update in place, never a delete and an insert), else None (deleted). Later
    commits' verdicts override earlier ones, so a batch of commits folds into one verdict per key
    with C-level dict updates; the per-key Python work then runs once per batch, however many
    commits changed the key.
    """

    def __init__(self, columns: list[str]) -> None:
        self.columns = columns
        self.at = {c: i for i, c in enumerate(columns)}  # column -> its index in a row's values
        self.row: dict[Any, Values] = {}
        # Keys of the last apply() whose row before was not known here but read off its
        # retraction (a row live before a restart whose persisted batch this sink skipped).
        self.unknown: set[Any] = set()

    def apply(self, commits: list[Commit]) -> list[tuple[Any, Values | None, Values | None]]:
        """(key, row before, row now) for each key the commits changed; None when not live. A
        row back as it was (retracted and inserted again with the same values within the batch)
        comes with now == before."""
        verdict: dict[Any, Values | None] = {}
        for inserted, retracted, _time in commits:
            verdict.update(dict.fromkeys(retracted))
            verdict.update(inserted)
        out: list[tuple[Any, Values | None, Values | None]] = []
        rows = self.row
        unknown: list[Any] = []
        self.unknown = set()
        for key, now in verdict.items():
            before = rows.get(key)
            if now is None:
                if before is None:
                    unknown.append(key)
                    continue
                del rows[key]
            else:
                rows[key] = now
            out.append((key, before, now))
        for key in unknown:
            # Deleted rows not live here before the batch: a row live before a restart whose
            # restored rows this sink skipped, or one inserted and deleted within the batch, which
            # a restart's restored rows may have put on the dashboard. Its first change says what
            # it was (a retraction, or an insertion where the stream of changes has no retraction
            # of the row before it), so the dashboard loses it.
            gone = next(retracted[key] if key in retracted else inserted[key]
                        for inserted, retracted, _time in commits if key in retracted or key in inserted)
            self.unknown.add(key)
            out.append((key, gone, None))
        return out

    def dicts(self, changes: list[tuple[Any, Values | None, Values | None]]) -> list[tuple[Any, Row | None, Row | None]]:
        """The same changes with each row as a dict of column -> value."""
        cols = self.columns
        return [(key, None if before is None else dict(zip(cols, before, strict=True)),
                 None if now is None else dict(zip(cols, now, strict=True))) for key, before, now in changes]


class _TableBinding:
    """A Pathway table on a table widget: one entry per Pathway row, or with key= one per value
    of the key column.

    With key=, several live rows may hold one key value. The entry then shows one of them (the
    one that took the value or changed most recently, as far as a flush can tell) and stays as
    long as any row holds the value: a row that leaves it (deleted, or moved to another value)
    hands the entry to another row still holding it, and only the last one takes it away."""

    def __init__(self, w: Table, columns: list[str], cols: list[str] | None, key_col: str | None,
                 table_columns: list[str] | None = None):
        # columns: those of a change's values (the table's, and to_stream's flag after them);
        # table_columns: the table's own (default: columns); cols: the ones the widget shows.
        self.w, self.key_col, self.rows = w, key_col, _Rows(columns)
        own = columns if table_columns is None else table_columns
        # The table's rows go out as tuples in this order, all of a row's values or the shown ones.
        w._row_columns = list(own if cols is None else cols)
        self.pick = None if cols is None and len(own) == len(columns) else _picker([self.rows.at[c] for c in w._row_columns])
        self.key_at = None if key_col is None else self.rows.at[key_col]
        self.texts: dict[Any, str] = {}  # Pathway key -> its text: str() of a Pointer is not cheap
        # With key=: key value text -> the Pathway key of the one live row holding it, or a dict
        # of the Pathway keys of the several holding it (in the order they took it).
        self.holders: dict[str, Any] = {}
        # Key values held by several rows (and, until the end of the flush, those that were): the
        # Pathway key of the row the entry shows. Any other key value's entry shows its one holder.
        self.shown: dict[str, Any] = {}

    def fold(self, commits: list[Commit]) -> None:
        ops = self.w._f_ops
        pick = self.pick
        # A row that is back as it was (retracted and inserted again with the same values) is
        # already on the dashboard: not sent again.
        changes = self.rows.apply(commits)
        ki = self.key_at
        if ki is None:
            texts = self.texts
            for key, before, now in changes:
                if now is not None and now == before:
                    continue
                k = texts.get(key)
                if k is None:
                    k = texts[key] = _text(key)
                if now is None:
                    del texts[key]
                    ops[k] = None
                else:
                    ops[k] = now if pick is None else pick(now)
            return
        # Keyed by a column: most updates keep their key value and their row keeps its entry;
        # only rows that take or leave a key value (inserted, deleted, or moved) change who
        # holds it, and only key values some row left are looked at again.
        upserts: dict[str, Values] = {}
        left: set[str] = set()  # key values some row gave up
        holders, shown = self.holders, self.shown
        for key, before, now in changes:
            if now is None:
                k = _key_of(before[ki])  # type: ignore[index]  # a change has a row before or after
                left.add(k)
                self._leave(k, key)
                continue
            if now == before:
                continue
            kv = now[ki]
            k = kv if type(kv) is str and 0 < len(kv) <= _SAFE_KEY_CHARS else _key_of(kv)
            if before is None:
                self._take(k, key)
            elif before[ki] != kv:
                kb = _key_of(before[ki])
                left.add(kb)
                self._leave(kb, key)
                self._take(k, key)
            upserts[k] = now if pick is None else pick(now)
        if shown:
            # Some key values are held by several rows: the upserted ones show the row upserted
            # last (the one in upserts).
            for key, before, now in changes:
                if now is not None and now != before:
                    kv = now[ki]
                    k = kv if type(kv) is str and 0 < len(kv) <= _SAFE_KEY_CHARS else _key_of(kv)
                    if type(holders.get(k)) is dict:
                        shown[k] = key
                    else:
                        shown.pop(k, None)
        rows = self.rows.row
        for k in left - upserts.keys():
            h = holders.get(k)
            s = shown.pop(k, None)
            if h is None:
                ops[k] = None  # no row holds it any more
            elif type(h) is dict:
                if s not in h:  # the row shown left: another one holding it takes the entry
                    s = next(reversed(h))  # the one that took it most recently
                    ops[k] = rows[s] if pick is None else pick(rows[s])
                shown[k] = s
            elif s is not None and s != h:  # one row is left, and it was not the one shown
                ops[k] = rows[h] if pick is None else pick(rows[h])
        ops.update(upserts)

    def _take(self, k: str, key: Any) -> None:
        holders = self.holders
        h = holders.get(k)
        if h is None:
            holders[k] = key
        elif type(h) is dict:
            h[key] = None
        elif h != key:
            holders[k] = {h: None, key: None}
            self.shown.setdefault(k, h)  # a key value held by one row shows that row

    def _leave(self, k: str, key: Any) -> None:
        holders = self.holders
        h = holders.get(k)
        if type(h) is dict:
            h.pop(key, None)
            if len(h) == 1:
                holders[k] = next(iter(h))
        elif h == key:
            del holders[k]


def _picker(at: list[int]) -> Any:
    """A function that takes the values at these indexes out of a row's tuple, as a tuple."""
    if not at:  # a table of no columns (t.select(), only its ids): rows of nothing
        return lambda values: ()
    if len(at) == 1:
        i = at[0]
        return lambda values: (values[i],)
    return operator.itemgetter(*at)


def bind_table(w: Table, table: Any) -> None:
    check_columns(w.id, table, *(w.columns or []), w.sort_by, w.key)
    # Rows go out as Pathway gives them unless the widget shows fewer columns.
    cols = None if w.columns is None or list(w.columns) == columns_of(table) else list(w.columns)
    source = _source(table)
    _subscribe(source, w, _TableBinding(w, source[1], cols, w.key, columns_of(table)), w.id)


def _text(k: Any) -> str:
    return k if isinstance(k, str) else str(k)


# A key is 1 to 256 bytes of UTF-8 (docs/protocol.md §1.3); a text of at most 64 characters
# and not empty is one, whatever its characters.
_MAX_KEY_BYTES = 256
_SAFE_KEY_CHARS = _MAX_KEY_BYTES // 4


def _key_of(value: Any) -> str:
    """The key of a key column's value: its text, or when that text cannot be a key (empty, or
    longer than 256 bytes) "sha256:" and 32 hex digits of its hash, as the server keys a row by
    its content (docs/protocol.md §1.6). Sent as it was, such a key got the message refused, and
    with it every other row of the commit."""
    k = key_text(value)
    if 0 < len(k) <= _SAFE_KEY_CHARS:
        return k
    b = k.encode("utf-8", "surrogatepass")
    if 0 < len(b) <= _MAX_KEY_BYTES:
        return k
    return "sha256:" + hashlib.sha256(b).hexdigest()[:32]


class _ValueBinding:
    def __init__(self, w: _ValueWidget, columns: list[str], column: str):
        self.w, self.column, self.rows = w, column, _Rows(columns)

    def fold(self, commits: list[Commit]) -> None:
        # Commit by commit: a single-row table is cheap to fold, and each commit's value counts
        # (the last single-row value stays when a later commit adds rows).
        for commit in commits:
            self._fold_one(commit)

    def _fold_one(self, commit: Commit) -> None:
        if not self.rows.apply([commit]):
            return
        w, n = self.w, len(self.rows.row)
        if n > 1:
            w._dash._warn_once(f"rows:{w.id}", str(MultipleRowsError(w.id, n)))
            return
        value = next(iter(self.rows.row.values()))[self.rows.at[self.column]] if n == 1 else None
        try:
            w._set_folded(number(value))
        except TypeError:
            w._dash._warn_once(f"num:{w.id}", str(NotNumericError(w.id, value)))


def bind_value(w: _ValueWidget, table: Any, column: str) -> None:
    check_columns(w.id, table, column)
    check_numeric(w.id, table, column)
    source = _source(table)
    _subscribe(source, w, _ValueBinding(w, source[1], column), w.id)


def _series_name(v: Any) -> str:
    """A series_column value as its legend name: text as is, anything else as Pathway's writer
    prints it, the text the server names a `.rows` series by (docs/protocol.md §1.3, "Key
    texts"): json.dumps gave `[1, "a"]` where the writer gives `[1,"a"]`, and a datetime's
    isoformat() where it gives nanoseconds and `+0000`."""
    return key_text(v)


class _ChartRows:
    """What a chart takes from a row: (series, y) pairs, by series_column, by the y columns, or the
    one y column into the default series."""

    def __init__(self, w: Chart):
        self.w = w
        ys = _y_columns(w)
        self.series_col = w.series_column
        self.named = isinstance(w.y_column, list)
        self.ys = ys

    def pairs(self, row: Row) -> list[tuple[str, Any]]:
        w = self.w
        out = []
        for col in self.ys:
            try:
                y = number(row[col])
            except TypeError:
                w._dash._warn_once(f"num:{w.id}", str(NotNumericError(w.id, row[col])))
                continue
            if self.series_col is not None:
                name = _series_name(row[self.series_col])
                if len(name.encode()) > 200:
                    w._dash._warn_once(f"series:{w.id}", f"stream_viz: chart {w.id!r}: series name {name[:40]!r}... of column "
                                       f"{self.series_col!r} is longer than 200 bytes; such rows are not shown")
                    continue
                out.append((name, y))
            else:
                out.append((col if self.named else "", y))
        return out


class _TimeChartBinding:
    """No x column: one point per inserted row (per series), at the commit's time."""

    replay = False  # a restart's restored rows were points of the last run: not again

    def __init__(self, w: Chart, columns: list[str]):
        self.w, self.columns, self.take = w, columns, _ChartRows(w)

    def fold(self, commits: list[Commit]) -> None:
        columns, take = self.columns, self.take
        per: dict[str, list[tuple[int, Any]]] = {}
        for inserted, _retracted, time in commits:
            for values in inserted.values():
                for series, y in take.pairs(dict(zip(columns, values, strict=True))):
                    per.setdefault(series, []).append((time, y))
        for series, pts in per.items():
            self.w._fold_points(series, pts)


_NONE = object()


class _XChartBinding:
    """One point per (series, x). The live rows at each (series, x) are kept; the point shows the
    one inserted or changed most recently (ties within one Pathway commit: the greater Pathway
    key), its retraction brings back the next one, and the point goes with the last row. So the
    chart follows Pathway's rows exactly and never shows a value of a retracted row."""

    def __init__(self, w: Chart, columns: list[str], x: str):
        self.w, self.x, self.rows, self.take = w, x, _Rows(columns), _ChartRows(w)
        self.category = w.x_type == "category"
        self.groups: dict[tuple[str, Any], dict[Any, tuple[int, Any]]] = {}  # (series, x) -> {key: (commit no, y)}
        self.shown: dict[tuple[str, Any], Any] = {}  # (series, x) -> the y the dashboard has
        self.commits = 0
        self.seconds_said = False

    def _x(self, row: Row) -> Any:
        v = row[self.x]
        w = self.w
        if self.category:
            if v is None:
                return None
            text = v if isinstance(v, str) else _series_name(v)
            if not 1 <= len(text.encode()) <= 200:
                w._dash._warn_once(f"x:{w.id}", f"stream_viz: chart {w.id!r}: category {text[:40]!r} of x column {self.x!r} "
                                   "is not 1 to 200 bytes of text; such rows are not shown")
                return None
            return text
        try:
            ms = time_ms(v)
        except TypeError:
            w._dash._warn_once(f"x:{w.id}", f"stream_viz: chart {w.id!r}: x column {self.x!r} holds {v!r} "
                               f"({type(v).__name__}), not a number or a time; such rows are not shown")
            return None
        if not self.seconds_said and (type(v) is int or type(v) is float) and 1e9 <= abs(v) < 1e11:
            # As .send() says of a timestamp: a number is milliseconds, so a column of epoch
            # seconds (a `ts` read from a log) lands in January 1970 without a word.
            self.seconds_said = True
            w._dash._warn_once(f"seconds:{w.id}", f"stream_viz: chart {w.id!r}: x column {self.x!r} holds {v!r}, which looks "
                               "like epoch seconds, but a number is taken as milliseconds (it lands in January 1970); "
                               f"convert it, e.g. pw.this.{self.x}.dt.utc_from_timestamp(unit=\"s\"), or multiply it by 1000")
        return ms

    def fold(self, commits: list[Commit]) -> None:
        # Each key's last insertion: which commit of the batch it came in, for the recency rule.
        last: dict[Any, int] = {}
        for i, (inserted, _retracted, _time) in enumerate(commits):
            last.update(dict.fromkeys(inserted, i))
        base = self.commits
        self.commits += len(commits)
        groups, take, shown = self.groups, self.take, self.shown
        touched: set[tuple[str, Any]] = set()
        rows = self.rows
        for key, before, now in rows.dicts(rows.apply(commits)):
            if before is not None:
                x = self._x(before)
                if x is not None:
                    unknown = key in self.rows.unknown
                    for series, _y in take.pairs(before):
                        g = (series, x)
                        grp = groups.get(g)
                        if grp is not None and grp.pop(key, None) is not None:
                            touched.add(g)
                        elif unknown and not grp:
                            # A row from before a restart, unseen here: its point goes unless
                            # a row seen since holds that x.
                            shown.setdefault(g, None)
                            touched.add(g)
            if now is not None:
                x = self._x(now)
                if x is not None:
                    stamp = base + last.get(key, 0)
                    for series, y in take.pairs(now):
                        g = (series, x)
                        grp = groups.get(g)
                        if grp is None:
                            grp = groups[g] = {}
                        grp[key] = (stamp, y)
                        touched.add(g)
        w = self.w
        for g in touched:
            grp = groups.get(g)
            if not grp:
                groups.pop(g, None)
                if shown.pop(g, _NONE) is not _NONE:
                    w._fold_remove(g[0], g[1])
                continue
            # The newest row's y; ties go to the largest key, so the choice never depends on order.
            y = next(iter(grp.values()))[1] if len(grp) == 1 else max(grp.items(), key=lambda kv: (kv[1][0], _text(kv[0])))[1][1]
            old = shown.get(g, _NONE)
            if old is _NONE or old != y:
                shown[g] = y
                w._fold_upsert(g[0], g[1], y)


# Pathway column types a chart's x can be: numbers, times and (as categories) text.
_X_NUMERIC = ("int", "float", "bool", "DateTimeNaive", "DateTimeUtc", "datetime", "Timestamp")


def _x_kind(w: Chart, table: Any) -> str:
    """"category" for a text x column, "number" for numbers and times; anything else is refused."""
    import typing

    hint = table.schema.typehints().get(w.x_column)
    if hint is None or hint is Any:
        return "number"
    args = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
    names = {getattr(a, "__name__", str(a)) for a in args}
    if names == {"str"}:
        return "category"
    if names <= set(_X_NUMERIC):
        return "number"
    shown = " | ".join(sorted(names))
    column = str(w.x_column)
    hint_text = f" (convert it, e.g. pw.this.{column}.dt.seconds())" if "Duration" in names else _json_hint(hint, column)
    raise InvalidOptionError(w.id, "x_column", w.x_column,
                             f"a column of numbers, times or text (categories); {w.x_column!r} holds {shown}{hint_text}")


def _y_columns(w: Chart) -> list[str]:
    # sv.chart resolves a Pathway chart's y_column to a column name or a list of them before binding.
    assert w.y_column is not None
    return w.y_column if isinstance(w.y_column, list) else [w.y_column]


def bind_chart(w: Chart, table: Any) -> None:
    ys = _y_columns(w)
    if not ys:
        raise InvalidOptionError(w.id, "y_column", w.y_column, "a column name or a non-empty list of them")
    check_columns(w.id, table, *ys, w.x_column, w.series_column)
    for y in ys:
        check_numeric(w.id, table, y)
    if w.series_column is not None and len(ys) > 1:
        raise InvalidOptionError(w.id, "series_column", w.series_column,
                                 "one y column (series_column= names series by its values, a list of y columns by the columns)")
    if not isinstance(w.y_column, list) and w.series_column is None and w.label is None:
        w.label = w.y_column
    source = _source(table)
    if w.x_column is None:
        binding: Any = _TimeChartBinding(w, source[1])
    else:
        w.x_type = _x_kind(w, table)
        binding = _XChartBinding(w, source[1], w.x_column)
    _subscribe(source, w, binding, w.id)
