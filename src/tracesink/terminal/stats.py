"""``tracesink stats``: what a running instance has stored, refused and spent."""

from __future__ import annotations

import argparse
from typing import Any

from rich.text import Text

from tracesink.accounting.report import render
from tracesink.terminal.arguments import add_url
from tracesink.terminal.client import ServerClient
from tracesink.terminal.output import console, print_json


def add(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "stats", help="print a running instance's /stats"
    )
    add_url(parser)
    parser.add_argument("--json", action="store_true", help="the /stats document as JSON")


def run(args: argparse.Namespace) -> int:
    client = ServerClient.from_environment(args.url)
    try:
        stats = client.get_json("/stats")
    finally:
        client.close()
    if args.json:
        print_json(stats)
    else:
        console().print(Text(render(stats)))
    return 0
