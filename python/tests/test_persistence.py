"""Pathway persistence (issue 13 item 5): a pipeline restarted with pw.persistence (the same
persistent storage) and the same StreamViz data dir ends with a dashboard equal to Pathway's
result: no duplicated points, no resurrected rows.

Pathway restarts by restoring its state and hands a subscription the restored rows (a commit at
time 0) unless the subscription skips them, then only the new changes: retractions included of
rows the new process never saw inserted. The pipeline really runs twice, as its own process each
time, with new input in between; the dashboard is then read from a server started on the same
data dir and compared with Pathway's own answer over all the input, computed without persistence.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pathway as pw
import pytest
from helpers import get_json, http_base, wait_until

import stream_viz as sv

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "pipelines"))
import persisted

PIPELINE = os.path.join(os.path.dirname(__file__), "pipelines", "persisted.py")

FIRST = "k,t,v\na,1,5\nb,2,3\nc,12,4\nd,25,1\n"
# b's sum falls to 0 (its row leaves the table), a changes and window 0 gets a late row, e is new.
SECOND = "k,t,v\nb,3,-3\na,5,2\ne,31,7\n"


def run_pipeline(input_dir, pstore, data_dir, subscription) -> None:
    env = dict(os.environ, PERSISTED_PUBLIC_SUBSCRIBE="1" if subscription == "pw.io.subscribe" else "0")
    p = subprocess.run([sys.executable, PIPELINE, str(input_dir), str(pstore), str(data_dir)], capture_output=True,
                       text=True, timeout=180, env=env)
    assert p.returncode == 0, f"the pipeline failed: {p.stdout}\n{p.stderr[-3000:]}"
    assert "'undelivered_updates': 0" in p.stdout, p.stdout


def pathway_result(input_dir) -> dict:
    """Pathway's own answer over all the input, without persistence: the rows by widget."""
    t = persisted.build(str(input_dir))
    out = {wid: pw.debug.table_to_pandas(t[wid]) for wid in ("groups", "total", "windows", "rows")}
    pw.internals.parse_graph.G.clear()
    return out


# The SDK subscribes through Pathway's value-list sink, which takes the restored rows; its fallback,
# pw.io.subscribe, cannot, and reads what a retraction of an unseen row deletes off the retraction.
@pytest.mark.parametrize("subscription", ["value-list sink", "pw.io.subscribe"])
def test_a_restarted_persistent_pipeline_ends_with_the_dashboard_equal_to_pathways_result(tmp_path, subscription):
    input_dir, pstore, data_dir = tmp_path / "in", tmp_path / "pstore", tmp_path / "dash"
    input_dir.mkdir()
    data_dir.mkdir()
    (input_dir / "1.csv").write_text(FIRST)
    run_pipeline(input_dir, pstore, data_dir, subscription)
    (input_dir / "2.csv").write_text(SECOND)
    run_pipeline(input_dir, pstore, data_dir, subscription)

    want = pathway_result(input_dir)
    groups = {r.k: {"k": r.k, "s": int(r.s)} for r in want["groups"].itertuples()}
    assert groups == {"a": {"k": "a", "s": 7}, "c": {"k": "c", "s": 4}, "d": {"k": "d", "s": 1}, "e": {"k": "e", "s": 7}}

    sv.start(port=0, data_dir=str(data_dir))  # the dashboard as the two runs left it
    base = http_base()

    def state(wid):
        return get_json(f"{base}/api/widgets/{wid}")["state"]

    wait_until(lambda: state("rows"), what="the dashboard restored from the data dir")
    assert {r["k"]: r for r in state("by_k")["rows"].values()} == groups, "keyed by column: b is gone, a updated"
    assert sorted(state("groups")["rows"].values(), key=lambda r: r["k"]) == sorted(groups.values(), key=lambda r: r["k"]), \
        "keyed by Pathway key: b's row is not resurrected"
    assert state("total")["value"] == int(want["total"]["total"].iloc[0]) == 19
    assert sorted(state("bars")["points"]) == sorted([k, g["s"]] for k, g in groups.items()), "one bar per live group"
    windows = sorted([int(r.start), int(r.s)] for r in want["windows"].itertuples())
    assert sorted(state("windows")["points"]) == windows == [[0, 7], [10, 4], [20, 1], [30, 7]], \
        "one point per window: the late row moved window 0's, none duplicated"
    ys = sorted(y for _x, y in state("rows")["points"])
    assert ys == sorted(int(v) for v in want["rows"]["v"]), "one point per input row: none duplicated by the restart"
