"""``tracesink doctor``: what stands between this machine and a working tracesink.

Checks, in order: the local configuration (the ``TRACESINK_*`` variables, a read token when
bound beyond loopback); the configured store, reached directly, with the cause when it is not;
on Redis, whether the write script is loaded (it loads itself on first use, so that is a note,
not a problem); then the server at ``--url``: reachable, its health and its store, its clock
against this one (entry ids and ``since`` cursors are times), and whether the read token is
needed and right. One line per problem on stderr and exit 1; one ok line otherwise.

``--url`` names a server elsewhere: this shell's ``TRACESINK_*`` settings are not that server's,
so the configuration and store checks are skipped, and the store reported is the one the server
names in its ``/health`` (masked there), with its state.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from tracesink.config import Settings, load_settings
from tracesink.errors import ConfigurationError, TraceSinkError
from tracesink.masking import mask_url
from tracesink.pipeline import policy_from, replica_wait_from
from tracesink.store import open_store
from tracesink.terminal.arguments import add_url
from tracesink.terminal.client import ServerClient
from tracesink.terminal.output import console, print_json

MAX_CLOCK_SKEW_S = 2.0


def add(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "doctor", help="check the configuration, the store and a running server"
    )
    add_url(parser)
    parser.add_argument("--json", action="store_true", help="every check as JSON")


class Report:
    def __init__(self) -> None:
        self.checks: list[dict[str, str]] = []

    def ok(self, check: str, detail: str) -> None:
        self.checks.append({"check": check, "status": "ok", "detail": detail})

    def note(self, check: str, detail: str) -> None:
        self.checks.append({"check": check, "status": "note", "detail": detail})

    def problem(self, check: str, detail: str) -> None:
        self.checks.append({"check": check, "status": "problem", "detail": detail})

    @property
    def problems(self) -> list[dict[str, str]]:
        return [c for c in self.checks if c["status"] == "problem"]


def run(args: argparse.Namespace) -> int:
    report = Report()
    remote = args.url is not None
    if not remote:
        settings = _configuration(report)
        if settings is not None:
            asyncio.run(_store(report, settings))
    _server(report, ServerClient.from_environment(args.url), remote)
    if args.json:
        print_json(report.checks)
    else:
        errors = console(stderr=True)
        for check in report.checks:
            if check["status"] != "ok":
                prefix = "problem" if check["status"] == "problem" else "note"
                errors.print(f"tracesink doctor: {prefix}: {check['check']}: {check['detail']}")
        if not report.problems:
            names = ", ".join(c["check"] for c in report.checks)
            console().print(f"ok: {names}")
    return 1 if report.problems else 0


def _configuration(report: Report) -> Settings | None:
    try:
        settings = load_settings(os.environ)
    except ConfigurationError as exc:
        report.problem("configuration", str(exc))
        return None
    report.ok("configuration", f"store {mask_url(settings.store)}")
    if settings.read_token is None and not settings.is_loopback:  # only with --insecure
        report.problem(
            "read token",
            f"serving on {settings.host} without TRACESINK_READ_TOKEN: anyone can read every log",
        )
    return settings


async def _store(report: Report, settings: Settings) -> None:
    policy, wait = policy_from(settings), replica_wait_from(settings)
    store = open_store(settings.store, policy, settings.name_of("store"), wait)
    try:
        await store.ping()
        report.ok("store", f"{mask_url(settings.store)} answers")
        if settings.store.split(":", 1)[0] in {"redis", "rediss", "redis+unix"}:
            await _script(report, settings.store)
    except Exception as exc:  # any failure to reach the store is this check's finding
        report.problem("store", f"{mask_url(settings.store)} is unreachable: {_cause(exc)}")
    finally:
        await store.close()


async def _script(report: Report, url: str) -> None:
    from redis import asyncio as aioredis

    from tracesink.store.scripts import WRITE_BATCH

    client = aioredis.Redis.from_url(url.replace("redis+unix://", "unix://"))
    try:
        loaded = (await client.script_exists(WRITE_BATCH.sha))[0]
    finally:
        await client.aclose()
    if loaded:
        report.ok("script", f"write_batch.lua loaded ({WRITE_BATCH.sha[:12]})")
    else:
        report.note("script", "write_batch.lua is not loaded yet; the first write loads it")


def _server(report: Report, client: ServerClient, remote: bool = False) -> None:
    try:
        try:
            before = time.time()
            health = client.probe("/health")
            after = time.time()
        except httpx.HTTPError as exc:
            report.problem("server", str(client.unreachable(exc)))
            return
        status = health.json().get("status", "?") if health.content else "?"
        if remote:
            _server_store(report, health)
        if status == "ok":
            report.ok("server", f"{client.url} is healthy")
        else:
            cause = health.json().get("error", "")
            report.problem(
                "server",
                f"{client.url} is {status}" + (f": its store fails with {cause}" if cause else ""),
            )
        _clock(report, health, (before + after) / 2)
        _token(report, client)
    finally:
        client.close()


def _server_store(report: Report, health: httpx.Response) -> None:
    """The store of the server at ``--url``, as its /health names it."""
    try:
        answer = health.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or "store" not in answer:
        report.problem("store", "the server's /health does not name its store")
        return
    store, error = answer["store"], answer.get("error")
    if error:
        report.problem("store", f"the server's store {store} fails: {error}")
    else:
        report.ok("store", f"the server's store {store} answers")


def _clock(report: Report, response: httpx.Response, local_s: float) -> None:
    date = response.headers.get("date")
    if date is None:
        return
    skew = parsedate_to_datetime(date).timestamp() - local_s
    if abs(skew) > MAX_CLOCK_SKEW_S + 1:  # the Date header has whole seconds
        report.problem(
            "clock",
            f"the server's clock is {skew:+.0f} s from this machine's; "
            "entry ids and since cursors are times: synchronise the clocks (NTP)",
        )
    else:
        report.ok("clock", "agrees with the server's")


def _token(report: Report, client: ServerClient) -> None:
    try:
        client.request("GET", "/traces", {"limit": "1"})
    except TraceSinkError as exc:
        report.problem("read token", str(exc))
        return
    report.ok("read token", "reads are allowed")


def _cause(exc: Exception) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
