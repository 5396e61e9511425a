"""Many updates at once: chart.extend(xs, ys) and table.send_many(rows).

Producers with arrays hand them over whole; they are checked once, kept as arrays, and turned
into columnar messages (docs/protocol.md §1.7: float64 columns, numpy's bytes as they are) on the
SDK's thread; what has no numbers for x (categories) or no numpy goes as JSON. numpy, pandas and
pyarrow are used when the caller's data is theirs (or, for numpy, when it is installed), never
required: plain lists work everywhere, with the same checks as .send() one value at a time.
"""

from __future__ import annotations

import importlib
import itertools
import logging
import re
import struct
import sys
from collections.abc import Iterable, Iterator
from json.encoder import encode_basestring
from typing import Any

from ._encode import dumps, number, time_ms

log = logging.getLogger("stream_viz")


class BadColumn(Exception):
    """A column refused: carries the argument's name (xs, ys[3], rows, ...) and what was expected.
    The widget raises it as its own error (InvalidOptionError or NotNumericError)."""

    def __init__(self, where: str, value: Any, expected: str, numeric: bool = False):
        super().__init__(where, value, expected)
        self.where, self.value, self.expected, self.numeric = where, value, expected, numeric


_missing = object()
_mods: dict[str, Any] = {}


def _module(name: str) -> Any:
    """numpy or pyarrow.compute if installed (imported on first use), else None."""
    m = _mods.get(name, _missing)
    if m is _missing:
        try:
            m = importlib.import_module(name)
        except Exception:  # absent, or installed but broken: the plain path works without it
            m = None
        _mods[name] = m
    return m


def _of(v: Any, package: str) -> bool:
    return type(v).__module__.partition(".")[0] == package


def loaded_numpy() -> Any:
    """numpy when this process has imported it, else None; never imports it itself.

    numpy is in sys.modules from the moment another thread starts importing it (the SDK's, on
    its first columnar message), but not yet complete: read from there, a send_many() on the
    user's thread meanwhile raised AttributeError ("partially initialized module 'numpy' has no
    attribute 'ndarray'"). The import system makes importlib wait for that import to finish."""
    return _module("numpy") if "numpy" in sys.modules else None


def is_numpy(v: Any) -> bool:
    np = loaded_numpy()
    return np is not None and isinstance(v, np.ndarray)


class Block:
    """Points handed over as two columns of n values: xs (int64/float64 numpy array, or a list)
    and ys (a numeric numpy array whose NaN and infinities are gaps, or a list of numbers and None)."""

    __slots__ = ("n", "xs", "ys")

    def __init__(self, xs: Any, ys: Any):
        self.xs, self.ys, self.n = xs, ys, len(xs)

    def tail(self, k: int) -> Block:
        """The newest k points (0 < k < n)."""
        return Block(self.xs[self.n - k :], self.ys[self.n - k :])

    def items(self) -> Iterator[tuple[Any, Any]]:
        """(x, y) pairs of Python values, y None for a gap (upserts, and tests)."""
        return zip(_py(self.xs), _py_y(self.ys), strict=True)

    def columns(self) -> tuple[Any, Any] | None:
        """xs and ys as float64 numpy arrays for a columnar message (docs/protocol.md §1.7), or
        None when the points cannot go that way (categories, no numpy). ys given as a list of
        numbers and None is converted once, None becoming NaN (a gap)."""
        np = loaded_numpy()
        xs, ys = self.xs, self.ys
        if np is None:
            return None
        if not is_numpy(xs):  # times given as datetimes, made epoch ms one by one; never categories
            if not xs or isinstance(xs[0], str):
                return None
            xs = np.array(xs, dtype=np.float64)
        elif xs.dtype.kind not in "iuf":
            return None
        if not is_numpy(ys):
            try:
                ys = np.array(ys, dtype=np.float64)  # None -> NaN
            except (TypeError, ValueError, OverflowError):
                return None
        elif ys.dtype.kind not in "iuf":
            return None
        return xs.astype(np.float64, copy=False), ys.astype(np.float64, copy=False)

    def fragment(self, i: int, j: int) -> bytes:
        """Points i..j as JSON array elements: [x,y],[x,y],... (what cannot go as columns)."""
        return dumps(list(zip(_py(self.xs[i:j]), _py_y(self.ys[i:j]), strict=True)))[1:-1]


def _py(a: Any) -> list[Any]:
    out: list[Any] = a.tolist() if is_numpy(a) else list(a)
    return out


def _py_y(a: Any) -> list[Any]:
    if not is_numpy(a):
        return list(a)
    out: list[Any] = a.tolist()
    if a.dtype.kind == "f":
        np = sys.modules["numpy"]
        for i in np.flatnonzero(~np.isfinite(a)).tolist():
            out[i] = None
    return out


COLUMNS_MAGIC = b"SVC1"


