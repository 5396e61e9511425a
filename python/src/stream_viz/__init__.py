"""stream_viz: live dashboards for Pathway pipelines and plain Python.

    import stream_viz as sv
    sv.table(pw_table, title="Orders")   # or sv.stat(...), sv.chart(...), sv.gauge(...)
    sv.start()
    pw.run()

A string instead of a Pathway table gives a manual widget with .send().
"""

from __future__ import annotations

import importlib.util
import math
import numbers
import os
from typing import Any

from ._dashboard import DASHBOARD as _D
from ._errors import (
    BinaryNotFoundError,
    DuplicateWidgetError,
    InvalidOptionError,
    MultipleRowsError,
    NotAuthorizedError,
    NotNumericError,
    PortInUseError,
    ProducerConflictWarning,
    PublishRefusedWarning,
    ServerStartError,
    ServerUnreachableError,
    StreamVizError,
    UnknownColumnError,
    UpdateNotEncodedWarning,
    UpdateRefusedWarning,
    WidgetNotFoundError,
    WidgetRemovedError,
)
from ._publisher import AckError
from ._publisher import Credentials as _Credentials
from ._widgets import Chart, Gauge, Stat, Table, Widget, _thresholds, check_id, slug

__all__ = [
    "BinaryNotFoundError",
    "Chart",
    "DuplicateWidgetError",
    "Gauge",
    "InvalidOptionError",
    "MultipleRowsError",
    "NotAuthorizedError",
    "NotNumericError",
    "PortInUseError",
    "ProducerConflictWarning",
    "PublishRefusedWarning",
    "ServerStartError",
    "ServerUnreachableError",
    "Stat",
    "StreamVizError",
    "Table",
    "UnknownColumnError",
    "UpdateNotEncodedWarning",
    "UpdateRefusedWarning",
    "Widget",
    "WidgetNotFoundError",
    "WidgetRemovedError",
    "chart",
    "configure",
    "embed_url",
    "gauge",
    "remove",
    "start",
    "stat",
    "stats",
    "stop",
    "table",
    "title",
]

__version__ = "0.1.0"


def configure(title: str | None = None, theme: str | dict[str, Any] | None = None, port: int | None = None,
              embed: bool | None = None, producer: str | None = None) -> None:
    """Dashboard-wide settings: its title, colour theme, default port, and whether widgets print embed links.

    theme is "dark" (the default), "light", "auto" (follows the viewer's system) or a dict of
    mode, accent, background, surface, text (CSS colours), font (family names) and radius (pixels):
    sv.configure(theme={"accent": "#7c3aed", "background": "#0b1020", "font": "Inter, sans-serif", "radius": 8}).
    A bad theme raises InvalidOptionError naming the key. A viewer can still pick another mode in the page.

    producer names this process on the bus (default: STREAMVIZ_PRODUCER, else "<host>:<script path>"):
    the server warns when two producers declare the same widget id or both set the title.
    """
    if producer is not None:
        if not isinstance(producer, str) or not 1 <= len(producer.encode()) <= 200:
            raise InvalidOptionError("dashboard", "producer", producer, "text of 1 to 200 bytes")
        _D.producer = producer
    if title is not None or theme is not None:
        _D.set_title(title, theme)
    if port is not None:
        if not isinstance(port, int) or not 0 <= port <= 65535:
            raise InvalidOptionError("dashboard", "port", port, "an integer from 0 to 65535")
        _D.port = port
    if embed is not None:
        if not isinstance(embed, bool):
            raise InvalidOptionError("dashboard", "embed", embed, "True or False")
        _D.embed = embed


def title(text: str) -> None:
    """Sets the dashboard's title."""
    _D.set_title(text)


def _resolve(source: Any, id: str | None, fallback: str | None, kind: str) -> tuple[str, Any]:
    """The widget id and the Pathway table (None in manual mode).

    Duplicates are refused here, before anything subscribes to the table.
    """
    # The Pathway bindings are imported on first use, here and below, so that Pathway stays an
    # optional dependency.
    from ._pathway import is_table

    src = None
    if isinstance(source, str):
        wid = id if id is not None else source
    else:
        if not is_table(source):
            raise InvalidOptionError(id or kind, "source", source, "a Pathway table or a string id")
        wid = id if id is not None else (slug(fallback) if fallback else f"{kind}_{len(_D.widgets) + 1}")
        src = source
    if wid in _D.widgets:
        raise DuplicateWidgetError(wid)
    return wid, src


