"""Signed embed links (docs/protocol.md §6.2): the same HMAC the server checks."""

from __future__ import annotations

import hashlib
import hmac
import os
import time

from ._errors import InvalidOptionError, StreamVizError
from ._widgets import check_id


def check_token(token: object) -> str:
    """A token as the server takes it: a non-empty string without surrounding whitespace."""
    if not isinstance(token, str) or not token or token != token.strip():
        # The value is a secret: the error names its kind, not its text.
        shown = "<a token with surrounding whitespace>" if isinstance(token, str) and token else token
        raise InvalidOptionError("dashboard", "token", shown, "a non-empty string without surrounding whitespace")
    return token


def env_token() -> str | None:
    """The token a spawned server would take from the environment, if any."""
    token = os.environ.get("STREAMVIZ_TOKEN")
    if token:
        return token.strip()
    path = os.environ.get("STREAMVIZ_TOKEN_FILE")
    if path:
        try:
            with open(path, encoding="utf-8") as f:
                return f.read().strip() or None
        except OSError:
            return None  # the server reports it when it starts
    return None


def _derive(token: str, purpose: str) -> bytes:
    return hmac.new(token.encode(), f"streamviz {purpose}".encode(), hashlib.sha256).digest()


def signature(token: str, widget: str, exp: int) -> str:
    """hex(HMAC-SHA256(HMAC-SHA256(token, "streamviz embed v1"), widget + "\\n" + exp))."""
    return hmac.new(_derive(token, "embed v1"), f"{widget}\n{exp}".encode(), hashlib.sha256).hexdigest()


def embed_url(base_url: str | None, token: str | None, widget: str, expires_in: float) -> str:
    wid = check_id(widget)
    if isinstance(expires_in, bool) or not isinstance(expires_in, (int, float)) or not expires_in > 0:
        raise InvalidOptionError(wid, "expires_in", expires_in, "a positive number of seconds")
    if not base_url:
        raise StreamVizError("sv.embed_url: no dashboard runs in this process; call sv.start() first or pass base_url=")
    if token is None:
        raise StreamVizError("sv.embed_url signs links with the server's token: start it with sv.start(token=...) "
                             "or pass token=")
    token = check_token(token)
    exp = int(time.time() + expires_in)
    return f"{base_url.rstrip('/')}/embed/{wid}?exp={exp}&sig={signature(token, wid, exp)}"
