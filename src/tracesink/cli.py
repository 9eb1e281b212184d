"""``tracesink serve`` runs the service; ``tracesink check`` validates settings, reaches the store;
``tracesink stats`` prints what a running instance has stored, refused and spent.

Every flag is generated from ``config.OPTIONS``, so each one also works as a ``TRACESINK_*``
environment variable (the flag wins).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import signal
import sys
from collections.abc import Sequence

from tracesink import __version__
from tracesink.app import create_app
from tracesink.app.cors import cors_policy
from tracesink.app.inflight import InFlightLimit
from tracesink.app.protocol import guarded_protocol
from tracesink.app.services import policy_from
from tracesink.config import OPTIONS, Settings, load_settings, mask_url
from tracesink.errors import ConfigurationError, TraceSinkError
from tracesink.stats_report import fetch_stats, render
from tracesink.store import open_store
from tracesink.store.diagnose import StoreProblem, probe

DEFAULT_URL = "http://127.0.0.1:8787"
KEEP_ALIVE_S = 5  # an idle keep-alive connection is closed after this (uvicorn's default, stated)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tracesink", description=__doc__)
    parser.add_argument("--version", action="version", version=f"tracesink {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("serve", "run the HTTP service"),
        ("check", "validate the settings and reach the store, then exit"),
    ):
        command = commands.add_parser(name, help=help_text)
        for option in OPTIONS:
            option_help = f"{option.help} (env {option.env})"
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


def banner(settings: Settings, problem: StoreProblem | None = None) -> str:
    return (
        f"tracesink {__version__} listening on http://{settings.host}:{settings.port}\n"
        f"  store:  {mask_url(settings.store)}"
        f"{f'  UNREACHABLE ({problem.cause})' if problem else ''}\n"
        f"  limits: {settings.describe_limits()}\n"
        f"  cors:   {cors_policy(settings).describe()}\n"
        f"  reads:  {_read_access(settings)}\n"
        f"  spool:  {settings.spool_path() or 'off'}"
    )


def _read_access(settings: Settings) -> str:
    if settings.read_token is not None:
        return "bearer token required"
    if settings.is_loopback:
        return "open to this machine only (not through a proxy or tunnel)"
    return (
        "OPEN TO ANYONE WHO CAN REACH THIS ADDRESS (--insecure): "
        "every log can be read without a token"
    )


def _serve(settings: Settings) -> int:
    import uvicorn

    store = open_store(settings.store, policy_from(settings))
    problem = None
    if not settings.store.startswith("memory:"):
        problem = asyncio.run(probe(settings.store, policy_from(settings)))
        if problem is not None and problem.fatal:
            print(
                f"tracesink: store {mask_url(settings.store)} refused this instance: "
                f"{problem.cause}",
                file=sys.stderr,
            )
            return 1
    app = create_app(settings, store=store)
    print(banner(settings, problem), flush=True)
    if problem is not None:
        spool = settings.spool_path()
        then = f"entries are spooled to {spool}" if spool else "ingest answers 503"
        print(
            f"tracesink: store {mask_url(settings.store)} is unreachable at start: "
            f"{problem.cause}; serving anyway, {then} until it answers",
            file=sys.stderr,
            flush=True,
        )
    # The long p99 tail under load is the garbage collector walking start-up objects (DESIGN.md,
    # "Measuring"): freeze them out of its view and collect the young generation less often.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    # uvicorn drains on SIGTERM/SIGINT and then re-raises the signal under the handler it found at
    # start; with this one in place, a drained shutdown exits 0 instead of dying by the signal.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    uvicorn.run(
        InFlightLimit(app, settings.max_concurrency),  # not limit_concurrency: see inflight.py
        host=settings.host,
        port=settings.port,
        http=guarded_protocol(settings.max_header_bytes, settings.header_timeout_s),
        ws="none",  # no WebSocket route: an upgrade request is answered as plain HTTP
        # uvicorn would rewrite the client address from X-Forwarded-For sent by 127.0.0.1 (or
        # by FORWARDED_ALLOW_IPS): forwarding headers are read in one place, app/locality.py.
        proxy_headers=False,
        timeout_keep_alive=KEEP_ALIVE_S,
        access_log=False,
        log_level="warning",
        server_header=False,
        timeout_graceful_shutdown=10,
    )
    return 0


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


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
    overrides = {option.name: getattr(args, option.name) for option in OPTIONS}
    try:
        settings = load_settings(os.environ, overrides)
        if args.command == "check":
            return asyncio.run(_check(settings))
        return _serve(settings)
    except ConfigurationError as exc:
        print(f"tracesink: configuration error: {exc}", file=sys.stderr)
        return 2
    except TraceSinkError as exc:
        print(f"tracesink: {exc}", file=sys.stderr)
        return 1