# The server's limit on a config's text fields (gateway maxTextLen): one beyond it, or of another
# type, would have the whole config refused after sv.start(), the widget never shown.
_MAX_TEXT_BYTES = 200


def _name(source: Any, id: Any, kind: str) -> str:
    """The widget's name in an error raised before its id is settled."""
    return str(id) if id is not None else source if isinstance(source, str) else kind


def _check_text(wid: str, **options: Any) -> None:
    """Raises InvalidOptionError for a text option that is neither None nor a str of at most 200 bytes."""
    for name, v in options.items():
        if v is not None and (not isinstance(v, str) or len(v.encode("utf-8", "surrogatepass")) > _MAX_TEXT_BYTES):
            raise InvalidOptionError(wid, name, v, f"text of at most {_MAX_TEXT_BYTES} bytes")


def _check_texts(wid: str, name: str, v: Any, mapping: bool) -> None:
    """A list of column names (mapping: a dict of column name to text); column_format's names are
    bounded by the server like the text options."""
    if v is None:
        return
    want = "a dict of column name to text" if mapping else "a list of column names"
    items = list(v.items()) if mapping and isinstance(v, dict) else (
        [(c, "") for c in v] if not mapping and isinstance(v, (list, tuple)) else None)
    limit = _MAX_TEXT_BYTES if name == "column_format" else None

    def fits(t: Any) -> bool:
        return isinstance(t, str) and (limit is None or len(t.encode("utf-8", "surrogatepass")) <= limit)

    if items is None or not all(fits(k) and fits(t) for k, t in items):
        raise InvalidOptionError(wid, name, v, want + (f" (text of at most {limit} bytes each)" if limit else ""))


def _check_bounds(wid: str, min_val: Any, max_val: Any) -> None:
    for name, v in (("min_val", min_val), ("max_val", max_val)):
        # numbers.Real takes numpy's scalars too (a bound computed with numpy is common).
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
            raise InvalidOptionError(wid, name, v, "a finite number")


def _embed(embed: bool) -> bool:
    return embed or bool(_D.embed)


def table(source: Any, *, id: str | None = None, title: str | None = None, columns: list[str] | None = None,
          column_labels: dict[str, str] | None = None, column_format: dict[str, str] | None = None, max_rows: int = 100,
          sort_by: str | None = None, sort_desc: bool = True, key: str | None = None, embed: bool = False,
          width: int | str | None = None, height: int | str | None = None, order: float | None = None,
          stale_after: float | None = None) -> Table:
    """Live rows: a Pathway table's rows, or rows sent with .send(row)."""
    name = _name(source, id, "table")
    _check_text(name, title=title, sort_by=sort_by, key=key)
    _check_texts(name, "columns", columns, mapping=False)
    _check_texts(name, "column_labels", column_labels, mapping=True)
    _check_texts(name, "column_format", column_format, mapping=True)
    wid, src = _resolve(source, id, title, "table")
    if src is not None and columns is None:
        from ._pathway import columns_of

        columns = columns_of(src)
    w = Table(_D, wid, title=title, columns=columns, column_labels=column_labels, column_format=column_format,
              max_rows=max_rows, sort_by=sort_by, sort_desc=sort_desc, key=key, embed=_embed(embed))
    w._size(width, height, order)
    w._stale(stale_after)
    if src is not None:
        from ._pathway import bind_table

        bind_table(w, src)
        w.source = src
    return _D.add(w)


def _value_column(src: Any, column: str | None, wid: str, kind: str) -> str:
    if column is not None:
        return column
    from ._pathway import columns_of

    cols = columns_of(src)
    if len(cols) != 1:
        raise InvalidOptionError(wid, "column", None, f"the column to show ({kind} of a table with columns {cols})")
    return cols[0]


