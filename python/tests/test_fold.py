"""How the SDK folds Pathway commits into table messages, and what it encodes.

The fidelity tests (test_pathway.py) run real pipelines against a real server; these pin the
fold's own rules on commits given to a real binding: any batching of commits into flushes ends
in exactly Pathway's rows, a row back as it was is not sent again, rows of plain values encode
to the same bytes as their dicts, and the SDK's thread sleeps while nothing is pending.
"""

from __future__ import annotations

import json
import math
import random
import struct
import warnings

import pathway as pw
import pytest
from helpers import wait_state, wait_until

import stream_viz as sv
from stream_viz import _bulk, _widgets

COLUMNS = ["k", "name", "v"]


def _table():
    return pw.debug.table_from_markdown("""
    k | name | v
    1 | a    | 1.5
    """)


def _ops(body) -> list[dict]:
    """The ops of one table message: JSON, or a columnar update (docs/protocol.md §1.8) decoded."""
    if isinstance(body, _bulk.TableColumns):
        body = body.encode()
    if not (isinstance(body, bytes) and body[:4] == b"SVT1"):
        return (json.loads(body) if isinstance(body, bytes) else body)["ops"]
    h = struct.unpack_from("<I", body, 4)[0]
    head = json.loads(body[8:8 + h])
    n, at = head["n"], 8 + h

    def texts() -> list[bytes]:
        nonlocal at
        lens = struct.unpack_from(f"<{n}I", body, at)
        at += 4 * n
        out = []
        for ln in lens:
            out.append(body[at:at + ln])
            at += ln
        return out

    keys = [k.decode() for k in texts()]
    cols = []
    for typ in head["types"]:
        if typ == "json":
            cols.append([json.loads(t) for t in texts()])
        else:
            vals = list(struct.unpack_from(f"<{n}{'q' if typ == 'i64' else 'd'}", body, at))
            at += 8 * n
            cols.append([None if typ == "f64" and not math.isfinite(v) else v for v in vals])
    assert at == len(body), "the columns fill the message exactly"
    return [{"key": k, "row": dict(zip(head["columns"], vals, strict=True))} for k, vals in zip(keys, zip(*cols, strict=True), strict=True)]


def _apply(state: dict, bodies: list) -> None:
    """What the server makes of a flush's table messages."""
    for body, _n in bodies:
        for op in _ops(body):
            if op.get("delete"):
                state.pop(op["key"], None)
            else:
                state[op["key"]] = op["row"]


