"""``tracesink serve`` runs the service; ``tracesink check`` validates settings, reaches the store;
``tracesink stats`` prints what a running instance has stored, refused and spent.

Every flag is generated from ``config.OPTIONS``, so each one also works as a ``TRACESINK_*``
environment variable (the flag wins). The HTTP layer is not imported here: ``serve`` has uvicorn
load it by import string (``app/main.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import os
import signal
import socket
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from tracesink import __version__
from tracesink.accounting.report import render
from tracesink.config import OPTIONS, Option, Settings, load_settings, mask_url
from tracesink.errors import ConfigurationError, TraceSinkError
from tracesink.pipeline import policy_from
from tracesink.store import backend_of, open_store
from tracesink.store.diagnose import StoreProblem, probe

DEFAULT_URL = "http://127.0.0.1:8787"
APP = "tracesink.app.main:app_from_environment"
KEEP_ALIVE_S = 5  # an idle keep-alive connection is closed after this (uvicorn's default, stated)
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


def banner(settings: Settings, problem: StoreProblem | None = None) -> str:
    from tracesink.app.cors import cors_policy  # the words for CORS live with its rules

    unreachable = f"  UNREACHABLE ({problem.cause})" if problem else ""
    return (
        f"tracesink {__version__} listening on http://{settings.host}:{settings.port}\n"
        f"  store:  {mask_url(settings.store)}{unreachable}\n"
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


def _serve(settings: Settings, flags: Mapping[str, str]) -> int:
    import uvicorn

    from tracesink.app.protocol import guarded_protocol

    backend_of(settings.store, settings.name_of("store"))  # a bad URL stops start-up here
    problem = None
    if not settings.store.startswith("memory:"):
        problem = asyncio.run(probe(settings.store, policy_from(settings)))
        if problem is not None and problem.fatal:  # waiting cannot cure it: say so and stop
            print(
                f"tracesink: store {mask_url(settings.store)} refused this instance: "
                f"{problem.cause}",
                file=sys.stderr,
            )
            return 1
    listener = _listen(settings)  # before the banner: a taken port is the only thing said
    # The app reads its settings from the environment (app/main.py): hand it the flags there.
    os.environ.update(
        {option.env: flags[option.name] for option in OPTIONS if option.name in flags}
    )
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
    # uvicorn drains on SIGTERM/SIGINT and then re-raises the signal under the handler it found at
    # start; with this one in place, a drained shutdown exits 0 instead of dying by the signal.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    config = uvicorn.Config(
        APP,
        factory=True,
        # Not limit_concurrency, which counts idle connections too: the app bounds requests
        # in flight itself (app/inflight.py, wrapped round the app in app/main.py).
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
    uvicorn.Server(config).run(sockets=[listener])
    return 0


def _listen(settings: Settings) -> socket.socket:
    """The listening socket; TraceSinkError saying why when the address cannot be had."""
    where = f"{settings.host}:{settings.port}"
    try:
        family, _, _, _, address = socket.getaddrinfo(
            settings.host, settings.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        return socket.create_server(address, family=family)
    except socket.gaierror as exc:
        raise TraceSinkError(f"cannot listen on {where}: {exc.strerror}") from None
    except OSError as exc:
        reason = "the port is already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise TraceSinkError(
            f"cannot listen on {where}: {reason} (choose another with {settings.name_of('port')})"
        ) from None


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


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
    open_store(settings.store, policy_from(settings), settings.name_of("store"))  # a bad URL
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
        return _serve(settings, flags)
    except ConfigurationError as exc:
        print(f"tracesink: configuration error: {exc}", file=sys.stderr)
        return 2
    except TraceSinkError as exc:
        print(f"tracesink: {exc}", file=sys.stderr)
        return 1
