"""Authentication on the bus (docs/protocol.md §6): a server started with --nats-auth admits only the
publishers its file lists, each to its own subjects; the SDK passes credentials, and a refusal is
reported (exception at start, warning plus sv.stats() while running) without ever hanging the process."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import threading

import pytest
from helpers import DashClient, api_widget, wait_until

import stream_viz as sv

# Deadlines only bound a hang; a loaded 2-core CI machine must never hit them on a passing run.
WAIT = 60.0

AUTH = {
    "users": [
        {"user": "pipeline", "password": "p-secret"},
        {"user": "sales", "password": "s-secret", "publish": ["sv.sales.>", "sv.sales_eu.>"]},
    ]
}


@pytest.fixture
def auth_file(tmp_path):
    path = tmp_path / "auth.json"
    path.write_text(json.dumps(AUTH))
    return path


def test_a_publisher_with_credentials_reaches_the_dashboard(auth_file):
    revenue = sv.stat("revenue", title="Revenue")
    sv.start(port=0, nats_auth=auth_file, user="pipeline", password="p-secret")
    dash = DashClient()
    revenue.send(1234.5)
    dash.wait_for(lambda d: (d.state("revenue") or {}).get("value") == 1234.5, timeout=WAIT, what="the value over the WebSocket")
    st = sv.stats()
    assert st["connected"] and st["refused_publishes"] == 0 and st["errors"] == []
    dash.close()


def test_a_publisher_with_an_nkey_reaches_the_dashboard_and_only_its_widget(tmp_path):
    import os

    import nkeys

    seed = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
    public = nkeys.from_seed(bytearray(seed)).public_key.decode()
    seed_file = tmp_path / "user.nk"
    seed_file.write_bytes(seed)
    auth_file = tmp_path / "auth.json"
    auth_file.write_text(json.dumps({"users": [{"nkey": public, "publish": ["sv.revenue.>"]}]}))
    revenue = sv.stat("revenue")
    other = sv.stat("other")
    sv.start(port=0, nats_auth=auth_file, nkeys_seed=seed_file)
    dash = DashClient()
    revenue.send(7.5)
    other.send(1)
    dash.wait_for(lambda d: (d.state("revenue") or {}).get("value") == 7.5, timeout=WAIT,
                  what="the nkey user's value over the WebSocket")
    # Both of other's messages (config and data) were answered by the server's refusal, so their
    # absence below is the server's doing, not a message still on its way.
    wait_until(lambda: sv.stats()["refused_publishes"] >= 2, timeout=WAIT, what="the other widget's config and data refused")
    assert (dash.state("other") or {}).get("value") is None and api_widget("other") is None
    dash.close()


@pytest.mark.parametrize("creds, user", [({}, None), ({"user": "pipeline", "password": "wrong"}, "pipeline")],
                         ids=["no credentials", "wrong password"])
def test_the_bus_refuses_a_publisher_without_valid_credentials_at_start(auth_file, creds, user):
    sv.stat("revenue")
    with pytest.raises(sv.NotAuthorizedError) as caught:
        sv.start(port=0, nats_auth=auth_file, **creds)
    err = caught.value
    assert err.user == user and "Authorization Violation" in err.reason and err.url.startswith("nats://")
    assert isinstance(err, PermissionError)
    assert sv._D.server is None and not sv._D.started  # the spawned server is stopped again


def test_updates_outside_the_users_subjects_are_refused_counted_and_dropped(auth_file):
    own = sv.stat("sales", title="Sales")
    other = sv.stat("hr", title="Headcount")

    def refused_warnings() -> dict:
        return {w.message.subject: w.message for w in list(warned) if isinstance(w.message, sv.PublishRefusedWarning)}

    # Recording starts before sv.start(): hr's config goes out (and is refused) as soon as it connects.
    with pytest.warns(sv.PublishRefusedWarning) as warned:
        sv.start(port=0, nats_auth=auth_file, user="sales", password="s-secret")
        dash = DashClient()
        own.send(1)
        other.send(50)
        # The warnings themselves are waited on: they are issued on the SDK's thread.
        wait_until(lambda: sv.stats()["refused_publishes"] >= 2 and set(refused_warnings()) >= {"sv.hr.config", "sv.hr.data"},
                   timeout=WAIT, what="the config and the data of hr refused and warned about")
    refused = refused_warnings()
    assert set(refused) == {"sv.hr.config", "sv.hr.data"}, refused
    assert all(w.widget == "hr" and "permissions violation" in w.reason.lower() for w in refused.values())
    assert any("'hr'" in e for e in sv.stats()["errors"])

    # The refusal costs nothing else: the allowed widget keeps updating, later hr updates are dropped
    # without being sent (counted), and nothing is left pending for sv.stop() to wait on.
    before = sv.stats()["refused_publishes"]
    other.send(51)
    own.send(2)
    dash.wait_for(lambda d: (d.state("sales") or {}).get("value") == 2, timeout=WAIT, what="the allowed widget's update")
    wait_until(lambda: sv.stats()["refused_publishes"] == before + 1 and sv.stats()["pending_messages"] == 0,
               timeout=WAIT, what="the later hr update dropped and nothing pending")
    assert "hr" not in dash.widgets and api_widget("hr") is None
    dash.close()


def test_sv_stats_counts_a_refusal_only_once_its_warning_and_error_are_there(auth_file):
    """A refusal is reported (warning, sv.stats()["errors"]) before refused_publishes counts it, so
    whoever sees the count grow, on any thread, also finds the reason."""
    import warnings

    other = sv.stat("hr")
    seen: list[tuple[str, int, bool]] = []

    def on_warning(message, category, filename, lineno, file=None, line=None):
        # Runs on the SDK's thread, inside warnings.warn: what sv.stats() says at that moment.
        if isinstance(message, sv.PublishRefusedWarning):
            st = sv.stats()
            seen.append((message.subject, st["refused_publishes"], any(message.subject in e for e in st["errors"])))

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = on_warning
        sv.start(port=0, nats_auth=auth_file, user="sales", password="s-secret")
        other.send(50)
        wait_until(lambda: len(seen) >= 2 and sv.stats()["refused_publishes"] >= 2, timeout=WAIT,
                   what="hr's config and data refused")
    assert seen == [("sv.hr.config", 0, True), ("sv.hr.data", 1, True)], seen


PATHWAY_PUBLISHER = """
    import json, sys
    import pathway as pw
    import stream_viz as sv
    url = sys.argv[1]
    t = pw.debug.table_from_markdown('''
      | v | __time__
    1 | 1 | 2
    2 | 2 | 4
    ''')
    total = t.reduce(total=pw.reducers.sum(pw.this.v))
    sv.stat(total, "total", id="sales")       # allowed
    sv.stat(total, "total", id="marketing")   # not this user's
    sv.start(url=url, user="sales", password="s-secret")
    pw.run(monitoring_level=pw.MonitoringLevel.NONE)
    # A generous budget: on a loaded machine the default 5s could run out and give up on updates.
    sv.stop(timeout=60)
    print(json.dumps(sv.stats()))
