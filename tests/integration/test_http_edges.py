"""CORS, oversized and abandoned bodies, overload and store failures, at the ASGI boundary."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import httpx
import pytest

from tests.conftest import AppClient
from tests.support.refusal import assert_refused
from tracesink.app import create_app
from tracesink.app.http import Message
from tracesink.config import Settings
from tracesink.errors import StorageError
from tracesink.limits import Decision
from tracesink.model import PreparedEntry
from tracesink.store.memory import MemoryStore

MakeApp = Callable[..., Any]
ENTRY = json.dumps({"trace_id": "t", "message": "m"}).encode()


async def test_preflight_from_an_allowed_origin(make_app: MakeApp) -> None:
    """OPTIONS from a listed origin gets 204 with the methods and headers a browser needs."""
    sink: AppClient = await make_app(cors_origins=("https://app.example",))
    response = await sink.http.options(
        "/log",
        headers={
            "origin": "https://app.example",
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "https://app.example"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "Content-Type" in response.headers["access-control-allow-headers"]


async def test_allowed_origin_gets_cors_headers_on_the_answer(make_app: MakeApp) -> None:
    """A listed origin can read the answer and its rate-limit headers."""
    sink: AppClient = await make_app(cors_origins=("https://app.example",))
    response = await sink.http.post(
        "/log", content=ENTRY, headers={"origin": "https://app.example"}
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://app.example"
    assert "RateLimit" in response.headers["access-control-expose-headers"]


@pytest.mark.parametrize("method", ["OPTIONS", "POST"])
async def test_unlisted_origin_is_refused_and_nothing_stored(
    make_app: MakeApp, method: str
) -> None:
    """An origin outside the allow-list gets 403 naming the setting, and its log is not stored."""
    sink: AppClient = await make_app(cors_origins=("https://app.example",))
    response = await sink.http.request(
        method, "/log", content=ENTRY, headers={"origin": "https://evil.example"}
    )
    assert response.status_code == 403
    assert "TRACESINK_CORS_ORIGINS" in response.json()["error"]
    assert (await sink.http.get("/logs/t")).status_code == 404


async def test_an_ingest_refusal_is_readable_by_the_refused_page_and_logged_once(
    make_app: MakeApp, caplog: pytest.LogCaptureFixture
) -> None:
    """The 403 of an ingest route carries CORS headers for the refused origin, so its browser
    client can read the refusal and stop (it grants that page the refusal's text only: a read
    route's 403 carries none). The server logs the refused origin once per interval, then with
    the count of refusals it held back."""
    sink: AppClient = await make_app(cors_origins=("https://app.example",))
    evil = {"origin": "https://evil.example"}
    with caplog.at_level("WARNING", logger="tracesink"):
        for _ in range(3):
            refused = await sink.http.post("/logs", content=ENTRY, headers=evil)
            assert refused.status_code == 403
            assert refused.headers["access-control-allow-origin"] == "https://evil.example"
        read = await sink.http.get("/traces", headers=evil)
    assert read.status_code == 403
    assert "access-control-allow-origin" not in read.headers
    lines = [r.getMessage() for r in caplog.records if "refused origin" in r.getMessage()]
    assert lines == [
        "refused origin https://evil.example: may not send logs; allow it with "
        "TRACESINK_CORS_ORIGINS or an ingest key's origins"
    ]


async def test_loopback_without_a_list_allows_any_origin(sink: AppClient) -> None:
    """On a laptop (loopback, no list) every dev-server origin works."""
    response = await sink.http.post(
        "/log", content=ENTRY, headers={"origin": "http://localhost:5173"}
    )
    assert response.headers["access-control-allow-origin"] == "http://localhost:5173"


async def test_public_address_without_a_list_allows_no_origin(make_app: MakeApp) -> None:
    """Serving beyond loopback with no list: browsers from any origin are refused."""
    sink: AppClient = await make_app(host="0.0.0.0")
    response = await sink.http.post(
        "/log", content=ENTRY, headers={"origin": "http://localhost:5173"}
    )
    assert_refused(response, 403, "Origin", "http://localhost:5173", "TRACESINK_CORS_ORIGINS")
    assert (await sink.http.post("/log", content=ENTRY)).status_code == 200


async def call_asgi(
    app: Any,
    method: str,
    path: str,
    chunks: Sequence[bytes | None],
    headers: Sequence[tuple[bytes, bytes]] = (),
    stall: bool = False,
) -> tuple[list[Message], int]:
    """Drive the app with a body in chunks (None: the client leaves; stall: then nothing more).

    Returns the messages sent and how many chunks the app read."""
    sent: list[Message] = []
    read = 0

    async def receive() -> Message:
        nonlocal read
        if read >= len(chunks):
            await asyncio.sleep(3600)
        chunk = chunks[read]
        read += 1
        if chunk is None:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunk, "more_body": stall or read < len(chunks)}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": list(headers),
        "query_string": b"",
    }
    await app(scope, receive, send)
    return sent, read


async def test_oversized_body_is_refused_while_streaming(sink: AppClient) -> None:
    """Without Content-Length, reading stops at the first chunk past the cap: 413, rest unread."""
    chunk = b"x" * 400_000
    sent, read = await call_asgi(sink.app, "POST", "/log", [chunk] * 10)
    assert sent[0]["status"] == 413
    assert read == 3


async def test_declared_oversized_body_is_refused_before_reading(sink: AppClient) -> None:
    """A Content-Length over the cap is refused without reading a byte."""
    sent, read = await call_asgi(
        sink.app, "POST", "/log", [b"x"], headers=[(b"content-length", b"2000000")]
    )
    assert sent[0]["status"] == 413
    assert read == 0


async def test_client_disconnect_mid_body_stores_nothing(sink: AppClient) -> None:
    """A client that leaves halfway gets no answer and leaves nothing half-stored."""
    sent, _ = await call_asgi(sink.app, "POST", "/log", [ENTRY[:10], None])
    assert sent == []
    assert (await sink.http.get("/logs/t")).status_code == 404


class BrokenStore(MemoryStore):
    """The memory store with its writes failing as an unreachable store's would."""

    async def write_batch(
        self, entries: Sequence[PreparedEntry], now_ms: int, batch_id: str | None = None
    ) -> list[Decision]:
        raise StorageError("connection refused")

    async def ping(self) -> None:
        raise StorageError("connection refused")


async def test_store_failure_is_503_and_health_says_unavailable() -> None:
    """When the store cannot be reached, ingest answers 503 with Retry-After and no 2xx."""
    from tracesink.pipeline import policy_from

    settings = Settings()
    app = create_app(settings, store=BrokenStore("memory://", policy_from(settings)))
    async with (
        app.running(),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        response = await http.post("/log", content=ENTRY)
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
        assert "connection refused" not in response.text
        health = await http.get("/health")
        assert (health.status_code, health.json()["status"]) == (503, "unavailable")


async def test_full_write_queue_is_503_with_retry_after(make_app: MakeApp) -> None:
    """Past max_queue the service answers 503 at once instead of queueing without end."""
    sink: AppClient = await make_app(max_queue=1)
    responses = await asyncio.gather(*(sink.log(trace_id=f"q{i}") for i in range(5)))
    statuses = sorted(r.status_code for r in responses)
    assert 503 in statuses
    assert 200 in statuses
    refused = next(r for r in responses if r.status_code == 503)
    assert refused.headers["retry-after"] == "1"
    assert "queue" in refused.json()["error"]


async def test_unexpected_errors_are_500_without_a_stack_trace(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug answers a plain 500; the traceback goes to the server log only."""
    sink: AppClient = await make_app()

    async def explode(trace_id: str, now_ms: int) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(sink.app.pipeline.store, "read_trace", explode)
    response = await sink.http.get("/logs/t")
    assert response.status_code == 500
    assert response.json() == {"success": False, "error": "internal error"}
    assert "secret internals" in caplog.text


async def test_requests_before_startup_are_503() -> None:
    """Until the lifespan has started the parts, requests get 503 rather than a crash."""
    app = create_app(replace(Settings()))
    sent, _ = await call_asgi(app, "POST", "/log", [ENTRY])
    assert sent[0]["status"] == 503


async def test_lifespan_starts_and_stops_the_parts() -> None:
    """The ASGI lifespan protocol builds the store and writer, and drains them on shutdown."""
    app = create_app(Settings())
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    outbox: list[Message] = []

    async def send(message: Message) -> None:
        outbox.append(message)

    await inbox.put({"type": "lifespan.startup"})
    await inbox.put({"type": "lifespan.shutdown"})
    await app({"type": "lifespan"}, inbox.get, send)
    assert [m["type"] for m in outbox] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
    assert app.state is None


async def test_lifespan_reports_a_bad_store_url() -> None:
    """An unknown store scheme fails start-up with a message naming the setting."""
    app = create_app(Settings(store="mongo://localhost"))
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    outbox: list[Message] = []

    async def send(message: Message) -> None:
        outbox.append(message)

    await inbox.put({"type": "lifespan.startup"})
    await app({"type": "lifespan"}, inbox.get, send)
    assert outbox[0]["type"] == "lifespan.startup.failed"
    assert "TRACESINK_STORE" in outbox[0]["message"]
