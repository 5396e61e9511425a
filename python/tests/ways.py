"""The ways a Pathway table reaches the dashboard, for fidelity tests that must hold for each (issue
13 item 2): the SDK's bindings (`sv.table(t)`, ...), and Pathway's own NATS output,
`pw.io.nats.write(t, url, topic="sv.<widget>.rows", format="json")`, core or JetStream, with the
widget's config naming how to read rows (docs/protocol.md §1.6). In the rows ways the SDK only
starts the server; the pipeline publishes on its own.

The rows ways start the server with a long `--rows-linger` (ROWS_LINGER): the fidelity tests assert
that every state a browser held was a commit boundary, which needs each Pathway time's rows folded
together, and a loaded machine can stall the writer for longer than the default 100 ms between two
rows of one time. A time is then ended only by the next time's rows; the last time of a run shows
after the linger, well within the tests' waits (15 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Iterator
from typing import Any

import pathway as pw
from helpers import plain

import stream_viz as sv

SDK = "sdk"
NATS = "pw.io.nats.write"
NATS_JETSTREAM = "pw.io.nats.write jetstream"
WAYS = [SDK, NATS, NATS_JETSTREAM]

# How long the server waits for more rows of one Pathway time in the rows ways (module docstring).
ROWS_LINGER = "3s"


@contextlib.contextmanager
def rows_linger(linger: str = ROWS_LINGER) -> Iterator[None]:
    """Servers started inside (sv.start spawns `streamviz serve` with this environment) fold a
    Pathway time only after `linger` without rows for it, or when a later time arrives."""
    old = os.environ.get("STREAMVIZ_ROWS_LINGER")
    os.environ["STREAMVIZ_ROWS_LINGER"] = linger
    try:
        yield
    finally:
        if old is None:
            del os.environ["STREAMVIZ_ROWS_LINGER"]
        else:
            os.environ["STREAMVIZ_ROWS_LINGER"] = old


def publish_configs(nats_url: str, configs: dict[str, dict]) -> None:
    """Publishes widget configs as any NATS client would (`nats req`), each acknowledged."""
    import nats

    async def run() -> None:
        nc = await nats.connect(nats_url)
        try:
            for wid, cfg in configs.items():
                reply = json.loads((await nc.request(f"sv.{wid}.config", json.dumps(cfg).encode(), timeout=10)).data)
                assert reply.get("stream") == "SV", f"config of {wid} refused: {reply}"
        finally:
            await nc.close()

    asyncio.run(run())


class Way:
    """Declares widgets through the SDK, or as configs plus pw.io.nats.write of each table. With the
    SDK the widget objects are returned (for assertions on them); the rows ways return None."""

    def __init__(self, name: str):
        self.name = name
        self.configs: dict[str, dict] = {}
        self.tables: dict[str, Any] = {}

    def __repr__(self) -> str:
        return self.name

    @property
    def sdk(self) -> bool:
        return self.name == SDK

    def _rows(self, wid: str, table: Any, cfg: dict) -> None:
        self.configs[wid] = cfg
        self.tables[wid] = table

    def table(self, t: Any, *, id: str, key: str | None = None, columns: list[str] | None = None, **kw: Any) -> Any:
        if self.sdk:
            return sv.table(t, id=id, key=key, columns=columns, **kw)
        cfg: dict = {"type": "table", **{k: v for k, v in kw.items() if k in ("sort_by", "title")}}
        if key is not None:
            cfg["key"] = [key]
        if columns is not None:
            cfg["columns"] = columns
        self._rows(id, t, cfg)
        return None

    def chart(self, t: Any, y: str | list[str], *, id: str, x_column: str | None = None, series_column: str | None = None,
              chart_type: str = "line", category: bool = False) -> Any:
        """category: the x column holds text (the SDK sees that in the schema; a config says x_type)."""
        if self.sdk:
            return sv.chart(t, y, id=id, x_column=x_column, series_column=series_column, chart_type=chart_type)
        cfg: dict = {"type": "chart", "y": y, "chart_type": chart_type}
        if x_column is not None:
            cfg["x"] = x_column
        if series_column is not None:
            cfg["series"] = series_column
        if category:
            cfg["x_type"] = "category"
        self._rows(id, t, cfg)
        return None

    def value(self, kind: str, t: Any, column: str, *, id: str, **kw: Any) -> Any:
        if self.sdk:
            return (sv.stat if kind == "stat" else sv.gauge)(t, column, id=id, **kw)
        self._rows(id, t, {"type": kind, "column": column})
        return None

    def start(self) -> None:
        if self.sdk:
            sv.start(port=0)
            return
        with rows_linger():
            sv.start(port=0)
        url = sv._D.server.nats
        publish_configs(url, self.configs)
        for wid, t in self.tables.items():
            extra = {"jetstream_stream_name": "SV"} if self.name == NATS_JETSTREAM else {}
            pw.io.nats.write(t, url, topic=f"sv.{wid}.rows", format="json", **extra)

    def tie(self, key: Any, row: dict) -> str:
        """Which of several rows inserted into one point at one Pathway time is shown: the greater
        Pathway key with the SDK; rows carry none, so the server takes the greater row JSON (columns
        sorted by name)."""
        if self.sdk:
            return str(key)
        return json.dumps({c: plain(v) for c, v in row.items()}, sort_keys=True, separators=(",", ":"))