def stat(source: Any, column: str | None = None, *, id: str | None = None, title: str | None = None, unit: str = "",
         color: str | None = None, format: str | None = None, delta: bool = True, embed: bool = False,
         width: int | str | None = None, height: int | str | None = None, order: float | None = None,
          stale_after: float | None = None) -> Stat:
    """One number: column of a single-row Pathway table, or values sent with .send(value)."""
    _check_text(_name(source, id, "stat"), title=title, unit=unit, color=color, format=format)
    wid, src = _resolve(source, id, title or column, "stat")
    w = Stat(_D, wid, title=title, unit=unit, color=color, format=format, delta=delta, embed=_embed(embed), column=column)
    w._size(width, height, order)
    w._stale(stale_after)
    if src is not None:
        w.column = _value_column(src, column, wid, "stat")
        from ._pathway import bind_value

        bind_value(w, src, w.column)
        w.source = src
    return _D.add(w)


def gauge(source: Any, column: str | None = None, *, id: str | None = None, title: str | None = None, unit: str = "",
          min_val: float = 0, max_val: float = 100, color: str | None = None,
          thresholds: list[tuple[float, str]] | None = None, embed: bool = False,
          width: int | str | None = None, height: int | str | None = None, order: float | None = None,
          stale_after: float | None = None) -> Gauge:
    """A bounded value: column of a single-row Pathway table, or values sent with .send(value)."""
    _check_text(_name(source, id, "gauge"), title=title, unit=unit, color=color)
    _check_bounds(_name(source, id, "gauge"), min_val, max_val)
    wid, src = _resolve(source, id, title or column, "gauge")
    w = Gauge(_D, wid, title=title, unit=unit, min_val=min_val, max_val=max_val, color=color, thresholds=thresholds,
              embed=_embed(embed), column=column)
    w._size(width, height, order)
    w._stale(stale_after)
    if src is not None:
        w.column = _value_column(src, column, wid, "gauge")
        from ._pathway import bind_value

        bind_value(w, src, w.column)
        w.source = src
    return _D.add(w)


def chart(source: Any, y_column: str | list[str] | None = None, *, x_column: str | None = None, series_column: str | None = None,
          id: str | None = None, title: str | None = None, unit: str = "", color: str | None = None, chart_type: str = "line",
          max_points: int | None = None, x_type: str | None = None, embed: bool = False,
          width: int | str | None = None, height: int | str | None = None, order: float | None = None,
          stale_after: float | None = None, y_min: float | None = None,
          y_max: float | None = None, y_scale: str | None = None, thresholds: list[tuple[float, str]] | None = None,
          label: str | None = None) -> Chart:
    """A chart: y_column against x_column (or commit time), or points sent with .send(value, timestamp).

    y_column may be a list: one series per column, named by it. series_column= makes one series per
    distinct value of that column, named by the value. With x_column= a chart keeps one point per
    series and x (the most recently changed row there wins; see Chart). A text x_column, or
    x_type="category" in manual mode, makes a categorical x axis (one bar per category).

    chart_type: "line" (default), "area", "bar", "scatter", "stacked_bar" or "stacked_area" (series
    stacked on each other; a series without a point at an x adds 0 there).

    max_points: the newest points kept per series, 1 to 100000; by default the server's
    (`streamviz serve --history`, 1000), the one default for the SDK and every other producer.

    label: the default series' name (the one .send() and .extend() fill without series=) in the
    legend, the cursor's reading and the text alternative; by default a Pathway chart's y column,
    else the title while it is the chart's only series and "(unnamed)" beside named ones.
    """
    _check_text(_name(source, id, "chart"), title=title, unit=unit, color=color, label=label)
    fallback = title or (y_column if isinstance(y_column, str) else "_".join(y_column) if y_column else None)
    wid, src = _resolve(source, id, fallback, "chart")
    w = Chart(_D, wid, title=title, unit=unit, color=color, chart_type=chart_type, max_points=max_points,
              embed=_embed(embed), y_column=list(y_column) if isinstance(y_column, (list, tuple)) else y_column,
              x_column=x_column, series_column=series_column, x_type=x_type or "number")
    w._size(width, height, order)
    w._stale(stale_after)
    w._y_axis(y_min, y_max, y_scale)
    w.thresholds = _thresholds(wid, thresholds)
    if label is not None and src is not None and (isinstance(w.y_column, list) or series_column is not None):
        named = "its y columns" if isinstance(w.y_column, list) else "series_column's values"
        raise InvalidOptionError(wid, "label", label,
                                 f"nothing here: this chart has no default series (its series are named by {named})")
    w.label = label
    if src is not None:
        if not isinstance(w.y_column, list):
            w.y_column = _value_column(src, w.y_column, wid, "chart")
        if x_type is not None:
            raise InvalidOptionError(wid, "x_type", x_type, "nothing for a Pathway chart: the x column's type decides")
        from ._pathway import bind_chart

        bind_chart(w, src)
        w.source = src
    return _D.add(w)


