"""``tracesink serve`` runs the service; ``tracesink check`` validates settings, reaches the store;
``tracesink stats`` prints what a running instance has stored, refused and spent.

Every flag is generated from ``config.OPTIONS``, so each one also works as a ``TRACESINK_*``
environment variable (the flag wins). The HTTP layer is not imported here: ``serve`` has uvicorn
load it by import string (``app/main.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from tracesink import __version__
from tracesink.accounting.report import render
from tracesink.config import OPTIONS, Option, Settings, load_settings, mask_url
from tracesink.errors import ConfigurationError, TraceSinkError
from tracesink.pipeline import policy_from
from tracesink.server.run import serve
from tracesink.store.diagnose import probe

DEFAULT_URL = "http://127.0.0.1:8787"
DESCRIPTION = (
    "A log sink for developers: browsers, backends and edge workers send logs to one HTTP "
    "endpoint, each entry with a trace_id; one read returns a trace's whole story."
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tracesink", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"tracesink {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("serve", "run the HTTP service"),
        ("check", "validate the settings and reach the store, then exit"),
    ):
        command = commands.add_parser(name, help=help_text)
        for option in OPTIONS:
            option_help = f"{option.help} (default: {default_text(option)}; env {option.env})"
            if option.switch:
                command.add_argument(
                    option.flag,
                    dest=option.name,
                    action="store_const",
                    const="true",
                    help=option_help,
                )
            else:
                command.add_argument(
                    option.flag, dest=option.name, metavar=option.name.upper(), help=option_help
                )
    stats = commands.add_parser("stats", help="print a running instance's /stats")
    stats.add_argument(
        "--url",
        default=os.environ.get("TRACESINK_URL", DEFAULT_URL),
        help=f"where it runs (env TRACESINK_URL, default {DEFAULT_URL})",
    )
    return parser


def default_text(option: Option) -> str:
    """An option's default as a user would type it."""
    if option.name == "spool_dir":
        return "~/.local/state/tracesink/spool-PORT-STORE (a hash of the store URL)"
    value: Any = getattr(Settings(), option.name)
    if isinstance(value, Mapping):
        return ",".join(f"{k}={v}" for k, v in value.items()) or "none"
    if isinstance(value, tuple):
        return ",".join(value) or "none"
    if value is None or value is False:
        return "off" if option.switch else "none"
    if option.name == "max_commands_per_day" and value == 0:
        return "0 (no budget)"
    return str(value)


def fetch_stats(url: str, token: str | None, timeout_s: float = 5.0) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.get(f"{url.rstrip('/')}/stats", headers=headers, timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise TraceSinkError(f"cannot reach tracesink at {url}: {type(exc).__name__}") from None
    if response.status_code == 401:
        raise TraceSinkError(f"{url} wants a read token: set TRACESINK_READ_TOKEN")
    if response.status_code != 200:
        raise TraceSinkError(f"{url}/stats answered {response.status_code}")
    document: dict[str, Any] = response.json()
    return document


async def _check(settings: Settings) -> int:
    problem = await probe(settings.store, policy_from(settings))
    if problem is not None:
        print(
            f"tracesink: store {mask_url(settings.store)} is unreachable: {problem.cause}",
            file=sys.stderr,
        )
        return 1
    print(f"ok: store {mask_url(settings.store)} reachable; limits: {settings.describe_limits()}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "stats":
        try:
            print(render(fetch_stats(args.url, os.environ.get("TRACESINK_READ_TOKEN"))))
        except TraceSinkError as exc:
            print(f"tracesink: {exc}", file=sys.stderr)
            return 1
        return 0
    flags = {o.name: getattr(args, o.name) for o in OPTIONS if getattr(args, o.name) is not None}
    try:
        settings = load_settings(os.environ, flags)
        if args.command == "check":
            return asyncio.run(_check(settings))
        return serve(settings, flags)
    except ConfigurationError as exc:
        print(f"tracesink: configuration error: {exc}", file=sys.stderr)
        return 2
    except TraceSinkError as exc:
        print(f"tracesink: {exc}", file=sys.stderr)
        return 1
