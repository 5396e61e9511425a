"""Splits an encoded data message the server refused as too large (413) into smaller ones.

The SDK builds messages up to the bus's payload limit (about 900 KiB), but a server started with a
lower `--max-message-bytes` refuses anything above that whole, so updates that each fit were lost
with the message carrying them. The publisher learns the limit from the refusal and sends the same
updates again in parts (docs/protocol.md §1, "Messages larger than the server takes"), in order.

Every format the SDK sends is split here at update boundaries, from the bytes themselves, so the
parts are exactly the updates of the message, each once: JSON `{"ops": [...]}` and
`{"points": [...]}` (§1.3), columnar chart updates `SVC1` (§1.7) and columnar table updates `SVT1`
(§1.8). Anything else (a stat's value, one point, one op) is one update and cannot be split.
"""

from __future__ import annotations

import json
import re
import struct
from typing import Any

from ._encode import dumps

__all__ = ["server_limit", "split_message"]

_LIMIT = re.compile(r"\b(\d+) bytes, limit (\d+)\b")


def server_limit(description: str) -> int | None:
    """The server's --max-message-bytes named in its 413 answer ("...: 70000 bytes, limit 65536"),
    or None when the answer names none (an older server's wording, a Nats-Msg-Id refusal)."""
    if "Nats-Msg-Id" in description:
        return None
    m = _LIMIT.search(description)
    return int(m.group(2)) if m else None


def split_message(payload: bytes, limit: int) -> list[tuple[bytes, int]] | None:
    """The updates of payload as messages of at most limit bytes where one update allows it, in
    order, each with how many updates it holds; None when payload holds a single update."""
    halves = _halves(payload)
    if halves is None:
        return None
    out: list[tuple[bytes, int]] = []
    for part, n in halves:
        smaller = _split_to(part, n, limit)
        out.extend(smaller)
    return out


def _split_to(payload: bytes, n: int, limit: int) -> list[tuple[bytes, int]]:
    if len(payload) <= limit:
        return [(payload, n)]
    halves = _halves(payload)
    if halves is None:
        return [(payload, n)]  # one update over the limit: sent alone, refused alone
    out: list[tuple[bytes, int]] = []
    for part, k in halves:
        out.extend(_split_to(part, k, limit))
    return out


def _halves(payload: bytes) -> list[tuple[bytes, int]] | None:
    if payload[:4] == b"SVC1":
        return _chart_columns_halves(payload)
    if payload[:4] == b"SVT1":
        return _table_columns_halves(payload)
    try:
        body = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    ops = body.get("ops")
    if isinstance(ops, list) and len(ops) > 1:
        mid = len(ops) // 2
        return [(dumps({**body, "ops": ops[:mid]}), mid), (dumps({**body, "ops": ops[mid:]}), len(ops) - mid)]
    points = body.get("points")
    removes = body.get("remove") or []
    if isinstance(points, list) and len(points) + (1 if removes else 0) > 1:
        # Removals apply before the message's points (§1.3): they go with the first part, and alone
        # when the points cannot be split.
        mid = len(points) // 2 if len(points) > 1 else 0
        first = {**body, "points": points[:mid]}
        second = {k: v for k, v in body.items() if k != "remove"}
        second["points"] = points[mid:]
        return [(dumps(first), mid + len(removes)), (dumps(second), len(points) - mid)]
    return None


def _head(payload: bytes) -> tuple[dict[str, Any], int] | None:
    if len(payload) < 8:
        return None
    (h,) = struct.unpack_from("<I", payload, 4)
    try:
        head = json.loads(payload[8 : 8 + h])
    except ValueError:
        return None
    if not isinstance(head, dict) or type(head.get("n")) is not int:
        return None
    return head, 8 + h


def _framed(magic: bytes, head: dict[str, Any], *sections: bytes) -> bytes:
    h = dumps(head)
    return b"".join((magic, struct.pack("<I", len(h)), h, *sections))


def _chart_columns_halves(payload: bytes) -> list[tuple[bytes, int]] | None:
    got = _head(payload)
    if got is None:
        return None
    head, at = got
    n = head["n"]
    if n < 2 or len(payload) != at + 16 * n:
        return None
    xs, ys = payload[at : at + 8 * n], payload[at + 8 * n :]
    mid = n // 2
    return [(_framed(b"SVC1", {**head, "n": k}, xs[8 * i : 8 * j], ys[8 * i : 8 * j]), k)
            for i, j, k in ((0, mid, mid), (mid, n, n - mid))]


def _table_columns_halves(payload: bytes) -> list[tuple[bytes, int]] | None:
    got = _head(payload)
    if got is None:
        return None
    head, at = got
    n: int = head["n"]
    types = head.get("types")
    if n < 2 or not isinstance(types, list):
        return None
    mid = n // 2
    first: list[bytes] = []
    second: list[bytes] = []

    def fixed(at: int) -> int:
        first.append(payload[at : at + 8 * mid])
        second.append(payload[at + 8 * mid : at + 8 * n])
        return at + 8 * n

    def texts(at: int) -> int:
        lens: tuple[int, ...] = struct.unpack_from(f"<{n}I", payload, at)
        first.append(payload[at : at + 4 * mid])
        second.append(payload[at + 4 * mid : at + 4 * n])
        at += 4 * n
        cut = at + sum(lens[:mid])
        end = cut + sum(lens[mid:])
        first.append(payload[at:cut])
        second.append(payload[cut:end])
        return end

    try:
        at = fixed(at) if head.get("key_type") == "i64" else texts(at)
        for typ in types:
            at = texts(at) if typ == "json" else fixed(at)
    except struct.error:
        return None
    if at != len(payload):
        return None
    return [(_framed(b"SVT1", {**head, "n": mid}, *first), mid), (_framed(b"SVT1", {**head, "n": n - mid}, *second), n - mid)]
