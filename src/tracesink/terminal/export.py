"""``tracesink export TRACE_ID``: the whole trace, drop markers included, to a file or stdout.

NDJSON by default: one item per line as the store holds it, which ``tracesink import`` restores
elsewhere exactly (ids, times, systems, markers). ``--format md`` is a report for a bug or an
agent's prompt (not importable); ``--format json`` is the read's answer (importable too).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tracesink.errors import TraceSinkError
from tracesink.terminal.arguments import add_url
from tracesink.terminal.client import ServerClient

FORMATS = ("ndjson", "md", "json")


def add(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "export", help="write one whole trace (NDJSON, Markdown or JSON), to import elsewhere"
    )
    parser.add_argument("trace_id", metavar="TRACE_ID")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="ndjson",
        help="ndjson (default: what `tracesink import` restores), md (a readable report) or json",
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write here, not to stdout")
    add_url(parser)


def run(args: argparse.Namespace) -> int:
    client = ServerClient.from_environment(args.url)
    try:
        body = client.request("GET", f"/logs/{args.trace_id}", {"format": args.format}).content
    finally:
        client.close()
    if args.output is None:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
        return 0
    try:
        Path(args.output).write_bytes(body)
    except OSError as exc:
        raise TraceSinkError(f"cannot write {args.output}: {exc.strerror}") from None
    print(f"exported trace {args.trace_id} ({len(body)} bytes) to {args.output}", file=sys.stderr)
    return 0
