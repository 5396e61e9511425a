"""Turns the values Pathway and users hand us into JSON, without ever raising on a cell."""

from __future__ import annotations

import base64
import datetime as _dt
import decimal
import json
import math
import sys
from typing import Any

_FINITE_TYPES = (int, str, bool)
_MAX_FLOAT = sys.float_info.max


def cell(v: Any) -> Any:
    """A JSON-ready version of any table cell. NaN and infinities become None."""
    if v is None or isinstance(v, _FINITE_TYPES):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, _dt.datetime):
        return v.isoformat()
    if isinstance(v, (_dt.date, _dt.time)):
        return v.isoformat()
    if isinstance(v, _dt.timedelta):
        return v.total_seconds()
    if isinstance(v, decimal.Decimal):
        f = float(v)
        return f if math.isfinite(f) else None
    if isinstance(v, (list, tuple)):
        return [cell(x) for x in v]
    if isinstance(v, dict):
        return {str(k): cell(x) for k, x in v.items()}
    if isinstance(v, (bytes, bytearray)):
        return base64.b64encode(bytes(v)).decode()
    tname = type(v).__module__ + "." + type(v).__name__
    if tname.startswith("numpy.") and hasattr(v, "tolist"):
        return cell(v.tolist())
    if tname.startswith("pandas.") and hasattr(v, "total_seconds"):  # pd.Timedelta
        try:
            return v.total_seconds()
        except Exception:  # NaT
            return None
    if tname.startswith("pandas.") and hasattr(v, "isoformat"):  # pd.Timestamp
        try:
            return v.isoformat()
        except Exception:
            return None
    if hasattr(v, "value") and tname.startswith("pathway.") and "Json" in tname:
        return cell(v.value)
    return str(v)  # Pointers and anything else: their text


def key_text(v: Any) -> str:
    """A table key's one text, whichever way its value arrives (docs/protocol.md §1.3, "Key texts"):
    text as is, anything else its JSON as Pathway's JSON writer prints it, so a row sent with
    .send(), .send_many() (dict rows, pandas, Arrow, numpy), a Pathway table or Pathway's own
    writer (sv.<widget>.rows) lands on the same key. True is "true" (str() gave "True"), None
    "null", a float its shortest repr ("1.0", "1e+20"; NaN and infinities "null"), a tuple the
    compact JSON array of its elements' JSON, bytes their base64, a datetime Pathway's text of it."""
    if type(v) is str:
        return v
    if isinstance(v, str):
        return str.__str__(v)
    return _key_json(v, top=True)


def _key_json(v: Any, *, top: bool = False) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return int.__repr__(v)
    if isinstance(v, float):
        return float.__repr__(v) if math.isfinite(v) else "null"
    if isinstance(v, str):
        return str.__str__(v) if top else json.dumps(str.__str__(v), ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_key_json(x) for x in v) + "]"
    if _is_nat(v):
        return "null"
    text = _time_text(v)
    if text is None:
        if type(v).__module__.startswith("numpy") and getattr(v, "ndim", None) == 0:
            return _key_json(v.item(), top=top)  # numpy scalars: the Python value's text
        c = cell(v)
        if isinstance(c, dict):
            return json.dumps(c, ensure_ascii=False, separators=(",", ":"), allow_nan=True)
        if c is v:
            text = str(v)
        else:
            return _key_json(c, top=top)
    return text if top else json.dumps(text, ensure_ascii=False)


def _is_nat(v: Any) -> bool:
    """pandas' NaT (a datetime that is none) or numpy's: no time, null as Pathway writes a missing one."""
    return type(v).__name__ == "NaTType" or (type(v).__module__.startswith("numpy") and
                                             getattr(getattr(v, "dtype", None), "kind", "") in "Mm" and v != v)