class Columns:
    """A columnar chart update (docs/protocol.md §1.7): "SVC1", the JSON head's length (uint32
    little-endian), the head {"n", "series", "as_of"}, then n x and n y as float64 little-endian.
    The server reads it without parsing numbers and passes the columns on to browsers as they are;
    numpy makes the bytes without touching a point in Python."""

    __slots__ = ("as_of", "series", "xs", "ys")

    def __init__(self, xs: Any, ys: Any, series: str = "", as_of: Any = None):
        self.xs, self.ys, self.series, self.as_of = xs, ys, series, as_of

    def encode(self) -> bytes:
        head: dict[str, Any] = {"n": len(self.xs)}
        if self.series:
            head["series"] = self.series
        if self.as_of is not None:
            head["as_of"] = self.as_of
        h = dumps(head)
        return b"".join((COLUMNS_MAGIC, struct.pack("<I", len(h)), h,
                         self.xs.astype("<f8", copy=False).tobytes(), self.ys.astype("<f8", copy=False).tobytes()))


def column_points(max_bytes: int, series: str) -> int:
    """Points per columnar message: 16 bytes each, under max_bytes with the head."""
    return max(1, (max_bytes - 128 - 6 * len(series.encode())) // 16)


def encode_appends(items: Iterable[Any], series: str, max_points: int, max_bytes: int,
                   numeric: bool = True) -> list[tuple[Any, int]]:
    """One append run of a chart series ((x, y) tuples and Blocks, in order) as encoded
    {"points": [...], "series": ...} messages of at most max_points points and about max_bytes,
    and, in a number chart (numeric), points with numbers as Columns messages (split evenly under
    max_bytes), in order."""
    tail = b"]" + (b',"series":' + dumps(series) if series else b"") + b"}"
    out: list[tuple[Any, int]] = []
    frags: list[bytes] = []
    size = n = 0

    def flush() -> None:
        nonlocal size, n
        if frags:
            out.append((b'{"points":[' + b",".join(frags) + tail, n))
            frags.clear()
            size = n = 0

    def add(frag: bytes, k: int) -> None:
        nonlocal size, n
        if frags and (n + k > max_points or size + len(frag) + 1 > max_bytes):
            flush()
        frags.append(frag)
        size += len(frag) + 1
        n += k

    def emit(seg: Any, count: int) -> None:
        for i in range(0, count, max_points):
            j = min(i + max_points, count)
            for frag, k in _fitting(seg, i, j, max_bytes):
                add(frag, k)

    # Grouped by type in C: a run of single points (x, y) from .send() is one list, encoded by
    # the C JSON encoder in one call; each Block is encoded from its arrays.
    per = column_points(max_bytes, series)

    def columnar(xs: Any, ys: Any, n: int) -> None:
        flush()  # what came before goes first
        parts = -(-n // per)
        step = -(-n // parts)
        for i in range(0, n, step):
            j = min(i + step, n)
            out.append((Columns(xs[i:j], ys[i:j], series), j - i))

    for kind, group in itertools.groupby(items, type):
        if kind is Block:
            for block in group:
                cols = block.columns()
                if cols is None:
                    emit(block, block.n)
                else:
                    columnar(cols[0], cols[1], block.n)
        else:
            singles = list(group)
            cols = singles_columns(singles) if numeric else None
            if cols is None:
                emit(singles, len(singles))
            else:
                columnar(cols[0], cols[1], len(singles))
    flush()
    return out


def singles_columns(pts: list[Any]) -> tuple[Any, Any] | None:
    """.send()'s (x, y) tuples of a number chart as float64 x and y columns, made by numpy in C
    (about 5x less CPU than JSON); None without numpy, or when an x is not a finite number (those
    keep the JSON path and its errors)."""
    np = _module("numpy")
    if np is None or not pts:
        return None
    n = 2 * len(pts)
    try:
        a = np.fromiter(itertools.chain.from_iterable(pts), dtype=np.float64, count=n)
    except TypeError:  # a gap (None): as NaN
        try:
            a = np.fromiter((_NAN if v is None else v for v in itertools.chain.from_iterable(pts)), dtype=np.float64, count=n)
        except (TypeError, ValueError, OverflowError):
            return None
    except (ValueError, OverflowError):
        return None
    xy = a.reshape(-1, 2)
    xs = xy[:, 0]
    if not np.isfinite(xs).all():
        return None
    return xs, xy[:, 1]


_NAN = float("nan")


def _fragment(seg: Any, i: int, j: int) -> bytes:
    if type(seg) is Block:
        return seg.fragment(i, j)
    return dumps(seg[i:j])[1:-1]  # (x, y) tuples encode as [x, y]


def _fitting(seg: Any, i: int, j: int, max_bytes: int) -> list[tuple[bytes, int]]:
    """Points i..j encoded, split in halves until each part fits max_bytes (long category names)."""
    frag = _fragment(seg, i, j)
    if j - i <= 1 or len(frag) <= max_bytes - 64:
        return [(frag, j - i)]
    mid = (i + j) // 2
    return _fitting(seg, i, mid, max_bytes) + _fitting(seg, mid, j, max_bytes)


# ---------------------------------------------------------------- reading columns


def _array(v: Any) -> Any:
    """A numpy array for numpy, pandas and Arrow columns (and for plain sequences when numpy is
    installed and they hold plain numbers or text); else a list."""
    if _of(v, "pyarrow"):
        if not hasattr(v, "to_numpy"):
            raise BadColumn("", v, "a column: a list, numpy array, pandas Series or pyarrow Array")
        pa = _module("pyarrow")

        t = v.type
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            return v.to_pylist()
        return v.to_numpy(zero_copy_only=False)
    if _of(v, "pandas"):
        dt = getattr(v, "dtype", None)
        if getattr(dt, "tz", None) is not None:  # times with a zone: the same instants in UTC, naive
            v = v.dt.tz_convert("UTC").dt.tz_localize(None) if hasattr(v, "dt") else v.tz_convert("UTC").tz_localize(None)
        a = v.to_numpy()
        if a.dtype.kind == "O" and getattr(dt, "kind", "O") in "iufb":  # nullable Int64, Float64, boolean with NA
            a = v.to_numpy(dtype="float64", na_value=float("nan"))
        return a
    if is_numpy(v):
        return v
    if isinstance(v, (str, bytes, dict)) or not hasattr(v, "__iter__"):
        raise BadColumn("", v, "a column: a list, numpy array, pandas Series or pyarrow Array")
    seq = v if isinstance(v, list) else list(v)
    np = _module("numpy")
    if np is not None and seq:
        try:
            a = np.asarray(seq)
        except (ValueError, TypeError, OverflowError):
            return seq
        if a.ndim == 1 and a.dtype.kind in "biuf":
            return a
    return seq


def xs_column(v: Any, category: bool) -> Any:
    """Chart x values: an int64/float64 numpy array (numbers, or times as epoch ms), a list of
    categories, or a list of Python numbers. Raises BadColumn naming the first bad value."""
    a = _array(v)
    if not is_numpy(a):
        return _categories(a) if category else _times(a)
    np = sys.modules["numpy"]
    if a.ndim != 1:
        raise BadColumn("xs", f"an array of shape {a.shape}", "one dimension")
    k = a.dtype.kind
    if category:
        if k not in "UO":
            raise BadColumn("xs[0]" if len(a) else "xs", a[0].item() if len(a) else f"an array of {a.dtype}",
                            "a category: text of 1 to 200 bytes")
        return _categories(a.tolist())
    if k == "U":
        raise BadColumn("xs[0]", a[0].item() if len(a) else a, "a number (ms) or a datetime (text x needs x_type='category')")
    if k == "M":
        bad = np.flatnonzero(np.isnat(a))
        if len(bad):
            raise BadColumn(f"xs[{bad[0]}]", a[bad[0]], "a time, not NaT")
        us = a.astype("datetime64[us]").astype(np.int64)
        return us // 1000 if (us % 1000 == 0).all() else us / 1000.0
    if k == "b":
        return a.astype(np.int64)
    if k in "iu":
        return a
    if k == "f":
        a = a.astype(np.float64, copy=False)
        bad = np.flatnonzero(~np.isfinite(a))
        if len(bad):
            raise BadColumn(f"xs[{bad[0]}]", a[bad[0]].item(), "a finite number (ms) or a datetime")
        return a
    if k == "O":
        return _times(a.tolist())
    raise BadColumn("xs", f"an array of {a.dtype}", "numbers (ms) or datetimes")


def _categories(a: list[Any]) -> list[Any]:
    for i, x in enumerate(a):
        if not isinstance(x, str) or not 1 <= len(x.encode()) <= 200:
            raise BadColumn(f"xs[{i}]", x, "a category: text of 1 to 200 bytes")
    return a


def _times(a: list[Any]) -> list[Any]:
    out = []
    for i, x in enumerate(a):
        try:
            out.append(time_ms(x))
        except TypeError:
            raise BadColumn(f"xs[{i}]", x, "a number (ms) or a datetime") from None
    _finite_xs(out)
    return out


def _finite_xs(xs: list[Any]) -> None:
    for i, x in enumerate(xs):
        if isinstance(x, float) and not -_INF < x < _INF:
            raise BadColumn(f"xs[{i}]", x, "a finite number (ms) or a datetime")


_INF = float("inf")


def ys_column(v: Any) -> Any:
    """Chart y values: a numeric numpy array (NaN and infinities are gaps) or a list of Python
    numbers and None, as number() makes them one at a time. Raises BadColumn(numeric=True)."""
    a = _array(v)
    if is_numpy(a):
        np = sys.modules["numpy"]
        if a.ndim != 1:
            raise BadColumn("ys", f"an array of shape {a.shape}", "one dimension")
        k = a.dtype.kind
        if k == "b":
            return a.astype(np.int64)
        if k in "iu":
            return a
        if k == "f":
            return a if a.dtype.itemsize in (4, 8) else a.astype(np.float64)
        if k != "O":
            raise BadColumn("ys[0]", a[0].item() if len(a) else a, "numbers", numeric=True)
        a = a.tolist()
    out = []
    for i, y in enumerate(a):
        try:
            out.append(number(y))
        except TypeError:
            raise BadColumn(f"ys[{i}]", y, "a number or None", numeric=True) from None
    return out


def series_columns(ys: Any) -> list[tuple[str, Any]] | None:
    """{series: column} from a dict, a pandas DataFrame or a pyarrow Table (one series per column);
    None when ys is one column."""
    if isinstance(ys, dict):
        return [(str(k), v) for k, v in ys.items()]
    if _of(ys, "pandas") and getattr(ys, "ndim", 1) == 2:
        return [(str(c), ys[c]) for c in ys.columns]
    if _of(ys, "pyarrow") and hasattr(ys, "column_names"):
        return [(str(c), ys.column(c)) for c in ys.column_names]
    return None


# ---------------------------------------------------------------- table rows


def rows_of(rows: Any) -> tuple[list[dict[str, Any]], bool]:
    """Row dicts from a list of dicts, a pandas DataFrame, a pyarrow Table or RecordBatch, a numpy
    structured array, or a dict of columns {name: sequence} of equal lengths; and whether the
    dicts were made here (else they are the caller's)."""
    if _of(rows, "pyarrow") and hasattr(rows, "to_pylist") and hasattr(rows, "column_names"):
        out: list[dict[str, Any]] = rows.to_pylist()
        return out, True
    if _of(rows, "pandas") and getattr(rows, "ndim", 1) == 2:
        names = [str(c) for c in rows.columns]
        return _zip_rows(names, [rows[c].tolist() for c in rows.columns]), True
    if is_numpy(rows) and rows.dtype.names:
        names = list(rows.dtype.names)
        return _zip_rows(names, [_py_cells(rows[n]) for n in names]), True
    if isinstance(rows, dict):
        names = [str(k) for k in rows]
        cols = [_py_cells(c) if is_numpy(c) else (c.tolist() if hasattr(c, "tolist") else
                                                  c.to_pylist() if hasattr(c, "to_pylist") else list(c))
                for c in rows.values()]
        lengths = {n: len(c) for n, c in zip(names, cols, strict=True)}
        if len(set(lengths.values())) > 1:
            raise BadColumn("rows", f"columns of lengths {lengths}", "columns of equal length")
        return _zip_rows(names, cols), True
    if isinstance(rows, (str, bytes)) or not hasattr(rows, "__iter__"):
        raise BadColumn("rows", rows, "a list of dicts, a pandas DataFrame, a pyarrow Table or a dict of columns")
    out = rows if isinstance(rows, list) else list(rows)
    for i, r in enumerate(out):
        if not isinstance(r, dict):
            raise BadColumn(f"rows[{i}]", r, "a dict of column -> value")
    return out, False


def _py_cells(a: Any) -> list[Any]:
    # numpy's datetime64[ns].tolist() gives integers: microseconds give datetimes, as .send() takes them.
    if a.dtype.kind == "M":
        a = a.astype("datetime64[us]")
    out: list[Any] = a.tolist()
    return out


def _zip_rows(names: list[str], cols: list[list[Any]]) -> list[dict[str, Any]]:
    return [dict(zip(names, vals, strict=True)) for vals in zip(*cols, strict=True)]


# ---------------------------------------------------------------- columnar table rows

TABLE_COLUMNS_MAGIC = b"SVT1"
_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1


class TableBlock:
    """Rows of a keyed table as columns, ready for columnar table updates (docs/protocol.md §1.8):
    keys as UTF-8 texts, or as an int64 numpy array when the key column holds whole numbers
    (key_type "i64": the server keys each row by its number's decimal text, as .send() does); each
    column either numbers (numpy int64 or float64: the server prints them) or one JSON text per
    cell, as .send() would encode the cell (a list, or an object array cut by numpy out of the
    column's texts encoded together, when none of them needs escaping)."""

    __slots__ = ("cols", "int_keys", "keys", "lens", "n", "sizes")

    def __init__(self, keys: Any, cols: list[tuple[str, str, Any]]):
        import numpy as np

        self.keys, self.cols, self.n = keys, cols, len(keys)
        self.int_keys = is_numpy(keys)

        def lengths(ts: Any) -> Any:
            if type(ts) is _Packed:
                return ts.lens
            return np.fromiter(map(len, ts), dtype="<u4", count=self.n)

        # The texts' lengths (keys first, then each JSON column's; None for numbers), as sent.
        self.lens: list[Any] = [None if self.int_keys else lengths(keys)]
        self.lens += [lengths(data) if typ == "json" else None for _name, typ, data in cols]
        fixed = 8 if self.int_keys else 4
        fixed += 4 * sum(typ == "json" for _n, typ, _d in cols) + 8 * sum(typ != "json" for _n, typ, _d in cols)
        self.sizes = sum((ln.astype(np.int64) for ln in self.lens if ln is not None), np.full(self.n, fixed, dtype=np.int64))

    def key_texts(self) -> list[str]:
        """The rows' keys as the server keys them (a whole number by its decimal text)."""
        if self.int_keys:
            return list(map(str, self.keys.tolist()))
        if type(self.keys) is _Packed:
            return self.keys.texts()
        return [k.decode() for k in self.keys]

    def head_bytes(self) -> int:
        """At most what a message of these columns spends besides its rows (magic, head, as_of)."""
        return 80 + sum(len(dumps(name)) + 8 for name, _t, _d in self.cols)

    def parts(self, max_bytes: int) -> list[TableColumns]:
        """The rows in order, as messages of at most max_bytes each (a row alone may exceed it: the
        server then refuses its message, naming the size, as it would the JSON op)."""
        import numpy as np

        head = self.head_bytes()
        ends = np.cumsum(self.sizes)
        out: list[TableColumns] = []
        i = 0
        while i < self.n:
            base = int(ends[i - 1]) if i else 0
            j = int(np.searchsorted(ends, base + max(1, max_bytes - head), side="right"))
            j = max(j, i + 1)
            out.append(TableColumns(self, i, j))
            i = j
        return out


class _Packed:
    """Texts of a column packed in one buffer: buf holds them one after the other, offs[i] where
    text i starts (offs[n] the end), lens their lengths (uint32, as sent). Made by numpy from one
    join and one encode, with no Python step per row (_pack)."""

    __slots__ = ("buf", "lens", "offs", "strs")

    def __init__(self, buf: bytes, offs: Any, lens: Any, strs: Any):
        self.buf, self.offs, self.lens = buf, offs, lens
        # The texts as given (keys: the SDK's thread counts them), or the Arrow array they were
        # packed from, made a list only if asked for.
        self.strs = strs

    def texts(self) -> list[str]:
        if type(self.strs) is not list:
            self.strs = self.strs.to_pylist()
        out: list[str] = self.strs
        return out

    def __len__(self) -> int:
        return len(self.lens)

    def rows(self, i: int, j: int) -> bytes:
        """Texts i..j-1, one after the other."""
        return self.buf[int(self.offs[i]) : int(self.offs[j])]


# What JSON escapes in a string (encode_basestring: quotes, backslashes, control characters).
_ESCAPED = re.compile(r'[\x00-\x1f"\\]')


def _pack(values: list[str], quoted: bool) -> _Packed | None:
    """Texts (all str) packed as UTF-8, each as is or, quoted, as its JSON string (what
    encode_basestring makes of it, which is the text in quotes when nothing in it is escaped).
    None when a text holds NUL (the separator) or, quoted, anything JSON escapes: the caller
    encodes value by value. Raises UnicodeEncodeError for text that cannot be UTF-8."""
    np = sys.modules["numpy"]
    n = len(values)
    body = "".join(values)
    if not n or (quoted and _ESCAPED.search(body)) or (not quoted and "\x00" in body):
        return None
    q = '"' if quoted else ""
    enc = (q + (q + "\x00" + q).join(values) + q).encode()
    arr = np.frombuffer(enc, dtype=np.uint8)
    ends = np.empty(n + 1, dtype=np.int64)
    ends[0] = -1
    ends[1:-1] = np.flatnonzero(arr == 0)
    ends[-1] = len(arr)
    lens = np.diff(ends) - 1
    offs = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lens, out=offs[1:])
    return _Packed(arr[arr != 0].tobytes() if n > 1 else enc, offs, lens.astype("<u4"), values)


def _factorized(c: Any, n: int) -> _Packed | None:
    """A pandas column of text (a string dtype, or objects that are all str, None or NaN) whose
    values repeat, packed as the JSON texts .send() makes of them: pandas finds the distinct values
    (factorize), each is encoded once, and numpy gathers every row's bytes from them, with no Python
    step per row. None when that does not pay (mostly distinct values, or lengths so uneven that the
    gathering would move far more bytes than it keeps): the caller encodes value by value. Only text
    is grouped so: factorize holds 1, 1.0 and True equal, which JSON does not."""
    np, pd = sys.modules["numpy"], sys.modules["pandas"]
    if n < 64:
        return None
    text = isinstance(c.dtype, pd.StringDtype)
    if not text and not (c.dtype == object and pd.api.types.infer_dtype(c, skipna=True) == "string"):
        return None
    codes, uniques = pd.factorize(c, use_na_sentinel=True)
    m = len(uniques)
    if m > n // 16:
        return None
    # Missing values (None, NaN, pandas' NA) are null, as .send() sends them; it is text m.
    enc = [encode_basestring(v).encode() for v in uniques] + [b"null"]
    if m and int(codes.min()) < 0:
        codes = np.where(codes < 0, m, codes)
    lu = np.fromiter(map(len, enc), dtype=np.int64, count=m + 1)
    lens = lu[codes]
    width = int(lens.max())
    total = int(lens.sum())
    if n * width > 4 * total + 4096:
        return None
    mat = np.zeros((m + 1, width), dtype=np.uint8)
    for j, e in enumerate(enc):
        mat[j, : len(e)] = np.frombuffer(e, dtype=np.uint8)[:width]
    rows = mat[codes]
    buf = rows.tobytes() if int(lens.min()) == width else rows[np.arange(width) < lens[:, None]].tobytes()
    offs = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lens, out=offs[1:])
    return _Packed(buf, offs, lens.astype("<u4"), [])


def _arrow_backed_text(dtype: Any) -> bool:
    """Whether a pandas column of this dtype keeps its texts in an Arrow array (pandas' "str" and
    "string[pyarrow]"), which _arrow_packed reads without a Python step per row."""
    pd = sys.modules["pandas"]
    return isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"


def _arrow_packed(arr: Any, quoted: bool) -> _Packed | None:
    """An Arrow string column (Array or ChunkedArray of pyarrow's string or large_string) packed
    from Arrow's own buffers, with no Python step per row: each value's UTF-8 bytes as they are,
    or, quoted, the JSON text .send() makes of it, which is those bytes in quotes when nothing in
    them is escaped (factorizing a pandas column first cost more than the rest of send_many).
    None when a value is missing, or, quoted, needs escaping, or for other types: the caller
    encodes the column another way."""
    np, pa = sys.modules["numpy"], _module("pyarrow")
    if pa is None:
        return None
    if isinstance(arr, pa.ChunkedArray):
        if arr.num_chunks == 0:
            return None
        arr = arr.chunk(0) if arr.num_chunks == 1 else arr.combine_chunks()
    if arr.null_count or not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return None
    n = len(arr)
    _valid, obuf, dbuf = arr.buffers()
    odt = np.dtype(np.int64 if pa.types.is_large_string(arr.type) else np.int32)
    ends = np.frombuffer(obuf, dtype=odt, count=n + 1, offset=arr.offset * odt.itemsize).astype(np.int64)
    data = np.frombuffer(dbuf, dtype=np.uint8)[ends[0] : ends[n]] if dbuf is not None else np.zeros(0, np.uint8)
    texts = np.diff(ends)
    if not quoted:
        return _Packed(data.tobytes(), ends - ends[0], texts.astype("<u4"), arr)
    # What encode_basestring escapes: control characters, quotes, backslashes (bytes of UTF-8's
    # multi-byte sequences are all 0x80 or more, so none of them is taken for one).
    if (data < 0x20).any() or (data == 0x22).any() or (data == 0x5C).any():
        return None
    lens = texts + 2
    offs = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lens, out=offs[1:])
    width = int(texts[0]) if n else 0
    if (texts == width).all():  # texts of one length (a column of one value, codes): a grid
        grid = np.full((n, width + 2), 0x22, dtype=np.uint8)
        grid[:, 1:-1] = data.reshape(n, width)
        return _Packed(grid.tobytes(), offs, lens.astype("<u4"), [])
    # Every byte but each row's first and last (its quotes) is the texts' next byte: a mask,
    # a byte per byte, where indices would be 8.
    out = np.full(int(offs[n]), 0x22, dtype=np.uint8)
    inside = np.ones(len(out), dtype=bool)
    inside[offs[:-1]] = False
    inside[offs[1:] - 1] = False
    out[inside] = data
    return _Packed(out.tobytes(), offs, lens.astype("<u4"), [])


