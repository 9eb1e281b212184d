"""``tracesink import FILE``: restore an exported trace into a running tracesink.

Not ingest: the server's ``PUT /logs/{trace_id}`` takes it with the read token
(``TRACESINK_READ_TOKEN``), keeps the entries' ids, times and systems, and counts nothing
against the rate limits (docs/reading.md, "Export and import"). The trace id is the export's
unless ``--trace`` names another; a trace that exists there is refused unless ``--replace``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import msgspec

from tracesink.errors import TraceSinkError
from tracesink.terminal.arguments import add_url
from tracesink.terminal.client import ServerClient


def add(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "import", help="restore a trace written by `tracesink export` (NDJSON or JSON)"
    )
    parser.add_argument("file", metavar="FILE", help="the export; - reads stdin")
    parser.add_argument("--trace", metavar="TRACE_ID", help="import under this id instead")
    parser.add_argument(
        "--replace", action="store_true", help="replace the trace if it exists there"
    )
    add_url(parser)


def _read(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except OSError as exc:
        raise TraceSinkError(f"cannot read {name}: {exc.strerror}") from None


def trace_id_of(export: bytes) -> str | None:
    """The trace id an export names: the JSON answer's, else its first entry's."""
    stripped = export.strip()
    try:
        document = msgspec.json.decode(stripped)  # the JSON answer, or NDJSON of one line
    except msgspec.DecodeError:
        for line in stripped.splitlines():
            try:
                item = msgspec.json.decode(line)
            except msgspec.DecodeError:
                return None  # not an export: the server names what is wrong with it
            if isinstance(item, dict) and isinstance(item.get("trace_id"), str):
                return str(item["trace_id"])
        return None
    if isinstance(document, dict) and isinstance(document.get("trace_id"), str):
        return str(document["trace_id"])
    return None


def run(args: argparse.Namespace) -> int:
    export = _read(args.file)
    trace_id = args.trace or trace_id_of(export)
    if not trace_id:
        raise TraceSinkError(
            f"{'stdin' if args.file == '-' else args.file} names no trace id (no entry has "
            "one): give one with --trace"
        )
    params = {"replace": "true"} if args.replace else None
    client = ServerClient.from_environment(args.url)
    try:
        answer = client.request("PUT", f"/logs/{trace_id}", params, content=export).json()
    finally:
        client.close()
    skipped = answer.get("skipped_undecodable", 0)
    note = f"; {skipped} undecodable items skipped" if skipped else ""
    print(
        f"imported {answer['entries']} entries and {answer['markers']} markers into trace "
        f"{trace_id} at {client.url}{note}"
    )
    return 0
