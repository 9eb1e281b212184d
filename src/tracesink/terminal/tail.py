"""``tracesink tail [TRACE_ID]``: follow one trace, or every trace, live until Ctrl-C.

Reads the server's live stream (server-sent events); a dropped connection is resumed with the
last entry id, so nothing is missed or printed twice. Entries print as they arrive (arrival
order), each at its own event time, stacks through their release's source maps unless
``--raw-stacks``; ``tracesink logs`` prints a trace in event order.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from tracesink.terminal.arguments import (
    add_filters,
    add_raw_stacks,
    add_url,
    filter_params,
    stack_params,
)
from tracesink.terminal.client import ServerClient
from tracesink.terminal.output import console, entry_line, print_json


def add(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "tail", help="follow a trace (or every trace) live until Ctrl-C"
    )
    parser.add_argument("trace_id", metavar="TRACE_ID", nargs="?", help="default: every trace")
    add_filters(parser)
    add_url(parser)
    add_raw_stacks(parser)
    parser.add_argument("--ndjson", action="store_true", help="one JSON entry per line")


def run(args: argparse.Namespace) -> int:
    client = ServerClient.from_environment(args.url)
    path = f"/logs/{args.trace_id}/live" if args.trace_id else "/live"
    out, notes = console(), console(stderr=True)
    try:
        for event in client.follow(path, {**filter_params(args), **stack_params(args)}, args.since):
            if event.event == "ready" and notes.is_terminal:
                what = f"trace {args.trace_id}" if args.trace_id else "every trace"
                notes.print(f"following {what} at {client.url} (Ctrl-C to stop)", style="dim")
            elif event.event == "message":
                entry: dict[str, Any] = json.loads(event.data)
                if args.ndjson:
                    print_json(entry)
                else:
                    out.print(entry_line(entry, with_trace=not args.trace_id))
    except KeyboardInterrupt:
        return 0
    finally:
        client.close()
    return 0
