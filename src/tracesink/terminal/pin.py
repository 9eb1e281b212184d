"""``tracesink pin ID [--for 7d]`` and ``tracesink unpin ID``: keep a trace past the TTL, or
let it go (``POST`` / ``DELETE /logs/{id}/pin``; the server checks the duration and the bounds)."""

from __future__ import annotations

import argparse
from typing import Any

from tracesink.terminal.arguments import add_url
from tracesink.terminal.client import ServerClient
from tracesink.terminal.output import print_json


def add(commands: Any) -> None:
    pin: argparse.ArgumentParser = commands.add_parser(
        "pin", help="keep a trace past the TTL (until unpinned or the pin ends)"
    )
    pin.add_argument("trace_id", metavar="ID")
    pin.add_argument(
        "--for",
        dest="duration",
        metavar="DURATION",
        help="how long: 7d, 12h, 30m, 90s or seconds (default: the server's TRACESINK_PIN_S)",
    )
    unpin: argparse.ArgumentParser = commands.add_parser(
        "unpin", help="end a trace's pin: it expires as if never pinned"
    )
    unpin.add_argument("trace_id", metavar="ID")
    for parser in (pin, unpin):
        add_url(parser)
        parser.add_argument("--json", action="store_true", help="the server's answer as JSON")


def run(args: argparse.Namespace) -> int:
    client = ServerClient.from_environment(args.url)
    path = f"/logs/{args.trace_id}/pin"
    try:
        if args.command == "pin":
            params = {"for": args.duration} if args.duration else None
            answer = client.request("POST", path, params).json()
        else:
            answer = client.request("DELETE", path).json()
    finally:
        client.close()
    if args.json:
        print_json(answer)
    elif args.command == "pin":
        print(
            f"pinned {answer['trace_id']} until {answer['pinned_until']} ({answer['bytes']} bytes)"
        )
    else:
        print(f"unpinned {answer['trace_id']}: it expires a TTL after its last write")
    return 0
