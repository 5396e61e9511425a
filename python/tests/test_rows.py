"""Pathway's own NATS output as a source (issue 13 item 2): what the fidelity tests of test_pathway.py
(run over every way in, ways.py) do not cover. A table keyed by a column, updated and deleted, over
every way in; rows that reach the server before their widget's config; and every process of a
`pathway spawn` publishing to one subject with Pathway alone, no SDK in the pipeline.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pathway as pw
import pytest
from helpers import DashClient, pandas_rows, plain, wait_state, wait_widget
from test_pathway import WINDOW_MD, CommitRecorder, assert_every_state_was_a_commit_boundary, no_delete_of
from test_spawn import PIPELINE
from ways import WAYS, Way, publish_configs

import stream_viz as sv


@pytest.fixture(params=WAYS)
def way(request) -> Way:
    return Way(request.param)


ORDERS_MD = """
  | order | region | amount | __time__ | __diff__
1 | 1     | eu     | 10     | 2        | 1
2 | 2     | us     | 20     | 2        | 1
3 | 3     | apac   | 5      | 2        | 1
1 | 1     | eu     | 10     | 4        | -1
1 | 1     | eu     | 12     | 4        | 1
4 | 4     | latam  | 7      | 4        | 1
2 | 2     | us     | 20     | 6        | -1
2 | 2     | us     | 21     | 6        | 1
3 | 3     | apac   | 5      | 6        | -1
5 | 5     | eu     | 1      | 8        | 1
4 | 4     | latam  | 7      | 10       | -1
4 | 4     | latam  | 8      | 10       | 1
"""


def test_a_table_keyed_by_a_column_updates_rows_in_place_and_retractions_delete_them(way, client_factory, pw_run):
    t = pw.debug.table_from_markdown(ORDERS_MD)
    expected = pandas_rows(pw.debug.table_to_pandas(t), key="order")
    assert sorted(expected) == ["1", "2", "4", "5"], expected  # apac was deleted; eu, us, latam updated; 5 added

    recorder = CommitRecorder(t, key_col="order")
    way.table(t, id="orders", key="order")
    way.start()
    client = client_factory()
    pw_run()

    wait_state("orders", expected, key=lambda st: st["rows"])
    client.wait_for(lambda c: c.rows("orders") == expected, what="the final rows over the socket")
    assert recorder.states[-1] == expected
    assert no_delete_of(client, "orders", expected) == [], "a row updated by retraction+insertion was deleted on the way"
    assert_every_state_was_a_commit_boundary(client, "orders", recorder.states)
    assert not client.errors


def test_rows_published_before_the_config_are_shown_once_it_comes(pw_run):
    """Rows that reach the server before their widget's config are held as a table keyed by row;
    the config, published after the pipeline ran, rebuilds the widget from them."""
    win = pw.debug.table_from_markdown(WINDOW_MD).windowby(pw.this.t, window=pw.temporal.tumbling(duration=10)).reduce(
        start=pw.this._pw_window_start, total=pw.reducers.sum(pw.this.v))
    sv.start(port=0)
    pw.io.nats.write(win, sv._D.server.nats, topic="sv.late.rows", format="json")
    pw_run()
    wait_widget("late", lambda w: len(w["state"]["rows"]) == 2)
    publish_configs(sv._D.server.nats, {"late": {"type": "chart", "x": "start", "y": "total"}})
    wait_state("late", {"points": [[0, 7], [10, 8]]})


# The pipeline as a team without the SDK runs it: Pathway alone, its own NATS output.
SPAWN_SCRIPT = """
import sys
import pathway as pw
{pipeline}
url = sys.argv[1]
pw.io.nats.write(by_region, url, topic="sv.regions.rows", format="json"{js})
pw.io.nats.write(totals, url, topic="sv.revenue.rows", format="json"{js})
pw.run(monitoring_level=pw.MonitoringLevel.NONE)
"""


@pytest.mark.parametrize("jetstream", [False, True], ids=["core", "jetstream"])
def test_every_process_of_a_pathway_spawn_publishes_to_one_subject_and_the_dashboard_equals_pathway(jetstream, tmp_path):
    scope: dict = {}
    exec(PIPELINE, scope)  # test_spawn's pipeline, run here for Pathway's own result
    expected = pandas_rows(pw.debug.table_to_pandas(scope["by_region"]), key="region")
    revenue = plain(pw.debug.table_to_pandas(scope["totals"])["revenue"].iloc[0])
    assert len(expected) == 12 and "latam" not in expected

    sv.start(port=0)
    url = sv._D.server.nats
    publish_configs(url, {"regions": {"type": "table", "key": ["region"]}, "revenue": {"type": "stat", "column": "revenue"}})
    script = tmp_path / "pipeline.py"
    script.write_text(SPAWN_SCRIPT.format(pipeline=PIPELINE, js=', jetstream_stream_name="SV"' if jetstream else ""))
    pathway = os.path.join(os.path.dirname(sys.executable), "pathway")
    proc = subprocess.Popen([pathway, "spawn", "--processes", "2", "--threads", "2", sys.executable, str(script), url],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=str(tmp_path), start_new_session=True)
    try:
        _out, err = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    assert proc.returncode == 0, err[-3000:]
    assert "stream_viz" not in script.read_text(), "the pipeline does not use the SDK"
    wait_state("regions", expected, key=lambda st: st["rows"], timeout=30)
    wait_widget("revenue", lambda w: w["state"]["value"] == revenue, timeout=30)
    client = DashClient()
    try:
        client.wait_for(lambda c: c.rows("regions") == expected, what="the regions over a fresh socket")
    finally:
        client.close()