def _rows(data: Any, i: int, j: int) -> bytes:
    """Texts i..j-1 of a key or JSON column, one after the other."""
    if type(data) is _Packed:
        return data.rows(i, j)
    return b"".join(data[i:j])


class TableColumns:
    """One columnar table update: rows [i, j) of a TableBlock. Encoded on the SDK thread:
    "SVT1", the JSON head's length (uint32 LE), the head {"n", "columns", "types", "key_type",
    "as_of"}, the keys (n uint32 LE lengths, then the texts; or n int64 LE), then each column:
    n int64 or float64 LE, or n uint32 LE lengths and the n JSON texts."""

    __slots__ = ("as_of", "block", "i", "j")

    def __init__(self, block: TableBlock, i: int, j: int):
        self.block, self.i, self.j, self.as_of = block, i, j, None

    def encode(self) -> bytes:
        b, i, j = self.block, self.i, self.j
        head: dict[str, Any] = {"n": j - i, "columns": [c[0] for c in b.cols], "types": [c[1] for c in b.cols]}
        if b.int_keys:
            head["key_type"] = "i64"
        if self.as_of is not None:
            head["as_of"] = self.as_of
        h = dumps(head)
        out: list[Any] = [TABLE_COLUMNS_MAGIC, struct.pack("<I", len(h)), h]
        if b.int_keys:
            out.append(_flat(b.keys[i:j]))
        else:
            out += (b.lens[0][i:j], _rows(b.keys, i, j))
        for (_name, typ, data), lens in zip(b.cols, b.lens[1:], strict=True):
            if typ == "json":
                out += (lens[i:j], _rows(data, i, j))
            else:
                out.append(_flat(data[i:j]))
        return b"".join(out)


