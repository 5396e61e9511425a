"""Data as of (docs/protocol.md §1.2 stale_after, §1.3 as_of): every widget fed by Pathway carries
the Pathway time of its latest commit, in its data messages and its state, and stale_after= goes
into its config."""

from __future__ import annotations

import time

import pathway as pw
import pytest
from helpers import api_widget, wait_widget

import stream_viz as sv
from stream_viz import InvalidOptionError


class Times:
    """The Pathway times at which a table changed, as Pathway's own subscription sees them."""

    def __init__(self, table, name: str):
        self.times: list[int] = []
        pw.io.subscribe(table, on_change=lambda key, row, time, is_addition: self.times.append(time), name=name)


ORDERS_MD = """
  | region | amount | __time__ | __diff__
1 | eu     | 10     | 2        | 1
2 | us     | 20     | 2        | 1
1 | eu     | 10     | 4        | -1
1 | eu     | 12     | 4        | 1
3 | apac   | 5      | 6        | 1
2 | us     | 20     | 8        | -1
"""


def test_every_widget_state_carries_the_pathway_time_of_its_latest_commit(pw_run):
    orders = pw.debug.table_from_markdown(ORDERS_MD)
    by_region = orders.groupby(pw.this.region).reduce(pw.this.region, revenue=pw.reducers.sum(pw.this.amount))
    total = orders.reduce(revenue=pw.reducers.sum(pw.this.amount))
    seen = {"orders": Times(orders, "t_orders"), "regions": Times(by_region, "t_regions"), "total": Times(total, "t_total")}
    sv.table(orders, id="orders", stale_after=30)
    sv.table(by_region, id="regions", key="region")
    sv.stat(total, "revenue", id="total", stale_after=0.5)
    sv.chart(by_region, "revenue", x_column="region", id="bars")
    sv.start(port=0)
    pw_run()
    latest = {wid: max(t.times) for wid, t in seen.items()}
    latest["bars"] = latest["regions"]
    assert latest == {"orders": 8, "regions": 8, "total": 8, "bars": 8}, "the pipeline's last commit is at time 8"
    for wid, t in latest.items():
        w = wait_widget(wid, lambda w, t=t: w["state"].get("as_of") == t)
        assert w["state"]["as_of"] == t
    assert api_widget("orders")["config"]["stale_after"] == 30
    assert api_widget("total")["config"]["stale_after"] == 0.5
    assert "stale_after" not in api_widget("regions")["config"]


def test_a_streaming_pipelines_as_of_is_its_commit_time_in_unix_milliseconds(pw_run):
    class Feed(pw.io.python.ConnectorSubject):
        def run(self) -> None:
            for i in range(3):
                self.next(k=i % 2, v=float(i))
                self.commit()

    src = pw.io.python.read(Feed(), schema=pw.schema_from_types(k=int, v=float), autocommit_duration_ms=None)
    sums = src.groupby(pw.this.k).reduce(pw.this.k, total=pw.reducers.sum(pw.this.v))
    seen = Times(sums, "t_sums")
    before = time.time() * 1000
    sv.table(sums, id="sums", key="k")
    sv.start(port=0)
    pw_run()
    after = time.time() * 1000
    last = max(seen.times)
    assert before - 60_000 <= last <= after + 60_000, f"Pathway time {last} is not a unix time in ms around now"
    w = wait_widget("sums", lambda w: w["state"].get("as_of") == last)
    assert w["state"]["rows"] == {"0": {"k": 0, "total": 2.0}, "1": {"k": 1, "total": 1.0}}


def test_a_manual_widget_carries_no_as_of():
    s = sv.stat("plain")
    sv.start(port=0)
    s.send(1)
    w = wait_widget("plain", lambda w: w["state"]["value"] == 1)
    assert "as_of" not in w["state"]


@pytest.mark.parametrize("bad", [0, -1, "1m", True, 400 * 24 * 3600])
def test_stale_after_must_be_positive_seconds(bad):
    with pytest.raises(InvalidOptionError, match="stale_after"):
        sv.stat("s", stale_after=bad)
