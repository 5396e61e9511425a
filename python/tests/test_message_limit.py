"""A server with a --max-message-bytes below what the SDK builds its messages up to (about 900 KiB).

Joining such a server, every batch of many updates was refused whole (413) and warned, and each
update in it lost, though alone it fit. The SDK now sends a refused message's updates again in
parts under the limit the server names, in order (docs/protocol.md §1); only an update that alone
exceeds the limit is refused. Real server, real SDK, real WebSocket client.
"""

from __future__ import annotations

import json
import subprocess
import warnings

import numpy as np
import pytest
from helpers import DashClient, get_json, wait_until

import stream_viz as sv


@pytest.fixture
def small_server(streamviz_bin, tmp_path):
    """A real `streamviz serve --max-message-bytes 64KiB`, joined by sv.start(url=...)."""
    proc = subprocess.Popen([streamviz_bin, "serve", "--addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0",
                             "--max-message-bytes", "64KiB", "--data-dir", str(tmp_path / "data")],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        ready = json.loads(proc.stdout.readline())
        yield ready["nats"], f"http://{ready['http']}"
    finally:
        sv.stop()
        proc.terminate()
        proc.wait(15)


def _rows(base: str, wid: str) -> dict:
    return ((get_json(f"{base}/api/widgets/{wid}") or {}).get("state") or {}).get("rows") or {}


def _points(base: str, wid: str) -> list:
    return ((get_json(f"{base}/api/widgets/{wid}") or {}).get("state") or {}).get("points") or []


def test_batches_over_the_servers_message_limit_arrive_whole_once_and_in_order(small_server):
    nats, base = small_server
    n = 20_000
    sent = sv.chart("sent_points", max_points=100_000)
    extended = sv.chart("extended_points", max_points=100_000)
    upserted = sv.chart("upserted_points", max_points=100_000)
    ops = sv.table("sent_rows", key="k", max_rows=100_000)
    cols = sv.table("column_rows", key="k", max_rows=100_000)
    dicts = sv.table("dict_rows", key="k", max_rows=100_000)
    client = DashClient(base)
    with warnings.catch_warnings():
        # Not one update here is over the limit alone: none may be refused.
        warnings.simplefilter("error", sv.UpdateRefusedWarning)
        sv.start(url=nats)
        for i in range(n):
            sent.send(i * 0.5, i)
        extended.extend(np.arange(n, dtype=np.float64), np.arange(n, dtype=np.float64) * 2)
        for i in range(3000):
            upserted.send(i, i, mode="upsert")
        pad = "x" * 60
        for rnd in (1, 2):
            # Two rounds over the same keys: a row may only ever move from round 1 to round 2.
            for i in range(2000):
                ops.send({"k": f"op{i}", "v": rnd, "pad": pad})
            cols.send_many({"k": np.arange(5000), "v": np.full(5000, rnd), "pad": [pad] * 5000})
            dicts.send_many([{"k": f"d{i}", "v": rnd, "pad": pad} for i in range(3000)])
            if rnd == 1:
                # The second round waits until the first is stored, so both really cross the bus.
                wait_until(lambda: len(_rows(base, "dict_rows")) == 3000, what="the first round of dict rows")
        want_sent = [[i, i * 0.5] for i in range(n)]
        wait_until(lambda: _points(base, "sent_points") == want_sent, what="every point sent with send()")
        wait_until(lambda: _points(base, "extended_points") == [[i, i * 2] for i in range(n)], what="every point extended")
        wait_until(lambda: _points(base, "upserted_points") == [[i, i] for i in range(3000)], what="every point upserted")
        for wid, keys in (("sent_rows", [f"op{i}" for i in range(2000)]), ("column_rows", [str(i) for i in range(5000)]),
                          ("dict_rows", [f"d{i}" for i in range(3000)])):
            wait_until(lambda wid=wid, keys=keys: _rows(base, wid) == {k: {"k": _k(wid, k), "v": 2, "pad": pad} for k in keys},
                       what=f"every row of {wid} at round 2")
    stats = sv.stats()
    assert stats["refused_publishes"] == 0 and stats["undelivered_updates"] == 0, stats

    # A browser saw the same, every point once and in order, and never a row going back a round.
    client.wait_for(lambda c: len((c.state("sent_points") or {}).get("points") or []) == n, what="the points")
    client.wait_for(lambda c: len(c.rows("dict_rows")) == 3000 and all(r["v"] == 2 for r in c.rows("dict_rows").values()),
                    what="round 2 of the dict rows")
    assert client.state("sent_points")["points"] == want_sent
    assert client.state("extended_points")["points"] == [[i, i * 2] for i in range(n)]
    for wid in ("sent_rows", "column_rows", "dict_rows"):
        seen: dict[str, int] = {}
        for st in client.event_states_of(wid):
            for k, row in ((st or {}).get("rows") or {}).items():
                assert row["v"] >= seen.get(k, 0), (wid, k, row)
                seen[k] = row["v"]
    assert not client.errors, client.errors
    client.close()


def _k(wid: str, key: str):
    return int(key) if wid == "column_rows" else key


def test_only_an_update_alone_over_the_servers_limit_is_refused(small_server):
    nats, base = small_server
    t = sv.table("mixed_rows", key="k")
    sv.start(url=nats)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = [{"k": f"r{i}", "v": i} for i in range(4000)]
        rows.insert(2000, {"k": "huge", "v": "y" * 100_000})  # alone over 64 KiB
        t.send_many(rows)
        wait_until(lambda: sv.stats()["refused_publishes"] == 1, what="the refusal of the huge row")
        wait_until(lambda: len(_rows(base, "mixed_rows")) == 4000, what="every other row")
    assert "huge" not in _rows(base, "mixed_rows")
    said = [str(w.message) for w in caught if issubclass(w.category, sv.UpdateRefusedWarning)]
    assert len(said) == 1 and "too large" in said[0] and "65536" in said[0], said
    stats = sv.stats()
    assert stats["undelivered_updates"] == 0 and stats["pending_messages"] == 0, stats


def test_a_split_chart_message_keeps_its_removals_first_and_every_field_on_every_part():
    """Removals apply before a message's points (docs/protocol.md §1.3): split, they go with the
    first part only; series, mode and as_of go on every part, the points in order, each once."""
    from stream_viz._encode import dumps
    from stream_viz._split import split_message

    body = {"points": [[i, i * 2] for i in range(40)], "mode": "upsert", "remove": [100, 101], "series": "s", "as_of": 7}
    parts = split_message(dumps(body), 200)
    assert parts is not None and len(parts) > 1
    bodies = [json.loads(p) for p, _n in parts]
    assert all(len(p) <= 200 for p, _n in parts)
    assert bodies[0]["remove"] == [100, 101] and all("remove" not in b for b in bodies[1:])
    assert all((b["mode"], b["series"], b["as_of"]) == ("upsert", "s", 7) for b in bodies)
    assert [pt for b in bodies for pt in b["points"]] == body["points"]
    assert sum(n for _p, n in parts) == 42
    assert split_message(dumps({"value": 3}), 2) is None  # one update: not split
