"""python -m stream_viz demo: a live dashboard from a self-contained pipeline."""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stream_viz")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the live demo (Pathway when installed, manual mode otherwise)")
    demo.add_argument("--port", type=int, default=None, help="dashboard port (default 3000, or a free one when busy)")
    demo.add_argument("--manual", action="store_true", help="run the manual-mode demo even when Pathway is installed")
    demo.add_argument("--seconds", type=float, default=None, help="stop after this many seconds (default: run until Ctrl-C)")
    demo.add_argument("--theme", default=None,
                      help='the dashboard theme: dark, light, auto or a JSON object as for sv.configure(theme=...), '
                           'e.g. \'{"accent": "#7c3aed", "font": "Georgia, serif"}\'')
    args = parser.parse_args(argv)
    from ._demo import run_demo

    theme: str | dict[str, object] | None = args.theme
    if args.theme is not None and args.theme.lstrip().startswith("{"):
        try:
            theme = json.loads(args.theme)
        except ValueError as e:
            parser.error(f"--theme: not a JSON object: {e}")
    return run_demo(port=args.port, manual=args.manual, seconds=args.seconds, theme=theme)


if __name__ == "__main__":
    sys.exit(main())
