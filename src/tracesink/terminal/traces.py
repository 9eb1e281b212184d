"""``tracesink traces``: the recent traces, newest first, with their systems and errors."""

from __future__ import annotations

import argparse
from typing import Any, Literal

from rich.table import Table
from rich.text import Text

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
    show(traces)
    return 0


COLUMNS = ("trace", "last seen", "entries", "errors", "systems")
GAP = "  "


def show(traces: list[dict[str, Any]]) -> None:
    """A trace id is never cut: into a pipe one plain line per trace; in a terminal a table
    when it fits, else each id on a line of its own with its details below it."""
    rows = [
        (
            str(trace["trace_id"]),
            clock_of(trace["last_seen"]),
            str(trace["count"]),
            str(trace.get("levels", {}).get("error", 0)),
            ", ".join(trace["systems"]),
        )
        for trace in traces
    ]
    if not rows:
        return
    out = console()
    if not out.is_terminal:
        for row in rows:
            out.print(GAP.join(row), markup=False)
        return
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(COLUMNS)]
    if sum(widths) + len(GAP) * (len(widths) - 1) <= out.width:
        table = Table(box=None, pad_edge=False, header_style="bold")
        for column in COLUMNS:
            justify: Literal["left", "right"] = (
                "right" if column in ("entries", "errors") else "left"
            )
            table.add_column(column, justify=justify, no_wrap=True)
        for trace_id, seen, count, errors, systems in rows:
            shown = Text(errors, style="bold red") if errors != "0" else Text(errors)
            table.add_row(Text(trace_id), seen, count, shown, Text(systems))
        out.print(table)
        return
    for trace_id, seen, count, errors, systems in rows:
        out.print(Text(trace_id, style="bold"))
        entries = "entry" if count == "1" else "entries"
        details = Text(f"  {seen}  {count} {entries}  ")
        details.append(
            f"{errors} error{'' if errors == '1' else 's'}",
            style="bold red" if errors != "0" else "",
        )
        details.append(f"  {systems}")
        out.print(details)
