"""Exceptions. Each carries the data a caller needs to react, not just a message."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "BinaryNotFoundError",
    "DuplicateWidgetError",
    "InvalidOptionError",
    "MultipleRowsError",
    "NotAuthorizedError",
    "NotNumericError",
    "PortInUseError",
    "ProducerConflictWarning",
    "PublishRefusedWarning",
    "ServerStartError",
    "ServerUnreachableError",
    "StreamVizError",
    "UnknownColumnError",
    "UpdateRefusedWarning",
    "WidgetNotFoundError",
    "WidgetRemovedError",
]


class StreamVizError(Exception):
    """Base class of every error stream_viz raises."""


class UnknownColumnError(StreamVizError, KeyError):
    def __init__(self, widget: str, column: str, available: Sequence[str]):
        self.widget, self.column, self.available = widget, column, list(available)
        super().__init__(f"widget {widget!r}: the table has no column {column!r}; its columns are {self.available}")

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class DuplicateWidgetError(StreamVizError, ValueError):
    def __init__(self, widget: str):
        self.widget = widget
        super().__init__(f"a widget with id {widget!r} already exists; pass a different id=")


class InvalidOptionError(StreamVizError, ValueError):
    def __init__(self, widget: str, option: str, value: object, expected: str):
        self.widget, self.option, self.value, self.expected = widget, option, value, expected
        super().__init__(f"widget {widget!r}: {option}={value!r} is invalid: expected {expected}")


class NotNumericError(StreamVizError, TypeError):
    """where: which value of a bulk call (chart.extend) it was, e.g. "ys[3]"; "" for .send()."""

    def __init__(self, widget: str, value: object, where: str = ""):
        self.widget, self.value, self.where = widget, value, where
        at = f" at {where}" if where else ""
        super().__init__(f"widget {widget!r} shows numbers; got {value!r} ({type(value).__name__}){at}")


class MultipleRowsError(StreamVizError, ValueError):
    def __init__(self, widget: str, rows: int):
        self.widget, self.rows = widget, rows
        super().__init__(
            f"widget {widget!r} shows one value but its table has {rows} rows; "
            "give stat/gauge a single-row table (for example table.reduce(...)); the widget keeps its last value"
        )


class BinaryNotFoundError(StreamVizError, FileNotFoundError):
    def __init__(self, searched: Sequence[str], hint: str = "reinstall stream-viz, or set STREAMVIZ_BIN to the binary"):
        self.searched = list(searched)
        super().__init__("the streamviz server binary was not found; looked in: " + ", ".join(self.searched) + f" ({hint})")


class ServerStartError(StreamVizError, RuntimeError):
    def __init__(self, reason: str, stderr: str = "", exit_code: int | None = None):
        self.reason, self.stderr, self.exit_code = reason, stderr, exit_code
        tail = f"\nserver output:\n{stderr.strip()}" if stderr.strip() else ""
        super().__init__(f"the streamviz server did not start: {reason}{tail}")


class PortInUseError(ServerStartError):
    """source: where the port was asked for when not in sv.start(port=...), e.g. "STREAMVIZ_PORT"."""

    def __init__(self, port: int, host: str = "127.0.0.1", source: str | None = None):
        self.port, self.host, self.source = port, host, source
        if source:
            super().__init__(f"port {port} on {host} ({source}={port}) is in use; "
                             f"set {source} to another port, or to 0 for a free one")
        else:
            super().__init__(f"port {port} on {host} is in use; pick another port= or port=0 for a free one")


def redact_url(urls: str) -> str:
    """The bus URL(s) as a message may show them: a password, or a lone user (NATS reads it as a
    token), replaced by "redacted", so an error or warning that lands in a log never carries them."""
    out = []
    for url in urls.split(","):
        scheme, sep, rest = url.rpartition("://")
        netloc, slash, path = rest.partition("/")
        if "@" in netloc:
            userinfo, _, host = netloc.rpartition("@")
            user, colon, _ = userinfo.partition(":")
            userinfo = f"{user}:redacted" if colon else "redacted"
            netloc = f"{userinfo}@{host}"
        out.append(f"{scheme}{sep}{netloc}{slash}{path}")
    return ",".join(out)


class ServerUnreachableError(StreamVizError, ConnectionError):
    def __init__(self, url: str, cause: BaseException | str):
        self.url, self.cause = url, cause
        super().__init__(f"cannot reach the StreamViz bus at {redact_url(url)}: {cause}")


class NotAuthorizedError(StreamVizError, PermissionError):
    """The bus refused the connection: no credentials, or wrong ones."""

    def __init__(self, url: str, user: str | None, reason: str):
        self.url, self.user, self.reason = url, user, reason
        who = f"as user {user!r}" if user else "without a user name"
        super().__init__(f"the StreamViz bus at {redact_url(url)} refused the connection {who}: {reason} "
                         "(pass user=/password=, nkeys_seed= or user_credentials= to sv.start())")


class PublishRefusedWarning(RuntimeWarning):
    """The bus refused a publish: this user may not publish to the subject. Its updates are dropped."""

    def __init__(self, widget: str, subject: str, reason: str):
        self.widget, self.subject, self.reason = widget, subject, reason
        super().__init__(f"stream_viz: the bus refused updates of widget {widget!r} (subject {subject!r}): {reason}; "
                         "they are dropped (see sv.stats()['refused_publishes'])")


class UpdateRefusedWarning(RuntimeWarning):
    """The server stored an update but refused to apply it (it does not fit the widget's type, or a
    widget, series or byte limit is reached), or the update is larger than the bus takes (a row
    with a cell of megabytes): resending cannot help, so it is dropped and counted in
    sv.stats()["refused_publishes"]; later updates of the widget go on."""

    def __init__(self, widget: str, subject: str, reason: str):
        self.widget, self.subject, self.reason = widget, subject, reason
        super().__init__(f"stream_viz: the server refused an update of widget {widget!r}: {reason}; such updates are "
                         "dropped (see sv.stats()['refused_publishes'])")


class UpdateNotEncodedWarning(RuntimeWarning):
    """Folding or encoding a widget's pending updates raised (an object the JSON encoder cannot
    take, a __str__ or default that raises): those updates are dropped and counted in
    sv.stats()["undelivered_updates"] where their number is known; the other widgets' go out."""

    def __init__(self, widget: str, error: BaseException):
        self.widget, self.error = widget, error
        super().__init__(f"stream_viz: updates of widget {widget!r} could not be folded or encoded "
                         f"({type(error).__name__}: {error}); they are dropped (counted in sv.stats()['undelivered_updates'] "
                         "when their number is known); other widgets' updates go out")


class ProducerConflictWarning(RuntimeWarning):
    """The server says another producer (another pipeline or script) declares the same widget, or
    sets the dashboard's title: both write to it and it shows whichever wrote last."""

    def __init__(self, widget: str, reason: str):
        self.widget, self.reason = widget, reason
        super().__init__(f"stream_viz: {reason} (or name this process apart with sv.configure(producer=...))")


class WidgetNotFoundError(StreamVizError, LookupError):
    """sv.remove(): the server holds no widget of that id (never created, or removed already)."""

    def __init__(self, widget: str, reason: str):
        self.widget, self.reason = widget, reason
        super().__init__(f"widget {widget!r} cannot be removed: the dashboard has no such widget ({reason})")


class WidgetRemovedError(StreamVizError, RuntimeError):
    """A Widget object sv.remove() removed was sent to again: declare a new widget of that id instead."""

    def __init__(self, widget: str):
        self.widget = widget
        super().__init__(f"widget {widget!r} was removed by sv.remove(); declare it again (sv.stat(..., id={widget!r}), ...) "
                         "to show it anew")