"""


@pytest.fixture
def serve_with_auth(streamviz_bin, auth_file):
    """A `streamviz serve --nats-auth` this test starts itself, for publishers in other processes."""
    proc = subprocess.Popen([streamviz_bin, "serve", "--addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0",
                             "--nats-auth", str(auth_file)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err: list[str] = []
    threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True).start()
    try:
        line = proc.stdout.readline()
        assert line, f"no ready line; stderr: {''.join(err)}"
        ready = json.loads(line)
        yield {"http": f"http://{ready['http']}", "nats": ready["nats"]}
    finally:
        proc.terminate()
        proc.wait(15)


def test_a_refused_widget_never_blocks_a_pathway_pipeline(serve_with_auth, tmp_path):
    script = tmp_path / "publisher.py"
    script.write_text(textwrap.dedent(PATHWAY_PUBLISHER))
    # The timeout only guards against a hang; the pipeline itself takes a few seconds.
    done = subprocess.run([sys.executable, str(script), serve_with_auth["nats"]], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout.strip().splitlines()[-1])
    # Nothing given up on either: sv.stop() finished because the refusals emptied the queue.
    assert stats["refused_publishes"] >= 2 and stats["pending_messages"] == 0 and stats["undelivered_updates"] == 0, stats
    assert "PublishRefusedWarning" in done.stderr and "marketing" in done.stderr
    wait_until(lambda: (api_widget("sales", serve_with_auth["http"]) or {}).get("state", {}).get("value") == 3,
               timeout=WAIT, what="the allowed widget's total on the server")
    assert api_widget("marketing", serve_with_auth["http"]) is None


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a certificate")
def test_the_sdk_publishes_over_tls_verified_with_tls_ca(streamviz_bin, auth_file, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    proc = subprocess.Popen([streamviz_bin, "serve", "--addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0",
                             "--nats-auth", str(auth_file), "--nats-tls-cert", str(cert), "--nats-tls-key", str(key)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        ready = json.loads(proc.stdout.readline())
        assert ready["nats"].startswith("tls://"), ready
        revenue = sv.stat("revenue")
        sv.start(url=ready["nats"], user="pipeline", password="p-secret", tls_ca=cert)
        dash = DashClient(f"http://{ready['http']}")
        revenue.send(7)
        dash.wait_for(lambda d: (d.state("revenue") or {}).get("value") == 7, timeout=WAIT, what="the value sent over TLS")
        dash.close()
        sv.stop()
        # Without the CA the certificate is not trusted: a clear error, not a hang.
        with pytest.raises(sv.ServerUnreachableError, match="TLS certificate is not trusted"):
            sv.start(url=ready["nats"], user="pipeline", password="p-secret")
    finally:
        proc.terminate()
        proc.wait(15)


def test_start_checks_credential_options_before_spawning_anything(tmp_path, auth_file):
    with pytest.raises(sv.InvalidOptionError, match="password"):
        sv.start(port=0, user="pipeline")
    with pytest.raises(sv.InvalidOptionError, match="tls_ca"):
        sv.start(port=0, tls_ca=tmp_path / "absent.pem")
    with pytest.raises(sv.StreamVizError, match=r"nats_auth=.*\) belong to the server it spawns"):
        sv.start(url="nats://127.0.0.1:4222", nats_auth=auth_file)
    assert sv._D.server is None


def test_a_bad_auth_file_stops_the_spawned_server_with_its_reason(tmp_path):
    bad = tmp_path / "auth.json"
    bad.write_text('{"users": [{"user": "a", "password": "p", "publish": ["svsnap.>"]}]}')
    with pytest.raises(sv.ServerStartError) as caught:
        sv.start(port=0, nats_auth=bad)
    assert caught.value.exit_code == 1 and str(bad) in caught.value.stderr and "under sv." in caught.value.stderr


@pytest.mark.parametrize("declared", [True, False], ids=["a widget this process declared", "an id alone"])
def test_a_removal_the_bus_refuses_raises_at_once_saying_so_and_the_widget_is_kept(tmp_path, declared):
    """A publisher allowed widgets' data but not their config may not remove a widget (docs/protocol.md
    §7): the bus drops its removal, sv.remove() raises naming the refusal (not "no answer, the widget
    may be gone" after the whole timeout), and the widget, on the server and in this process, is kept."""
    auth_file = tmp_path / "auth.json"
    auth_file.write_text(json.dumps({"users": [{"user": "feeder", "password": "f-secret", "publish": ["sv.*.data"]}]}))
    sales = sv.stat("sales")
    sv.start(port=0, nats_auth=auth_file, user="feeder", password="f-secret")
    sales.send(5)  # its data creates the widget; its config is refused
    wait_until(lambda: (api_widget("sales") or {}).get("state", {}).get("value") == 5, timeout=WAIT, what="the widget")
    with pytest.raises(sv.StreamVizError, match=r"refused.*[Pp]ermissions [Vv]iolation.*sv\.sales\.config.*widget is kept"):
        sv.remove(sales if declared else "sales", timeout=WAIT)
    assert api_widget("sales") is not None
    sales.send(6)  # not WidgetRemovedError: the widget is still there
    wait_until(lambda: (api_widget("sales") or {}).get("state", {}).get("value") == 6, timeout=WAIT, what="the value after the refused removal")


def test_a_removal_the_bus_refuses_for_an_id_never_refused_before_raises_without_waiting_out_its_timeout(tmp_path):
    auth_file = tmp_path / "auth.json"
    auth_file.write_text(json.dumps({"users": [{"user": "feeder", "password": "f-secret", "publish": ["sv.*.data"]}]}))
    sv.start(port=0, nats_auth=auth_file, user="feeder", password="f-secret")
    # The refusal of sv.ghost.config arrives on the connection after the request goes: it must end
    # the wait, and say so (a timeout would say "got no answer").
    with pytest.raises(sv.StreamVizError, match=r"refused.*[Pp]ermissions [Vv]iolation.*sv\.ghost\.config"):
        sv.remove("ghost", timeout=WAIT)
