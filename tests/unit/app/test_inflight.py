"""The app's own bound on requests in flight: requests beyond it get 503, connections don't count
(there are none at this level), and the count comes back down when requests end."""

from __future__ import annotations

import asyncio

import httpx

from tracesink.app.http import Message, Receive, Scope, Send, json_response
from tracesink.app.inflight import InFlightLimit


async def test_requests_beyond_the_bound_get_503_and_the_bound_frees_up() -> None:
    """With a bound of 2, a third concurrent request is refused with 503 naming the setting and
    Retry-After; once the first two end, requests are served again."""
    release = asyncio.Event()
    both_started = asyncio.Event()
    started = 0

    async def slow(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal started
        started += 1
        if started == 2:
            both_started.set()
        await release.wait()
        await json_response(200, {"ok": True}).send(send)

    limited = InFlightLimit(slow, 2)
    transport = httpx.ASGITransport(app=limited)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        first = asyncio.create_task(client.get("/"))
        second = asyncio.create_task(client.get("/"))
        await both_started.wait()
        refused = await client.get("/")
        assert refused.status_code == 503
        assert "TRACESINK_MAX_CONCURRENCY" in refused.json()["error"]
        assert refused.headers["retry-after"] == "1"
        release.set()
        assert [r.status_code for r in await asyncio.gather(first, second)] == [200, 200]
        assert limited.in_flight == 0
        assert (await client.get("/")).status_code == 200


async def test_lifespan_passes_through() -> None:
    """Only HTTP requests are counted; other scopes go straight to the app."""
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def receive() -> Message:
        return {}

    async def send(message: Message) -> None:
        return None

    await InFlightLimit(app, 1)({"type": "lifespan"}, receive, send)
    assert seen == ["lifespan"]
