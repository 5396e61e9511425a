"""sv.start(url=...): several publishing processes share one running `streamviz serve`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading

import pytest
from helpers import api_widgets, child_servers, get_json, rows_of, wait_until, wait_widget

PUBLISHER = {
    # A manual-mode publisher.
    "manual": """
        import json, sys
        import stream_viz as sv
        url = sys.argv[1]
        sv.title("Shared bus")
        revenue = sv.stat("m_revenue", title="Revenue")
        regions = sv.table("m_regions", key="region")
        sv.start(url=url)
        assert sv._D.server is None and sv._D.http_url is None, "nothing spawned"
        revenue.send(123.5)
        regions.send({"region": "eu", "n": 1})
        regions.send({"region": "us", "n": 2})
        sv.stop()   # publishes what is pending first: the values below arrive although nothing waited
        print("done")
    """,
    # A Pathway pipeline publisher.
    "pathway": """
        import json, sys
        import pathway as pw
        import stream_viz as sv
        url = sys.argv[1]
        t = pw.debug.table_from_markdown('''
          | k | v | __time__ | __diff__
        1 | a | 1 | 2        | 1
        2 | b | 2 | 2        | 1
        1 | a | 1 | 4        | -1
        1 | a | 5 | 4        | 1
        ''')
        sv.table(t, id="p_rows", key="k")
        sv.gauge(t.reduce(total=pw.reducers.sum(pw.this.v)), "total", id="p_total", max_val=10)
        sv.start(url=url)
        assert sv._D.server is None
        pw.run(monitoring_level=pw.MonitoringLevel.NONE)
        sv.stop()
        print("done")
    """,
}


@pytest.fixture
def serve(streamviz_bin, tmp_path):
    """A `streamviz serve` this test starts itself, on free ports; its JSON ready line parsed."""
    proc = subprocess.Popen([streamviz_bin, "serve", "--addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0",
                             "--data-dir", str(tmp_path / "data")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err: list[str] = []
    threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True).start()
    try:
        line = proc.stdout.readline()
        assert line, f"no ready line; stderr: {''.join(err)}"
        ready = json.loads(line)
        assert ready["event"] == "ready", ready
        yield {"http": f"http://{ready['http']}", "nats": ready["nats"], "proc": proc}
    finally:
        proc.terminate()
        proc.wait(15)


def test_two_processes_publish_to_one_running_server_and_both_sets_show(serve, tmp_path):
    base = serve["http"]
    procs = []
    for name, body in PUBLISHER.items():
        script = tmp_path / f"publisher_{name}.py"
        script.write_text(textwrap.dedent(body))
        procs.append((name, subprocess.Popen([sys.executable, str(script), serve["nats"]], stdout=subprocess.PIPE,
                                             stderr=subprocess.PIPE, text=True, cwd=str(tmp_path))))
    for name, p in procs:
        out, err = p.communicate(timeout=90)
        assert p.returncode == 0 and out.strip().endswith("done"), f"{name} publisher failed:\n{err}"

    ids = wait_until(lambda: {w["id"] for w in api_widgets(base)} >= {"m_revenue", "m_regions", "p_rows", "p_total"} and
                     {w["id"] for w in api_widgets(base)}, what="both processes' widgets")
    assert ids == {"m_revenue", "m_regions", "p_rows", "p_total"}
    wait_widget("m_revenue", lambda w: w["state"]["value"] == 123.5, base=base)
    got = wait_widget("m_regions", lambda w: len(rows_of(w)) == 2, base=base)
    assert rows_of(got) == {"eu": {"region": "eu", "n": 1}, "us": {"region": "us", "n": 2}}
    got = wait_widget("p_rows", lambda w: len(rows_of(w)) == 2, base=base)
    assert rows_of(got) == {"a": {"k": "a", "v": 5}, "b": {"k": "b", "v": 2}}
    wait_widget("p_total", lambda w: w["state"]["value"] == 7, base=base)
    assert get_json(base + "/healthz")["rejected"] == 0
    assert child_servers(procs[0][1].pid) == [] and child_servers(procs[1][1].pid) == []
    assert serve["proc"].poll() is None, "the shared server outlives its publishers"


SAME_ID = """
import json
import sys
import stream_viz as sv
n = sv.stat("n")
sv.title(sys.argv[2])
sv.start(url=sys.argv[1])
n.send(float(sys.argv[3]))
sv.stop()
print(json.dumps(sv.stats()["errors"]))
print("done")
"""


def _metric(base: str, name: str) -> float:
    import urllib.request

    with urllib.request.urlopen(base + "/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    raise AssertionError(f"/metrics has no {name}")


def test_two_scripts_declaring_the_same_widget_are_two_producers_and_a_rerun_is_one(serve, tmp_path):
    """Every config names its producer (host and script, or STREAMVIZ_PRODUCER): the server counts
    a second script declaring widget n and the title, and not the same script run again."""
    base = serve["http"]

    def run(script_name: str, title: str, value: int) -> tuple[list[str], str]:
        script = tmp_path / script_name
        script.write_text(SAME_ID)
        env = {k: v for k, v in os.environ.items() if k != "STREAMVIZ_PRODUCER"}
        p = subprocess.run([sys.executable, str(script), serve["nats"], title, str(value)], capture_output=True, text=True,
                           cwd=str(tmp_path), env=env, timeout=90, check=False)
        assert p.returncode == 0 and p.stdout.strip().endswith("done"), p.stderr
        wait_widget("n", lambda w: w["state"]["value"] == value, base=base)
        return json.loads(p.stdout.strip().splitlines()[-2]), p.stderr

    errors, _ = run("orders.py", "Orders", 1)
    assert errors == []
    errors, _ = run("orders.py", "Orders", 2)  # the same pipeline again: the same producer
    assert errors == [] and _metric(base, "streamviz_producer_conflicts_total") == 0
    errors, stderr = run("other.py", "Other", 3)
    wait_until(lambda: _metric(base, "streamviz_producer_conflicts_total") == 2, what="the widget's and the title's conflicts")
    # The second producer hears of it in the replies to its configs: one warning each, naming the first.
    assert len(errors) == 2 and all("orders.py" in e for e in errors), errors
    assert any('widget "n" is also declared by producer' in e for e in errors), errors
    assert any("the dashboard title is also declared" in e for e in errors), errors
    assert "ProducerConflictWarning" in stderr



NATS_SERVER = os.path.join(os.path.dirname(__file__), "..", "..", "bin", "nats-server")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _send_rows_points_and_ops():
    """Declares three widgets and what goes to them: 2,000 send_many rows, 5,000 extend points and
    500 .send() rows, each batch far over 8 KiB as one message."""
    import numpy as np

    import stream_viz as sv

    t, c, s = sv.table("small_rows", key="k"), sv.chart("small_points"), sv.table("small_sent", key="k")

    def send() -> None:
        t.send_many({"k": np.arange(2000), "v": np.arange(2000) * 0.5, "name": ["row"] * 2000})
        c.extend(np.arange(5000.0), np.arange(5000.0))
        for i in range(500):
            s.send({"k": f"key-{i}", "note": "x" * 40})
    return send


def test_a_bus_that_takes_small_messages_gets_every_update_in_messages_it_takes(streamviz_bin, tmp_path):
    """A bus's max_payload may be far below the 900 KiB the SDK built messages up to (an external
    NATS server's setting): such a message was refused whole by the client, every row in it lost
    (loudly, as refused). The SDK builds messages under the limit of the bus it joined."""
    import warnings

    import stream_viz as sv

    assert os.access(NATS_SERVER, os.X_OK), "bin/nats-server is built by `make setup-test`"
    port = _free_port()
    conf = tmp_path / "nats.conf"
    conf.write_text(f'listen: "127.0.0.1:{port}"\nmax_payload: 8192\njetstream {{ store_dir: "{tmp_path / "js"}" }}\n')
    bus = subprocess.Popen([NATS_SERVER, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"nats://127.0.0.1:{port}"
    gw = None
    try:
        wait_until(lambda: _port_open(port), what="the standalone nats-server")
        gw = subprocess.Popen([streamviz_bin, "serve", "--addr", "127.0.0.1:0", "--nats-url", url],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        ready = json.loads(gw.stdout.readline())
        base = f"http://{ready['http']}"
        send = _send_rows_points_and_ops()
        with warnings.catch_warnings():
            warnings.simplefilter("error", sv.UpdateRefusedWarning)
            sv.start(url=url)
            send()
            wait_until(lambda: len(get_json(f"{base}/api/widgets/small_rows")["state"]["rows"]) == 2000, what="2,000 rows")
            wait_until(lambda: get_json(f"{base}/api/widgets/small_points")["state"]["points"][-1] == [4999.0, 4999.0],
                       what="the chart's last point")
            wait_until(lambda: len(get_json(f"{base}/api/widgets/small_sent")["state"]["rows"]) == 500, what="500 sent rows")
        stats = sv.stats()
        assert stats["refused_publishes"] == 0 and stats["undelivered_updates"] == 0, stats
        assert len(get_json(f"{base}/api/widgets/small_points")["state"]["points"]) == 1000
    finally:
        sv.stop()
        for p in (gw, bus):
            if p is not None:
                p.terminate()
                p.wait(15)


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_an_update_larger_than_the_servers_message_limit_is_refused_once_and_the_widget_goes_on(streamviz_bin, tmp_path):
    """The server answers an update over --max-message-bytes with 413: resending cannot help, yet
    the SDK resent it for as long as it ran, every later update of the widget queued behind it."""
    import warnings

    import stream_viz as sv

    proc = subprocess.Popen([streamviz_bin, "serve", "--addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0",
                             "--max-message-bytes", "8KiB", "--data-dir", str(tmp_path / "data")],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        ready = json.loads(proc.stdout.readline())
        base = f"http://{ready['http']}"
        t = sv.table("big_rows", key="k")
        sv.start(url=ready["nats"])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # One update alone over the limit (a message of many updates is sent again in parts:
            # test_message_limit.py).
            t.send({"k": "big", "v": "y" * 10_000})
            wait_until(lambda: sv.stats()["refused_publishes"] == 1, what="the refusal of the big message")
            t.send({"k": "after", "v": 1})
            wait_until(lambda: "after" in (get_json(f"{base}/api/widgets/big_rows")["state"] or {}).get("rows", {}),
                       what="the row sent after the refused message")
        said = [str(w.message) for w in caught if issubclass(w.category, sv.UpdateRefusedWarning)]
        assert len(said) == 1 and "too large" in said[0] and "8192" in said[0], said
        stats = sv.stats()
        assert stats["failed_publishes"] == 0 and stats["pending_messages"] == 0, stats
    finally:
        sv.stop()
        proc.terminate()
        proc.wait(15)
