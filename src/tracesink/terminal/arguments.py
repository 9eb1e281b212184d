"""Arguments every terminal command shares: where the server is, and the read filters."""

from __future__ import annotations

import argparse

from tracesink.model import LOG_LEVELS
from tracesink.terminal.client import DEFAULT_URL


def add_url(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        default=None,
        help=f"where tracesink runs (env TRACESINK_URL, default {DEFAULT_URL}); "
        "the read token comes from TRACESINK_READ_TOKEN",
    )


def add_filters(parser: argparse.ArgumentParser, since: bool = True) -> None:
    parser.add_argument("--level", choices=LOG_LEVELS, help="only entries this severe or worse")
    parser.add_argument(
        "--system", action="append", help="only entries from this system (repeatable)"
    )
    parser.add_argument("--grep", metavar="TEXT", help="only entries containing TEXT")
    if since:
        parser.add_argument("--since", metavar="ENTRY_ID", help="only entries newer than this id")


def filter_params(args: argparse.Namespace) -> dict[str, str]:
    params: dict[str, str] = {}
    if args.level:
        params["level"] = args.level
    if args.system:
        params["system"] = ",".join(args.system)
    if args.grep:
        params["q"] = args.grep
    if getattr(args, "since", None):
        params["since"] = args.since
    return params


def add_raw_stacks(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--raw-stacks",
        action="store_true",
        help="stacks as sent, not through their release's source maps",
    )


def stack_params(args: argparse.Namespace) -> dict[str, str]:
    """Stacks through their release's source maps (``resolve=1``) unless ``--raw-stacks``."""
    return {} if args.raw_stacks else {"resolve": "1"}
