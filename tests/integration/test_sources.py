"""Item 4 of issue 12: every source as it really sends, into ONE trace on a real tracesink.

A browser (the headers a browser sets) clicks pay; a Python backend (ASGI app behind the
tracesink middleware, logging through TraceSinkHandler) takes the trace from the request and
calls a Worker and a Convex action (real Node, the SDK) with httpx carrying the trace on; the
Convex deployment's log stream delivers a tagged console line. `GET /logs/{trace_id}` returns
the merged story with the right system, and the rule that found it, on every entry.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import shutil
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.service import Service, serving
from tracesink.client import TraceMiddleware, TraceSinkHandler, async_httpx_event_hooks

SDK = Path(__file__).parents[2] / "src" / "tracesink" / "static" / "sdk.mjs"
EDGE = Path(__file__).parent / "js" / "edge_and_convex.mjs"
SECRET = "convex-webhook-secret-0123456789"  # noqa: S105 - a test credential
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/156.0 Safari/537.36"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed"),
]
Message = MutableMapping[str, Any]


@pytest.fixture(scope="module")
def sink() -> Iterator[Service]:
    env = {
        "TRACESINK_CONVEX_WEBHOOK_SECRET": SECRET,
        "TRACESINK_SYSTEM_SHARES": "browser=30,worker=25,convex=25,python=20",
    }
    with serving(env) as running:
        yield running


@pytest.fixture
def edge(sink: Service) -> Iterator[str]:
    """The Worker and the Convex action, served by real Node."""
    process = subprocess.Popen(
        ["node", str(EDGE), SDK.as_uri(), sink.url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        port = process.stdout.readline().strip()
        assert port.isdigit(), "the Node stand-in did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()


def backend(edge_url: str, handler: logging.Handler) -> TraceMiddleware:
    """The Python service: logs through tracesink, calls the Worker and the Convex action."""
    log = logging.getLogger("tests.sources.backend")
    log.handlers = [handler]
    log.propagate = False
    log.setLevel(logging.INFO)

    async def app(
        scope: Message,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        log.info("backend: checkout started", extra={"cart": 3})
        async with httpx.AsyncClient(event_hooks=async_httpx_event_hooks()) as client:
            await client.post(f"{edge_url}/charge")
            await client.post(f"{edge_url}/save-order")
        log.info("backend: checkout done")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return TraceMiddleware(app)


async def test_one_trace_holds_every_source_with_the_right_system(sink: Service, edge: str) -> None:
    """Browser → Python backend → Worker + Convex action, then the Convex log stream: one
    trace, each entry labelled by the system that sent it and the rule that said so."""
    browser_headers = {
        "Origin": "http://localhost:3000",
        "Sec-Fetch-Mode": "cors",
        "Sec-Fetch-Site": "cross-site",
        "User-Agent": CHROME,
    }
    async with httpx.AsyncClient() as http:
        clicked = await http.post(
            f"{sink.url}/log",
            json={"trace_id": TRACE, "message": "browser: clicked pay", "level": "info"},
            headers=browser_headers,
        )
        assert clicked.status_code == 200

        handler = TraceSinkHandler(sink.url, system="python")
        transport = httpx.ASGITransport(app=backend(edge, handler))
        async with httpx.AsyncClient(transport=transport, base_url="http://shop") as shop:
            # the browser script adds the trace to the page's own calls
            answer = await shop.post("/checkout", headers={"X-Trace-Id": TRACE})
        assert answer.headers["x-trace-id"] == TRACE
        handler.close()

        line = {
            "topic": "console",
            "timestamp": int(time.time() * 1000),
            "function": {"path": "orders:save", "request_id": "a1b2c3d4", "type": "action"},
            "log_level": "INFO",
            "message": f"'[trace:{TRACE}] log stream: order row written'",
        }
        body = json.dumps([line]).encode()
        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        streamed = await http.post(
            f"{sink.url}/ingest/convex", content=body, headers={"x-webhook-signature": signature}
        )
        assert streamed.json()["accepted"] == 1

        trace = (await http.get(f"{sink.url}/logs/{TRACE}")).json()

    story = [(e["system"], e["detected_by"], e["message"]) for e in trace["entries"]]
    assert sorted(story) == sorted(
        [
            ("browser", "sec-fetch", "browser: clicked pay"),
            ("python", "x-log-system", "backend: checkout started"),
            ("worker", "cf-worker", "worker: charging card"),
            ("convex", "x-log-system", "convex: order saved"),
            ("python", "x-log-system", "backend: checkout done"),
            ("convex", "body", "'log stream: order row written'"),
        ]
    )
    assert story[0][2] == "browser: clicked pay"  # stored in the order it arrived
    timestamps = {e["message"]: e["timestamp"] for e in trace["entries"]}
    causal = [
        "browser: clicked pay",
        "backend: checkout started",
        "worker: charging card",
        "convex: order saved",
        "backend: checkout done",
    ]
    assert [timestamps[m] for m in causal] == sorted(timestamps[m] for m in causal)
    worker = next(e for e in trace["entries"] if e["system"] == "worker")
    assert worker["context"] == {"amount": 4200}
