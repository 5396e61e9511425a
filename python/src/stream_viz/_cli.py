"""The `streamviz` command installed with the wheel: the bundled server binary itself."""

from __future__ import annotations

import os
import sys

from ._errors import BinaryNotFoundError
from ._server import find_binary


def main() -> None:
    try:
        binary = find_binary()
    except BinaryNotFoundError as e:
        print(f"streamviz: {e}", file=sys.stderr)
        raise SystemExit(1) from None
    os.execv(binary, [binary, *sys.argv[1:]])
