"""``tracesink send --trace ID MESSAGE``, or lines from stdin: entries from a shell script.

Each entry is sent as ``manual`` (no share of its own: it counts against the global and trace
limits only) unless ``--system`` names another. Quiet on success; one line per refused entry.
An ingest key, when the server wants one, comes from ``TRACESINK_INGEST_KEY``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import msgspec

from tracesink.errors import TraceSinkError
from tracesink.model import LOG_LEVELS, MANUAL
from tracesink.terminal.arguments import add_url
from tracesink.terminal.client import ServerClient
from tracesink.terminal.output import print_json

MAX_LINES_PER_REQUEST = 500


def add(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "send", help="send a message (or each line of stdin) to a trace"
    )
    parser.add_argument("message", metavar="MESSAGE", nargs="*", help="default: lines of stdin")
    parser.add_argument("--trace", required=True, metavar="TRACE_ID", help="the trace to add to")
    parser.add_argument("--level", default="log", choices=LOG_LEVELS, help="default log")
    parser.add_argument("--system", default=MANUAL, help=f"default {MANUAL}")
    add_url(parser)
    parser.add_argument("--json", action="store_true", help="print the server's answers as JSON")


def run(args: argparse.Namespace) -> int:
    client = ServerClient.from_environment(args.url)
    base = {"trace_id": args.trace, "level": args.level, "system": args.system}
    try:
        if args.message:
            return _answered(
                client.request(
                    "POST", "/log", json={**base, "message": " ".join(args.message)}
                ).json(),
                args,
                0,
            )
        failed = 0
        lines = (line.rstrip("\n") for line in sys.stdin)
        batch: list[bytes] = []
        offset = 0
        for line in lines:
            if not line:
                continue
            batch.append(msgspec.json.encode({**base, "message": line}))
            if len(batch) == MAX_LINES_PER_REQUEST:
                failed += _send_lines(client, batch, offset, args)
                offset += len(batch)
                batch = []
        if batch:
            failed += _send_lines(client, batch, offset, args)
        elif not offset:
            raise TraceSinkError("nothing to send: give a MESSAGE, or lines on stdin")
        return 1 if failed else 0
    finally:
        client.close()


def _send_lines(
    client: ServerClient, batch: list[bytes], offset: int, args: argparse.Namespace
) -> int:
    response = client.request(
        "POST", "/logs", content=b"\n".join(batch), headers={"content-type": "application/x-ndjson"}
    )
    answer: dict[str, Any] = response.json()
    if args.json:
        print_json(answer)
    rejected = answer.get("rejected", [])
    for item in rejected:
        _complain(f"line {offset + item['index'] + 1}: {_reason(item)}")
    if not answer.get("success") and not rejected:
        raise TraceSinkError(str(answer.get("error", "the batch was refused")))
    return len(rejected)


def _answered(answer: dict[str, Any], args: argparse.Namespace, failed: int) -> int:
    if args.json:
        print_json(answer)
    if answer.get("success"):
        return failed
    _complain(_reason(answer))
    return 1


def _reason(item: dict[str, Any]) -> str:
    reason = str(item.get("error") or item.get("reason") or "refused")
    if item.get("limited_by"):
        reason += f" (the {item['limited_by']} limit"
        wait = item.get("retry_after")
        reason += f"; retry in {wait} s)" if wait else ")"
    return reason


def _complain(line: str) -> None:
    print(f"tracesink: {line}", file=sys.stderr)
