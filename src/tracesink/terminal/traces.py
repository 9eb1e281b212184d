"""``tracesink traces``: the recent traces, newest first, with their systems and errors."""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table

from tracesink.model import LOG_LEVELS
from tracesink.terminal.arguments import add_url
from tracesink.terminal.client import ServerClient
from tracesink.terminal.output import clock_of, console, print_json


def add(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "traces", help="list recent traces, newest first"
    )
    parser.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    parser.add_argument(
        "--level", choices=LOG_LEVELS, help="only traces with an entry this severe or worse"
    )
    parser.add_argument("--system", action="append", help="only traces with entries from it")
    add_url(parser)
    parser.add_argument("--json", action="store_true", help="the answer as one JSON document")


def run(args: argparse.Namespace) -> int:
    params = {"limit": str(args.limit)}
    if args.level:
        params["level"] = args.level
    if args.system:
        params["system"] = ",".join(args.system)
    client = ServerClient.from_environment(args.url)
    try:
        traces = client.get_json("/traces", params)["traces"]
    finally:
        client.close()
    if args.json:
        print_json(traces)
        return 0
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("trace", "last seen", "entries", "errors", "systems"):
        table.add_column(column, justify="right" if column in ("entries", "errors") else "left")
    for trace in traces:
        errors = trace.get("levels", {}).get("error", 0)
        pinned = " (pinned)" if trace.get("pinned_until") else ""
        table.add_row(
            trace["trace_id"] + pinned,
            clock_of(trace["last_seen"]),
            str(trace["count"]),
            f"[bold red]{errors}[/]" if errors else "0",
            ", ".join(trace["systems"]),
        )
    if traces:
        console().print(table)
    return 0
