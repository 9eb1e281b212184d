"""Fixtures shared by every test: an injected clock, and the ASGI app with an HTTP client on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest

from tracesink.app import TraceSinkApp, create_app
from tracesink.config import Settings

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