def _flat(a: Any) -> Any:
    """A numpy column as the join takes it: itself when its bytes lie one after the other (a
    tobytes() copy of each column first was a third of the encoding), else a copy (a column of a
    structured array, or of a frame made from a 2-D array, is strided)."""
    return a if a.flags.c_contiguous else a.tobytes()


def table_block(rows: Any, key: str, max_bytes: int | None = None) -> TableBlock | None:
    """rows (a pandas DataFrame, a pyarrow Table or RecordBatch, a numpy structured array, a dict
    of columns, or a list of dicts that all have the same columns) as a TableBlock keyed by the
    column key; None when they do not come as columns (rows of differing columns, no numpy): the
    caller sends them as JSON rows. Raises BadColumn for columns of unequal length or a missing key
    column (where="key", value=the names)."""
    if _module("numpy") is None:
        return None
    names, cols = _columns_of(rows)
    if names is None:
        return None
    n = len(cols[0]) if cols else 0
    lengths = {nm: len(c) for nm, c in zip(names, cols, strict=True)}
    if len(set(lengths.values())) > 1:
        raise BadColumn("rows", f"columns of lengths {lengths}", "columns of equal length")
    if key not in names:
        raise BadColumn("key", names, key)
    if len(set(names)) != len(names):
        return None  # names that collide once made text: as rows, the last wins
    try:
        typed = [_typed_column(nm, c, n) for nm, c in zip(names, cols, strict=True)]
    except _BadText as e:
        raise BadColumn(f"rows[{e.args[0]!r}]", e.args[1], "text that is valid Unicode (no lone surrogates)") from None
    try:
        keys = _int_keys(cols[names.index(key)])
        if keys is None:
            keys = _key_texts(cols[names.index(key)])
    except UnicodeEncodeError:
        raise BadColumn(f"rows[{key!r}]", "a key", "text that is valid Unicode (no lone surrogates)") from None
    block = TableBlock(keys, typed)
    # Every row of a columnar message becomes JSON repeating the column names, and the server
    # refuses a message whose rows would take more than 64 times it (docs/protocol.md §1.8): names
    # long against the rows' own bytes go as JSON rows instead.
    per_row = 1 + sum(len(dumps(nm)) + 1 + (24 if typ != "json" else 0) for nm, typ, _d in typed)
    if block.n and per_row > 32 * int(block.sizes.min()):
        return None
    if max_bytes is not None and block.n:
        head = block.head_bytes()
        big = int(block.sizes.argmax())
        if int(block.sizes[big]) + head > max_bytes:
            # Refused whole, before anything of the call is queued: a message the bus cannot carry
            # would hold back every update after it.
            raise BadColumn(f"rows[{big}]", f"{int(block.sizes[big]) + head:,} bytes encoded",
                            f"a row of at most {max_bytes - head:,} bytes (a message holds at most {max_bytes:,})")
    return block