def start(port: int | None = None, *, url: str | None = None, data_dir: str | None = None, user: str | None = None,
          password: str | None = None, nkeys_seed: str | os.PathLike[str] | None = None,
          user_credentials: str | os.PathLike[str] | None = None, tls_ca: str | os.PathLike[str] | None = None,
          nats_auth: str | os.PathLike[str] | None = None, token: str | None = None, linger: bool | None = None) -> None:
    """Starts the dashboard: spawns the bundled server (or joins the one at url) and connects to it.

    linger: whether the dashboard stays up when the script ends, until Ctrl-C ("pipeline finished;
    dashboard still at URL, Ctrl-C to exit"). By default it does when the script runs in an
    interactive terminal and ended normally, and not otherwise (CI, tests, services, notebooks);
    STREAMVIZ_LINGER=0 or 1 sets the default; linger=False or True decides for this script.

    On a bus that requires authentication, give user= and password=, nkeys_seed= (a file holding an
    nkey seed) or user_credentials= (a NATS .creds file); tls_ca= is a PEM file of the CA certificates
    that verify a TLS bus (default: the system's). nats_auth= is the --nats-auth file of the server
    sv.start() spawns (docs/protocol.md §7).

    token= makes the spawned server require it (README "Authentication"): browsers log in with it,
    and sv.embed_url() signs links with it.
    """
    try:
        _check_where(port, url, data_dir)
        creds = _check_start(user, password, nkeys_seed, user_credentials, tls_ca, nats_auth, linger)
        _D.start(port, url, data_dir, creds, _path(nats_auth), token)
    except BaseException as e:
        _D.start_failed(e)  # under pathway spawn, the other processes must hear of it
        raise
    _D.linger = linger


def _check_where(port: Any, url: Any, data_dir: Any) -> None:
    # As configure(port=) does: these once reached socket.bind or the NATS client and raised
    # their own TypeError or OverflowError, or (data_dir=5) made a directory named "5".
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535):
        raise InvalidOptionError("start", "port", port, "an integer from 0 to 65535")
    if url is not None and not isinstance(url, str):
        raise InvalidOptionError("start", "url", url, "a NATS URL such as nats://host:4222")
    if data_dir is not None and not isinstance(data_dir, (str, os.PathLike)):
        raise InvalidOptionError("start", "data_dir", data_dir, "a directory path")


def _check_start(user: str | None, password: str | None, nkeys_seed: str | os.PathLike[str] | None,
                 user_credentials: str | os.PathLike[str] | None, tls_ca: str | os.PathLike[str] | None,
                 nats_auth: str | os.PathLike[str] | None, linger: bool | None) -> _Credentials:
    if (user is None) != (password is None):
        missing = "password" if password is None else "user"
        raise InvalidOptionError("start", missing, None, "user= and password= together")
    files = {"nkeys_seed": nkeys_seed, "user_credentials": user_credentials, "tls_ca": tls_ca, "nats_auth": nats_auth}
    for name, path in files.items():
        if path is not None and not os.access(path, os.R_OK):
            raise InvalidOptionError("start", name, path, "a readable file")
    if nkeys_seed is not None and importlib.util.find_spec("nkeys") is None:
        raise InvalidOptionError("start", "nkeys_seed", nkeys_seed,
                                 "nkey authentication, which needs the nkeys package (pip install nkeys)")
    if linger is not None and not isinstance(linger, bool):
        raise InvalidOptionError("start", "linger", linger, "True, False or None")
    return _Credentials(user=user, password=password, nkeys_seed=_path(nkeys_seed),
                        user_credentials=_path(user_credentials), tls_ca=_path(tls_ca))


