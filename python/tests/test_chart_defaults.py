"""Chart options a newcomer trips over: the timestamp's unit (issue 9 item 17) and how many points
a chart keeps by default (item 18), against really spawned servers."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import warnings

from helpers import wait_until, wait_widget

import stream_viz as sv


def test_chart_send_takes_datetimes_and_warns_once_when_a_number_looks_like_epoch_seconds():
    c = sv.chart("t")
    sv.start(port=0)
    at = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        c.send(1, timestamp=at)
        c.send(2, timestamp=at.replace(tzinfo=None))  # naive: UTC
        c.send(3, timestamp=1_767_323_045_000)  # milliseconds: nothing to say
        c.send(4, timestamp=1_767_323_046)  # seconds by mistake
        c.send(5, timestamp=1_767_323_047.5)
    ms = at.timestamp() * 1000
    got = wait_widget("t", lambda w: len(w["state"]["points"]) == 5)
    # Numbers are milliseconds, as documented: the warning does not guess on the user's behalf.
    assert [p[0] for p in got["state"]["points"]] == [ms, ms, 1_767_323_045_000, 1_767_323_046, 1_767_323_047.5]
    said = [str(w.message) for w in caught if "epoch seconds" in str(w.message)]
    assert len(said) == 1, f"warned once per chart: {said}"
    assert "'t'" in said[0] and "1767323046" in said[0] and "1000" in said[0] and "datetime" in said[0]
    assert said[0] in sv.stats()["errors"]
    doc = sv.Chart.send.__doc__ or ""
    assert "timestamp" in doc and "MILLISECONDS" in doc and "seconds" in doc and "datetime" in doc


def test_a_chart_keeps_the_servers_default_of_1000_points_unless_it_says_otherwise():
    c = sv.chart("h")
    kept = sv.chart("kept", max_points=50)
    sv.start(port=0)
    for i in range(1500):
        c.send(i, timestamp=i)
        kept.send(i, timestamp=i)
    got = wait_widget("h", lambda w: w["state"]["points"] and w["state"]["points"][-1][0] == 1499)
    assert len(got["state"]["points"]) == 1000 and got["state"]["points"][0][0] == 500
    assert got["config"]["max_points"] == 1000
    got = wait_widget("kept", lambda w: w["state"]["points"] and w["state"]["points"][-1][0] == 1499)
    assert len(got["state"]["points"]) == 50 and got["config"]["max_points"] == 50


def test_the_chart_default_follows_the_servers_history_flag(streamviz_bin):
    serve = subprocess.Popen([streamviz_bin, "serve", "--addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0", "--history", "300"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        ready = json.loads(serve.stdout.readline())
        c = sv.chart("h")
        sv.start(url=ready["nats"])
        for i in range(400):
            c.send(i, timestamp=i)
        base = ready["url"].rstrip("/")
        got = wait_widget("h", lambda w: w["state"]["points"] and w["state"]["points"][-1][0] == 399, base=base)
        assert len(got["state"]["points"]) == 300 and got["config"]["max_points"] == 300
        wait_until(lambda: sv.stats()["pending_messages"] == 0, what="everything acknowledged")
        sv.stop()
    finally:
        serve.terminate()
        serve.wait(30)


def test_a_pathway_chart_whose_x_column_looks_like_epoch_seconds_warns_once_naming_the_conversion(pw_run):
    """A Pathway x column of numbers is milliseconds, as .send()'s timestamp: a column of epoch
    seconds (a ts read from a log) landed in January 1970 without a word."""
    import pathway as pw

    t = pw.debug.table_from_markdown("""
      | ts         | v | __time__
    1 | 1767225600 | 1 | 2
    2 | 1767225601 | 2 | 2
    3 | 1767225602 | 3 | 4
    """)
    ms = pw.debug.table_from_markdown("""
      | at            | v
    1 | 1767225600000 | 1
    """)
    sv.chart(t, "v", x_column="ts", id="secs")
    sv.chart(ms, "v", x_column="at", id="millis")
    sv.start(port=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pw_run()
        # Shown as given: the warning does not guess on the user's behalf. (The SDK's thread folds
        # the rows, and warns, after pw.run may have returned.)
        wait_widget("secs", lambda w: [p[0] for p in w["state"]["points"]] == [1767225600, 1767225601, 1767225602])
        wait_widget("millis", lambda w: [p[0] for p in w["state"]["points"]] == [1767225600000])
    said = [str(w.message) for w in caught if "epoch seconds" in str(w.message)]
    assert len(said) == 1, f"warned once, for the chart of seconds only: {said}"
    assert "'secs'" in said[0] and "'ts'" in said[0] and "1767225600" in said[0] and 'utc_from_timestamp(unit="s")' in said[0]
    assert said[0] in sv.stats()["errors"]