def _columns_of(rows: Any) -> tuple[list[str] | None, list[Any]]:
    if _of(rows, "pyarrow") and hasattr(rows, "column_names") and hasattr(rows, "column"):
        return [str(c) for c in rows.column_names], [rows.column(i) for i in range(len(rows.column_names))]
    if _of(rows, "pandas") and getattr(rows, "ndim", 1) == 2:
        # items() gives each column by position, as iloc[:, i] does, without iloc's checks of the
        # indexer: those were half of what reading a 4-column frame of 10,000 rows cost.
        cols = [c for _name, c in rows.items()]
        return [str(c) for c in rows.columns], cols
    if is_numpy(rows) and rows.dtype.names:
        return list(rows.dtype.names), [rows[nm] for nm in rows.dtype.names]
    if isinstance(rows, dict):
        cols = [c if hasattr(c, "__len__") else list(c) for c in rows.values()]
        return [str(k) for k in rows], cols
    if isinstance(rows, list) and rows and all(type(r) is dict for r in rows):
        names = list(rows[0])
        first = set(names)
        if any(len(r) != len(names) or r.keys() != first for r in rows):
            return None, []
        return [str(k) for k in names], [[r[k] for r in rows] for k in names]
    return None, []


class _BadText(Exception):
    """A cell's text cannot be UTF-8: (column name, the value)."""