def _path(p: str | os.PathLike[str] | None) -> str | None:
    return None if p is None else os.fspath(p)


def embed_url(widget: str | Widget, *, expires_in: float = 3600, base_url: str | None = None, token: str | None = None) -> str:
    """A signed link to one widget's embed page, valid for expires_in seconds.

    By default for the server this process started, with its token; base_url= and token= sign
    for another server. The link shows that widget and nothing else (docs/protocol.md §6.2).
    """
    from ._auth import embed_url as sign

    wid = widget.id if isinstance(widget, Widget) else widget
    return sign(base_url or _D.http_url, token if token is not None else _D.token, wid, expires_in)


def remove(widget: str | Widget, *, timeout: float = 10.0) -> None:
    """Removes a widget from the dashboard, for good: its card, its history and its place under
    --max-widgets go, for every page and across restarts (docs/protocol.md §1.2).

    widget is a Widget this process declared or any widget id (one another process or pipeline
    publishes, a renamed widget's old id). Its updates sent before go first; returns once the
    server has applied the removal. Raises WidgetNotFoundError when the dashboard has no such
    widget (never created, or removed already), StreamVizError when the server refuses or does
    not answer within timeout seconds. A removed Widget object raises WidgetRemovedError if sent
    to again; declaring the id anew (sv.stat(..., id=...)) shows a new, empty widget.
    """
    if isinstance(widget, Widget):
        wid, obj = widget.id, widget
    elif isinstance(widget, str):
        wid, obj = check_id(widget), None
    else:
        raise TypeError(f"sv.remove() takes a widget or a widget id, not {type(widget).__name__}")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise InvalidOptionError(wid, "timeout", timeout, "seconds above 0")
    if not _D.publisher.connected:
        raise StreamVizError(f"sv.remove({wid!r}): not connected to a dashboard; call sv.start() first")
    freed = False
    with _D.lock:
        if obj is None:
            obj = _D.widgets.get(wid)
        if obj is not None and _D.widgets.get(wid) is obj:
            # Freed now, so the id may be declared again; what it sent before still goes first.
            del _D.widgets[wid]
            freed = True
        if obj is not None:
            obj._removed = True
    try:
        _D.publisher.remove(wid, _D.producer, float(timeout))
    except AckError as e:
        if e.code == 404:
            raise WidgetNotFoundError(wid, e.description) from None
        # Refused (no right to its config, a bad id): the widget is kept, so this process's
        # object goes on sending to it as before.
        if obj is not None:
            with _D.lock:
                obj._removed = False
                if freed:
                    _D.widgets.setdefault(wid, obj)
        raise StreamVizError(f"sv.remove({wid!r}) refused by the server: {e.description}; the widget is kept") from None
    except Exception as e:
        raise StreamVizError(f"sv.remove({wid!r}) got no answer: {e!r}; the widget may still be there") from e


def stop(timeout: float = 5.0) -> None:
    """Publishes what is pending, disconnects, and stops the server this process started.

    A bus that is away (a joined server restarting) is waited for within timeout, as a slow one is.
    Returns within about timeout seconds whatever the server does (even frozen by SIGSTOP); what
    it had to give up on (updates the bus never acknowledged, a server that had to be killed) is
    warned about, added to sv.stats()["errors"] and counted in sv.stats()["undelivered_updates"].
    """
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout >= 0:
        raise InvalidOptionError("stop", "timeout", timeout, "a number of seconds, 0 or more")
    _D.stop(float(timeout))


def stats() -> dict[str, Any]:
    """Publishing counters: messages and updates acknowledged, pending, failed, refused by the bus,
    undelivered (given up on: the spawned server died, sv.stop() ran out of time, or they could not be encoded),
    dropped points, warnings."""
    return _D.stats()


def _reset() -> None:
    """Stops and forgets every widget (for tests)."""
    _D.reset()
