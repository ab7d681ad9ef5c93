"""Command line: `asyncso run` starts the operator; other subcommands help operate it.

Why argparse: flags mirror ESO's controller flags so Helm values carry over; no extra dependency
is worth it for a dozen options.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from asyncso import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="asyncso",
        description="External Secrets Operator on asyncio (external-secrets.io/v1).",
    )
    parser.add_argument("--version", action="version", version=f"asyncso {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("version", help="print the version")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "version":
        print(f"asyncso {__version__}")
        return 0
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