def _typed_column(name: str, c: Any, n: int) -> tuple[str, str, Any]:
    """(name, "i64" | "f64" | "json", int64/float64 array or JSON texts) of one column."""
    import numpy as np

    a = None
    if is_numpy(c):
        a = c
    elif _of(c, "pandas") and hasattr(c, "dtype"):
        if getattr(c.dtype, "kind", "O") in "iuf" and type(c.dtype).__module__.startswith("numpy"):
            a = c.to_numpy()
        else:
            packed = _arrow_packed(c.array.__arrow_array__(), quoted=True) if _arrow_backed_text(c.dtype) else None
            if packed is not None:
                return name, "json", packed
            try:
                packed = _factorized(c, n)
            except UnicodeEncodeError:
                packed = None  # value by value below, which names the bad text
            if packed is not None:
                return name, "json", packed
            c = c.tolist()
    elif _of(c, "pyarrow") and hasattr(c, "to_pylist"):
        t = str(getattr(c, "type", ""))
        if (t.startswith(("int", "uint")) and c.null_count == 0) or t in ("double", "float", "halffloat"):
            a = c.to_numpy(zero_copy_only=False)
        elif t in ("string", "large_string") and (packed := _arrow_packed(c, quoted=True)) is not None:
            return name, "json", packed
        else:
            c = c.to_pylist()
    elif isinstance(c, list) and n:
        types = set(map(type, c))
        if types == {float}:
            a = np.array(c, dtype=np.float64)
        elif types == {int} and min(c) >= _I64_MIN and max(c) <= _I64_MAX:
            a = np.array(c, dtype=np.int64)
    if a is not None:
        if a.dtype.kind == "f":
            return name, "f64", a.astype("<f8", copy=False)
        if a.dtype.kind == "i" or (a.dtype.kind == "u" and (a.size == 0 or int(a.max()) <= _I64_MAX)):
            return name, "i64", a.astype("<i8", copy=False)
        c = _py_cells(a) if a.dtype.kind in "Mm" else a.tolist()
    values = c if isinstance(c, list) else list(c)
    v = None
    try:
        if set(map(type, values)) == {str}:
            packed = _pack(values, quoted=True)
            if packed is not None:
                return name, "json", packed
            # What dumps() makes of a str, each distinct text encoded once (columns repeat values).
            memo = {v: encode_basestring(v).encode() for v in dict.fromkeys(values)}
            return name, "json", [memo[v] for v in values]
        return name, "json", [dumps(v) for v in values]
    except UnicodeEncodeError:
        bad = next((v for v in values if isinstance(v, str) and not _utf8_ok(v)), v)
        raise _BadText(name, bad) from None