def _time_text(v: Any) -> str | None:
    """A datetime as Pathway's JSON writer prints it: DateTimeUtc in UTC with nanoseconds and
    "+0000" ("2026-01-01T00:00:00.000000000+0000"), DateTimeNaive without a zone; None for
    anything else."""
    if type(v).__module__.startswith("numpy") and getattr(getattr(v, "dtype", None), "kind", "") == "M":
        ns = int(v.astype("datetime64[ns]").astype("int64"))
        secs, frac = divmod(ns, 1_000_000_000)
        return _stamp(_dt.datetime(1970, 1, 1) + _dt.timedelta(seconds=secs), frac, "")
    if not isinstance(v, _dt.datetime):
        return None
    nanos = getattr(v, "nanosecond", 0) or 0  # a pandas Timestamp's
    if v.tzinfo is not None and v.utcoffset() is not None:
        u = v.astimezone(_dt.timezone.utc)
        return _stamp(u, u.microsecond * 1000 + nanos, "+0000")
    return _stamp(v, v.microsecond * 1000 + nanos, "")


def _stamp(t: _dt.datetime, nanos: int, zone: str) -> str:
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}.{nanos:09d}{zone}"


def number(v: Any) -> float | int | None:
    """A number for stat/gauge/chart, None for a gap; raises TypeError for anything else."""
    if v is None:
        return None
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        # Past float64 it is an infinity to the server, which refuses it as JSON: a gap, as a
        # Decimal that large is.
        return v if -_MAX_FLOAT <= v <= _MAX_FLOAT else None
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, decimal.Decimal):
        f = float(v)
        return f if math.isfinite(f) else None
    tname = type(v).__module__
    if tname.startswith("numpy") and hasattr(v, "item"):
        return number(v.item())
    if type(v).__name__ == "Json" and hasattr(v, "value"):
        return number(v.value)
    raise TypeError(v)


def time_ms(v: Any) -> float:
    """A chart x: numbers pass through (milliseconds or any axis), times become epoch ms.

    Raises TypeError for anything else, and for an x the server would refuse: NaN, an infinity,
    an int past float64, pandas' NaT (every caller names the value as not a number or a time)."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (int, float)):
        if -_MAX_FLOAT <= v <= _MAX_FLOAT:
            return v
        raise TypeError(v)
    if isinstance(v, _dt.datetime):
        aware = v if v.tzinfo is not None else v.replace(tzinfo=_dt.timezone.utc)
        try:
            return aware.timestamp() * 1000.0
        except ValueError:  # NaT, a datetime subclass without a time
            raise TypeError(v) from None
    if isinstance(v, _dt.date):
        return _dt.datetime(v.year, v.month, v.day, tzinfo=_dt.timezone.utc).timestamp() * 1000.0
    if isinstance(v, decimal.Decimal):
        return time_ms(float(v))
    if hasattr(v, "to_pydatetime"):  # pandas Timestamp
        return time_ms(v.to_pydatetime())
    if hasattr(v, "item"):  # numpy scalars
        return time_ms(v.item())
    raise TypeError(v)


class NotEncoded(Exception):
    """Encoding a widget's updates raised: how many updates were lost with it, for the count."""

    def __init__(self, updates: int, cause: BaseException):
        self.updates, self.cause = updates, cause
        super().__init__(f"{updates} updates not encoded: {cause!r}")


def _default(o: Any) -> Any:
    v = cell(o)
    if v is o:  # cell() had nothing better: never loop
        return str(o)
    return v


# The C encoder handles the common types itself and asks _default about the rest
# (datetimes, Decimals, numpy, Pointers); only a payload holding NaN or an infinity
# takes the slow path, where cell() turns them into null.
_fast = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_default)


# For a payload holding a lone surrogate ("\ud800", or a str decoded with surrogateescape),
# which has no UTF-8 and once raised on the SDK's thread, losing the whole flush: as a JSON
# escape it is valid JSON, which the server keeps as it came.
_ascii = json.JSONEncoder(ensure_ascii=True, allow_nan=False, separators=(",", ":"), default=_default)


def dumps(obj: Any) -> bytes:
    try:
        return _fast.encode(obj).encode()
    except ValueError:  # NaN or an infinity, which cell() makes null; or a lone surrogate
        pass
    text = _fast.encode(cell(obj))
    try:
        return text.encode()
    except UnicodeEncodeError:
        return _ascii.encode(cell(obj)).encode()