def _commits(rng: random.Random, n: int, keys: int = 12, deletes: bool = True, shared: bool = False) -> tuple[list, list[dict]]:
    """n random commits over that many Pathway keys (inserts, deletes, updates that may change the
    name, and rows deleted then inserted again as they were), with Pathway's live rows after each.
    Names are unique among live rows unless shared (then drawn from a few, so rows share them)."""
    live: dict = {}
    gone: dict = {}  # key -> the values it was deleted with
    commits, states = [], []
    names = [f"n{i}" for i in range(max(2, keys // 3) if shared else 2 * keys + 2)]
    for t in range(n):
        inserted, retracted = {}, {}
        for key in rng.sample([f"p{i}" for i in range(keys)], rng.randint(1, keys // 2)):
            if key in live:
                retracted[key] = live.pop(key)
                if rng.random() < 0.6 or not deletes:
                    taken = set() if shared else {v[1] for v in live.values()} | {v[1] for v in inserted.values()}
                    name = retracted[key][1] if rng.random() < 0.7 else rng.choice([x for x in names if x not in taken])
                    inserted[key] = (retracted[key][0], name, float(rng.randint(0, 3)))
                else:
                    gone[key] = retracted[key]
            else:
                taken = set() if shared else {v[1] for v in live.values()} | {v[1] for v in inserted.values()}
                back = gone.pop(key, None)
                if back is not None and back[1] not in taken and rng.random() < 0.7:
                    inserted[key] = back  # as it was when deleted
                else:
                    inserted[key] = (int(key[1:]), rng.choice([x for x in names if x not in taken]), float(rng.randint(0, 3)))
        live.update(inserted)
        commits.append((inserted, retracted, 2 * t + 2))
        states.append(dict(live))
    return commits, states


def _flushes(w, commits: list, rng: random.Random):
    """Folds the commits in random batches, one flush each; yields (first, end, state) after each:
    the commits folded were commits[first:end], state what the server holds after the flush."""
    shown: dict = {}
    i = 0
    while i < len(commits):
        j = min(len(commits), i + rng.choice([1, 1, 2, 3, 7]))
        w._binding.fold(commits[i:j])
        _apply(shown, w._bodies())
        yield i, j, shown
        i = j


@pytest.mark.parametrize("key", [None, "name"])
@pytest.mark.parametrize("columns", [None, ["name", "v"]])
@pytest.mark.parametrize("keys, deletes", [(12, True), (400, True), (400, False)])
@pytest.mark.parametrize("seed", range(4))
def test_any_batching_of_commits_into_flushes_ends_each_flush_in_pathways_rows(key, columns, keys, deletes, seed):
    rng = random.Random(seed)
    commits, states = _commits(rng, 30, keys, deletes)
    w = sv.table(_table(), id="t", key=key, columns=columns)
    for i, j, shown in _flushes(w, commits, rng):
        live = states[j - 1]
        rows = {str(k): v for k, v in live.items()} if key is None else {v[1]: v for v in live.values()}
        cols = columns or COLUMNS
        want = {kt: {c: v[COLUMNS.index(c)] for c in cols} for kt, v in rows.items()}
        assert shown == want, f"after commits {i}..{j - 1}"


@pytest.mark.parametrize("columns", [None, ["name", "v"]])
@pytest.mark.parametrize("keys", [6, 12, 60])
@pytest.mark.parametrize("seed", range(6))
def test_any_batching_of_commits_shows_each_key_value_while_a_row_holds_it_with_one_of_those_rows(columns, keys, seed):
    """key= over a column rows share: after every flush the entries are exactly the key values
    live rows hold, each showing the values of one of the rows holding it."""
    rng = random.Random(seed)
    commits, states = _commits(rng, 40, keys, shared=True)
    assert any(len({v[1] for v in st.values()}) < len(st) for st in states), "rows share names"
    w = sv.table(_table(), id="t", key="name", columns=columns)
    cols = columns or COLUMNS
    for i, j, shown in _flushes(w, commits, rng):
        holding: dict = {}
        for v in states[j - 1].values():
            holding.setdefault(v[1], []).append({c: v[COLUMNS.index(c)] for c in cols})
        assert set(shown) == set(holding), f"after commits {i}..{j - 1}"
        for k, row in shown.items():
            assert row in holding[k], f"after commits {i}..{j - 1}: {k} shows {row}, held by {holding[k]}"


def test_a_row_inserted_and_deleted_within_one_flush_leaves_the_entry_of_another_row_with_its_key_value():
    w = sv.table(_table(), id="t", key="name")
    row = (1, "a", 1.5)
    w._binding.fold([({"p1": row}, {}, 2)])
    w._bodies()
    w._binding.fold([({"p2": (2, "a", 9.0)}, {}, 4), ({}, {"p2": (2, "a", 9.0)}, 6)])
    shown = {"a": dict(zip(COLUMNS, row, strict=True))}
    _apply(shown, w._bodies())
    assert shown == {"a": dict(zip(COLUMNS, row, strict=True))}


def test_a_row_deleted_and_inserted_again_as_it_was_within_one_flush_is_not_sent_again():
    w = sv.table(_table(), id="t", key="name")
    row, other = (1, "a", 1.5), (2, "b", 2.0)
    w._binding.fold([({"p1": row, "p2": other}, {}, 2)])
    w._bodies()
    w._binding.fold([({}, {"p1": row}, 4), ({"p1": row, "p2": (2, "b", 3.0)}, {"p2": other}, 6)])
    assert [_ops(b) for b, _n in w._bodies()] == [[{"key": "b", "row": {"k": 2, "name": "b", "v": 3.0}}]]


def test_a_row_back_as_it_was_keeps_its_key_that_another_row_held_and_gave_up_in_between():
    """Key column "name": p1 holds a; in one flush p1 is deleted, p2 is inserted with name a and
    deleted again, and p1 comes back as it was. p1's row is not sent again (nothing changed),
    and p2, never shown, must not take a with it."""
    w = sv.table(_table(), id="t", key="name")
    row = (1, "a", 1.5)
    w._binding.fold([({"p1": row}, {}, 2)])
    w._bodies()
    w._binding.fold([({}, {"p1": row}, 4), ({"p2": (2, "a", 9.0)}, {}, 6), ({}, {"p2": (2, "a", 9.0)}, 8),
                     ({"p1": row}, {}, 10)])
    assert [op for b, _n in w._bodies() for op in _ops(b)] == []


TRICKY = ['a', '', 'x","y', 'q"', 'back\\', '\\","', 'ünï €', '%s%b%%', '\n\t', ',', '"', 'a\\"', '\x00', '"]', '[1,2]']


@pytest.mark.parametrize("seed", range(20))
def test_rows_of_plain_values_encode_to_exactly_the_bytes_of_their_dicts(seed):
    rng = random.Random(seed)
    kinds = [rng.choice(["int", "float", "str", "bool"]) for _ in range(rng.randint(1, 5))]
    cols = [rng.choice(["k", "total", 'we"ird', "50%", "ü", "a,b"]) + str(i) for i in range(len(kinds))]

    def value(kind: str):
        if kind == "int":
            return rng.choice([0, -5, 10**20, rng.randint(-1000, 1000), None])
        if kind == "float":
            return rng.choice([1.5, -0.0, 1e16, 1e-7, 3.0, rng.random(), None, 7])
        if kind == "bool":
            return rng.choice([True, False, None])
        return rng.choice(TRICKY) + str(rng.randint(0, 9))

    data = {rng.choice(TRICKY) + str(i): tuple(value(k) for k in kinds) for i in range(rng.randint(64, 400))}
    fast = _widgets._encoded_tuples(cols, data)
    assert fast is not None, "rows of numbers, booleans, nulls and text take the column-wise encoding"
    dicts = _widgets._encoded_ops([{"key": k, "row": dict(zip(cols, r, strict=True))} for k, r in data.items()])
    assert b"".join(b for b, _n in fast) == b"".join(b for b, _n in dicts) and sum(n for _b, n in fast) == len(data)


@pytest.mark.parametrize("text", ['a",', 'back\\', '",'])
@pytest.mark.parametrize("where", ["cell", "key"])
def test_a_text_ending_in_a_quote_and_comma_is_never_cut_inside_itself(text, where):
    """The column-wise encoding (used where numpy is missing) cut a column of text at '","': a
    text ending in '",' holds that before the real cut, and the rows came out as invalid JSON,
    the server refused the message and the commit never showed."""
    data = {(text if where == "key" and i == 0 else f"k{i}"): (text if where == "cell" and i == 0 else "next", i)
            for i in range(64)}
    fast = _widgets._encoded_tuples(["s", "v"], data)
    dicts = _widgets._encoded_ops([{"key": k, "row": {"s": s, "v": v}} for k, (s, v) in data.items()])
    assert fast is None or b"".join(b for b, _n in fast) == b"".join(b for b, _n in dicts)


@pytest.mark.parametrize("seed", range(10))
def test_a_flush_of_many_pathway_rows_goes_as_columnar_table_updates_equal_to_their_ops(seed):
    """Rows of numbers, booleans, nulls, text and NaN: numbers as int64/float64 columns (NaN is
    null), the rest as JSON cells, each row exactly the upsert the JSON ops would carry."""
    rng = random.Random(seed)
    kinds = [rng.choice(["int", "float", "str", "bool", "mixed"]) for _ in range(rng.randint(1, 5))]
    cols = [f"c{i}" for i in range(len(kinds))]

    def value(kind: str):
        if kind == "int":
            return rng.randint(-10**12, 10**12)
        if kind == "float":
            return rng.choice([1.5, -0.0, 1e16, rng.random(), float("nan")])
        if kind == "bool":
            return rng.choice([True, False])
        if kind == "str":
            return rng.choice(TRICKY) + str(rng.randint(0, 9))
        return rng.choice([None, 10**20, 2.5, "x", True])

    data = {rng.choice(TRICKY) + str(i): tuple(value(k) for k in kinds) for i in range(rng.randint(64, 3000))}
    w = sv.table(_table(), id="t")
    w._row_columns = cols
    bodies = w._ops_bodies(dict(data))
    assert bodies and all(type(b) is _bulk.TableColumns for b, _n in bodies)
    assert [op for b, _n in bodies for op in _ops(b)] == \
        [{"key": k, "row": {c: (None if type(v) is float and math.isnan(v) else v) for c, v in zip(cols, r, strict=True)}}
         for k, r in data.items()]


def test_rows_holding_nan_or_values_of_other_kinds_are_encoded_through_their_dicts():
    nan = {str(i): (float("nan") if i == 3 else 1.0,) for i in range(100)}
    assert _widgets._encoded_tuples(["v"], nan) is None
    mixed = {str(i): ("x" if i == 3 else 1,) for i in range(100)}
    assert _widgets._encoded_tuples(["v"], mixed) is None
    w = sv.table(_table(), id="t")
    w._binding.fold([({str(i): (i, "n", float("nan") if i == 3 else 1.0) for i in range(100)}, {}, 2)])
    rows = {}
    _apply(rows, w._bodies())
    assert rows["3"] == {"k": 3, "name": "n", "v": None} and rows["4"] == {"k": 4, "name": "n", "v": 1.0}


def test_the_sdk_thread_sleeps_while_nothing_is_pending_and_a_send_wakes_it():
    s = sv.stat("s")
    sv.start(port=0)
    s.send(1)
    wait_state("s", 1, key=lambda st: st.get("value"))
    pub = sv._D.publisher
    wait_until(lambda: pub._parked, 15, "the SDK's thread asleep with nothing pending")
    s.send(2)
    wait_state("s", 2, key=lambda st: st.get("value"))


def test_sv_stop_publishes_the_last_commits_at_once_whatever_wait_the_pacing_holds(monkeypatch, pw_run):
    """After a flush that folded Pathway commits the SDK's thread waits (the pacing) before the
    next; here every such wait is an hour. The second commit comes after the first flush, so it
    is pending in that wait when pw.run ends: sv.stop() must cut the wait short and publish it."""
    from stream_viz import _publisher

    monkeypatch.setattr(_publisher, "PACE_AFTER", 0.0)
    monkeypatch.setattr(_publisher, "FLUSH_DUTY", 1e-6)
    monkeypatch.setattr(_publisher, "MAX_FLUSH_GAP", 3600.0)

    class Subject(pw.io.python.ConnectorSubject):
        def run(self):
            self.next(name="a", v=1)
            self.commit()
            # The first commit's flush is acknowledged (config + data): the wait has begun.
            wait_until(lambda: sv._D.publisher.stats["updates"] >= 1, 30, "the first commit published")
            self.next(name="b", v=2)
            self.commit()

    t = pw.io.python.read(Subject(), schema=pw.schema_from_types(name=str, v=int), autocommit_duration_ms=None)
    sv.table(t, id="t", key="name")
    sv.start(port=0)
    pw_run()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sv.stop(timeout=20)
    st = sv.stats()
    assert st["undelivered_updates"] == 0 and st["published_updates"] == 2, st
