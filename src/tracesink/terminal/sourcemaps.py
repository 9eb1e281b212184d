"""``tracesink sourcemaps upload DIR --release R``: a build's maps to the service, in chunks.

Each ``*.map`` under DIR maps the bundle beside it (``assets/app.js.map`` -> ``assets/app.js``),
uploaded as ``<url-prefix><path>`` (``~/assets/app.js`` by default: that path on any host).
Chunks of at most ``CHUNK_BYTES`` go first (``PUT``), cut between UTF-8 characters; the map is
indexed once all are stored (``POST``). The bundle's ``//# debugId=`` and hash are recorded.
Authenticated by the read token (TRACESINK_READ_TOKEN), never by an ingest key.
"""

from __future__ import annotations

import argparse
import hashlib
import re
from pathlib import Path
from typing import Any

import msgspec

from tracesink.errors import TraceSinkError
from tracesink.sourcemaps.record import CHUNK_BYTES
from tracesink.terminal.arguments import add_url
from tracesink.terminal.client import ServerClient

DEBUG_ID = re.compile(rb"//# debugId=([0-9a-fA-F-]{16,64})\s*$", re.MULTILINE)


def add(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "sourcemaps", help="upload a build's source maps for a release"
    )
    actions = parser.add_subparsers(dest="action", required=True)
    upload = actions.add_parser("upload", help="upload every *.map under DIR")
    upload.add_argument("dir", metavar="DIR", help="the build's output folder (e.g. dist)")
    upload.add_argument("--release", required=True, help="the release the build was sent with")
    upload.add_argument(
        "--url-prefix",
        default="~/",
        help="what the bundles' URLs begin with, DIR's place on the site: ~/ (default) is the "
        "site root on any host; ~/static/ or https://cdn.example.com/app/ for others",
    )
    upload.add_argument(
        "--replace",
        action="store_true",
        help="replace a map the release already has for a file (its old stacks read wrong)",
    )
    add_url(upload)


def chunks_of(data: bytes) -> list[bytes]:
    """``data`` in pieces of at most CHUNK_BYTES, each cut between UTF-8 characters."""
    pieces: list[bytes] = []
    start = 0
    while start < len(data):
        end = min(start + CHUNK_BYTES, len(data))
        while end < len(data) and end > start and (data[end] & 0xC0) == 0x80:
            end -= 1  # a continuation byte: back to the character's start
        pieces.append(data[start:end])
        start = end
    return pieces


def debug_id_of(path: Path, map_bytes: bytes, bundle: bytes | None) -> str | None:
    """The build's debug ID, from the map (``debugId``) or the bundle's ``//# debugId=``
    comment; a map and a bundle that both carry one must agree, or the map is from another
    build (a stale file left in DIR) and is not uploaded."""
    try:
        document = msgspec.json.decode(map_bytes)
    except msgspec.DecodeError:
        document = None
    in_map = None
    if isinstance(document, dict):
        in_map = next(
            (str(document[n]) for n in ("debugId", "debug_id") if isinstance(document.get(n), str)),
            None,
        )
    found = DEBUG_ID.search(bundle) if bundle is not None else None
    in_bundle = found.group(1).decode() if found else None
    if in_map and in_bundle and in_map.lower() != in_bundle.lower():
        raise TraceSinkError(
            f"{path}: its debugId {in_map} is not its bundle's ({in_bundle}): the map is from "
            "another build; rebuild, or remove the stale map"
        )
    return in_map or in_bundle


def upload_map(
    client: ServerClient, release: str, name: str, path: Path, *, replace: bool
) -> dict[str, Any]:
    data = path.read_bytes()
    bundle_path = path.with_suffix("")
    bundle = bundle_path.read_bytes() if bundle_path.is_file() else None
    map_id = hashlib.sha256(data).hexdigest()[:32]
    pieces = chunks_of(data)
    for n, piece in enumerate(pieces):
        client.request("PUT", f"/sourcemaps/{release}/{map_id}/{n}", content=piece)
    record: dict[str, Any] = {"file": name, "map": map_id, "chunks": len(pieces), "size": len(data)}
    debug_id = debug_id_of(path, data, bundle)
    if debug_id:
        record["debug_id"] = debug_id
    if bundle is not None:
        record["bundle_sha256"] = hashlib.sha256(bundle).hexdigest()
    if replace:
        record["replace"] = True
    answer: dict[str, Any] = client.request("POST", f"/sourcemaps/{release}", json=record).json()
    return answer


def run(args: argparse.Namespace) -> int:
    root = Path(args.dir)
    if not root.is_dir():
        raise TraceSinkError(f"{args.dir} is not a folder")
    maps = sorted(root.rglob("*.map"))
    if not maps:
        raise TraceSinkError(f"no *.map file under {args.dir}: build with source maps on")
    prefix = args.url_prefix if args.url_prefix.endswith("/") else args.url_prefix + "/"
    client = ServerClient.from_environment(args.url)
    deleted: list[str] = []
    try:
        for path in maps:
            name = prefix + path.relative_to(root).as_posix().removesuffix(".map")
            answer = upload_map(client, args.release, name, path, replace=args.replace)
            deleted += answer.get("deleted", [])
    finally:
        client.close()
    print(f"uploaded {len(maps)} source map(s) for release {args.release}")
    if deleted:
        print(f"older releases deleted (TRACESINK_SOURCEMAPS_RELEASES): {', '.join(deleted)}")
    return 0
