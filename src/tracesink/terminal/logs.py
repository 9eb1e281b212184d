"""``tracesink logs TRACE_ID``: a trace as a readable timeline, or exact JSON for a pipe."""

from __future__ import annotations

import argparse
from typing import Any

from tracesink.read_order import ORDERS
from tracesink.terminal.arguments import (
    add_filters,
    add_raw_stacks,
    add_url,
    filter_params,
    stack_params,
)
from tracesink.terminal.client import ServerClient
from tracesink.terminal.output import console, entry_line, event_time, ms_of, print_json


def add(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "logs", help="print one trace, in the order things happened"
    )
    parser.add_argument("trace_id", metavar="TRACE_ID")
    add_filters(parser)
    parser.add_argument(
        "--order",
        choices=ORDERS,
        default="event",
        help="event: by when it happened, the sender's clock corrected (default); "
        "arrival: as stored",
    )
    parser.add_argument(
        "--relative", action="store_true", help="times as +seconds after the first entry"
    )
    add_url(parser)
    add_raw_stacks(parser)
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="the whole answer as one JSON document")
    shape.add_argument("--ndjson", action="store_true", help="one JSON entry per line")


def run(args: argparse.Namespace) -> int:
    client = ServerClient.from_environment(args.url)
    try:
        params = {**filter_params(args), **stack_params(args), "order": args.order}
        trace = client.get_json(f"/logs/{args.trace_id}", params)
    finally:
        client.close()
    if args.json:
        print_json(trace)
    elif args.ndjson:
        for entry in trace["entries"]:
            print_json(entry)
    else:
        out = console()
        origin = _first_time(trace["entries"]) if args.relative else None
        for entry in trace["entries"]:
            out.print(entry_line(entry, origin_ms=origin))
        dropped = trace["dropped"]["total"]
        summary = f"{trace['count']} of {trace['total']} entries"
        summary += f", {dropped} dropped" if dropped else ""
        summary += f"; expires {trace['expires_at']}" if trace.get("expires_at") else ""
        summary += f"; pinned until {trace['pinned_until']}" if trace.get("pinned_until") else ""
        out.print(summary, style="dim")
    return 0


def _first_time(entries: list[dict[str, Any]]) -> int | None:
    """The earliest event time of the entries shown (markers aside): ``+0.000s``."""
    times = [ms_of(event_time(e)) for e in entries if "kind" not in e]
    return min((ms for ms in times if ms is not None), default=None)