def _utf8_ok(s: str) -> bool:
    try:
        s.encode()
    except UnicodeEncodeError:
        return False
    return True


def _int_keys(c: Any) -> Any:
    """A key column of whole numbers (numpy or pandas integers, a plain list of ints) as an
    int64 array, sent as int64 keys (docs/protocol.md §1.8 key_type "i64"); None otherwise."""
    np = sys.modules["numpy"]
    dtype = getattr(c, "dtype", None)
    if _of(c, "pandas") and getattr(dtype, "kind", "O") in "iu" and type(dtype).__module__.startswith("numpy"):
        c = c.to_numpy()
    elif _of(c, "pyarrow") and str(getattr(c, "type", "")).startswith(("int", "uint")) and c.null_count == 0:
        c = c.to_numpy(zero_copy_only=False)
    elif isinstance(c, list) and c and set(map(type, c)) == {int}:
        if min(c) < _I64_MIN or max(c) > _I64_MAX:
            return None
        return np.array(c, dtype="<i8")
    if is_numpy(c) and c.dtype.kind in "iu" and c.ndim == 1:
        if c.dtype.kind == "u" and len(c) and int(c.max()) > _I64_MAX:
            return None
        return c.astype("<i8", copy=False)
    return None


def _key_texts(c: Any) -> list[bytes] | _Packed:
    """Each row's key as .send() makes it (its key text, docs/protocol.md §1.3), UTF-8."""
    from ._encode import key_text

    dtype = getattr(c, "dtype", None)
    if _of(c, "pandas") and getattr(dtype, "kind", "O") in "iu" and type(dtype).__module__.startswith("numpy"):
        c = c.to_numpy()
    packed = None
    if _of(c, "pandas") and _arrow_backed_text(dtype):
        packed = _arrow_packed(c.array.__arrow_array__(), quoted=False)
    elif _of(c, "pyarrow") and str(getattr(c, "type", "")) in ("string", "large_string"):
        packed = _arrow_packed(c, quoted=False)
    if packed is not None:
        return packed
    if is_numpy(c) and c.dtype.kind in "iu":
        # The texts of integers hold no newline: one join and split instead of a loop in Python.
        return "\n".join(map(str, c.tolist())).encode().split(b"\n") if len(c) else []
    if _of(c, "pandas") and hasattr(c, "tolist"):
        c = c.tolist()
    elif _of(c, "pyarrow") and hasattr(c, "to_pylist"):
        c = c.to_pylist()
    elif is_numpy(c):
        # datetime64 scalars keep their nanoseconds (tolist() gives ints or datetimes without them).
        c = list(c) if c.dtype.kind == "M" else _py_cells(c) if c.dtype.kind == "m" else c.tolist()
    out = []
    if set(map(type, c)) <= {str}:
        packed = _pack(c, quoted=False) if isinstance(c, list) else None
        return packed if packed is not None else [k.encode() for k in c]
    for k in c:
        if type(k) is str:
            out.append(k.encode())
        elif type(k) is int:
            out.append(str(k).encode())
        else:
            out.append(key_text(k).encode())
    return out
