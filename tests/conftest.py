"""Fixtures shared by every test: an injected clock, and the ASGI app with an HTTP client on it.

Also the rules that keep a skip honest: in CI (``CI=true``) a missing required tool stops the run
before any test, and any test that still skips fails instead, since a skipped test there would
hide exactly the failure it exists to catch; every run ends with a line counting the skips.
"""

from __future__ import annotations

import shutil
import signal
from collections import Counter
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from tests.support.ci import in_ci
from tests.support.redis_server import RedisServer, redis_server_binary, running_redis_server
from tracesink.app import TraceSinkApp, create_app
from tracesink.config import Settings

# Tools the Redis, fault, fuzz and multi-instance tests start; elsewhere they skip without them.
REQUIRED_TOOLS = {
    "redis-server": "apt-get install redis-server",
    "redis-cli": "apt-get install redis-tools",  # joins the cluster tests' three servers
}


def pytest_configure(config: pytest.Config) -> None:
    """In CI, stop at once, naming the tool, when a required tool is missing. And let Ctrl-C
    reach the processes the tests start."""
    # A run started in the background by a non-interactive shell (`scripts/test &`, nohup, some
    # CI runners) ignores SIGINT, and every process it starts inherits that: `tracesink tail`
    # would then never see the Ctrl-C its tests send. A handler (unlike SIG_IGN) is not inherited.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if in_ci() and missing:
        hints = "; ".join(f"{tool}: {REQUIRED_TOOLS[tool]}" for tool in missing)
        raise pytest.UsageError(
            f"CI=true and {', '.join(missing)} not on PATH: the tests that need it would be "
            f"skipped, and a skip in CI hides a failure ({hints})"
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """In CI a skip is a failure (an expected failure, xfail, is not a skip)."""
    report = yield
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where a skip is a failure: {skip_reason(report)}"
    return report


def skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # (path, line, "Skipped: reason")
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line, always: how many tests were skipped, and why."""
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if not hasattr(report, "wasxfail")
    ]
    reasons = Counter(skip_reason(report) for report in skipped)
    why = "; ".join(f"{count} x {reason}" for reason, count in reasons.most_common())
    terminalreporter.write_line(f"skipped: {len(skipped)} test(s){f' ({why})' if why else ''}")


# 2026-11-29T10:00:00Z: a window boundary for every window length that divides an hour.
START = 1_795_946_400.0


class FakeClock:
    """A clock the tests move by hand, so that windows and TTLs are tested without sleeping."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


AppFactory = Callable[..., "AppClient"]


class AppClient:
    """An app running in-process (lifespan started) and an httpx client talking ASGI to it."""

    def __init__(self, app: TraceSinkApp, client: httpx.AsyncClient) -> None:
        self.app = app
        self.http = client

    async def log(self, **entry: Any) -> httpx.Response:
        entry.setdefault("message", "hello")
        entry.setdefault("level", "info")
        return await self.http.post("/log", json=entry)


@pytest.fixture
async def make_app(clock: FakeClock) -> AsyncIterator[Callable[..., Any]]:
    """``await make_app(global_limit=10, ...)`` → an AppClient with those settings."""
    running: list[tuple[TraceSinkApp, httpx.AsyncClient]] = []

    async def factory(**overrides: Any) -> AppClient:
        app = create_app(replace(Settings(), **overrides), clock=clock)
        await app.startup()
        transport = httpx.ASGITransport(app=app)
        client = httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787")
        running.append((app, client))
        return AppClient(app, client)

    yield factory
    for app, client in running:
        await client.aclose()
        await app.shutdown()


@pytest.fixture
async def sink(make_app: Callable[..., Any]) -> AppClient:
    """The app with default settings."""
    result: AppClient = await make_app()
    return result


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    """A redis-server of the module's own on a free port (the contract suite shares one per
    session: tests/contract/conftest.py)."""
    if redis_server_binary() is None:
        pytest.skip("redis-server is not installed (e.g. apt install redis-server)")
    with running_redis_server() as server:
        yield server
