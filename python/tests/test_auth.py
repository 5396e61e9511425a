"""sv.start(token=) and sv.embed_url against a really spawned, token-protected server."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

import pytest
import websockets.sync.client
from helpers import wait_until

import stream_viz as sv

TOKEN = "py-test-token-5f2c9a"


def status(url: str, headers: dict | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_start_with_token_protects_the_server_and_embed_url_opens_one_widget():
    revenue, secret = sv.stat("revenue", title="Revenue"), sv.stat("secret", title="Secret")
    sv.start(port=0, token=TOKEN)
    revenue.send(4242.5)
    secret.send(777001)
    base = sv._D.http_url.rstrip("/")
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    wait_until(lambda: "777001" in status(f"{base}/api/widgets/secret", bearer)[1], what="the secret widget's value")

    for path in ("/", "/api/widgets", "/api/widgets/secret", "/embed/revenue", "/ws"):
        code, body = status(base + path)
        assert code == 401 and "777001" not in body and "4242.5" not in body, (path, code, body)

    link = sv.embed_url("revenue", expires_in=60)
    parts = urllib.parse.urlsplit(link)
    assert parts.path == "/embed/revenue" and f"{parts.scheme}://{parts.netloc}" == base
    assert revenue.embed_url is not None and "sig=" in revenue.embed_url
    code, body = status(link)
    assert code == 200 and 'data-mode="embed"' in body

    ws_url = base.replace("http://", "ws://") + "/ws?widget=revenue&" + parts.query
    with websockets.sync.client.connect(ws_url, open_timeout=10) as ws:
        first = json.loads(ws.recv(timeout=10))
    assert [w["id"] for w in first[0]["widgets"]] == ["revenue"]
    assert first[0]["widgets"][0]["state"]["value"] == 4242.5

    for path in (f"/api/widgets/revenue?{parts.query}", f"/embed/secret?{parts.query}", f"/?{parts.query}"):
        code, body = status(base + path)
        assert code == 401 and "777001" not in body, (path, code)
    tampered = link[:-1] + ("0" if link[-1] != "0" else "1")
    assert status(tampered)[0] == 401


def test_embed_url_refuses_what_it_cannot_sign():
    with pytest.raises(sv.StreamVizError, match=r"sv\.start"):
        sv.embed_url("revenue")  # nothing running
    with pytest.raises(sv.StreamVizError, match="token"):
        sv.embed_url("revenue", base_url="http://127.0.0.1:3000")
    with pytest.raises(sv.InvalidOptionError) as e:
        sv.embed_url("revenue", expires_in=0, base_url="http://h", token=TOKEN)
    assert e.value.option == "expires_in"
    with pytest.raises(sv.InvalidOptionError):
        sv.embed_url("not an id", base_url="http://h", token=TOKEN)
    with pytest.raises(sv.InvalidOptionError) as e:
        sv.start(port=0, token=" padded ")
    assert e.value.option == "token" and "padded" not in str(e.value)
    with pytest.raises(sv.StreamVizError, match="token="):
        sv.start(url="nats://127.0.0.1:1", token=TOKEN)
