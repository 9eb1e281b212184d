"""The example's Python backend: a plain ASGI app (no framework needed for two routes) served by
uvicorn, logging with tracesink's ``logging`` handler.

``TraceMiddleware`` makes the incoming request's trace id (the page's ``X-Trace-Id``) the current
one, so every log record joins the page's trace; ``async_httpx_event_hooks()`` carries it on to
the worker (``X-Trace-Id`` and ``traceparent``). ``tracesink dev --example`` runs it with:

    FULLSTACK_SINK      tracesink's URL                    (default http://127.0.0.1:8787)
    FULLSTACK_PORT      the port of this backend and page  (default 8788)
    FULLSTACK_WORKER    the worker's URL                   (default http://127.0.0.1:8789)
    FULLSTACK_TRACE_ID  the trace the page logs into       (default: a new one)
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from tracesink.client import (
    TraceMiddleware,
    TraceSinkHandler,
    async_httpx_event_hooks,
    current_trace_id,
    new_trace_id,
)

SINK = os.environ.get("FULLSTACK_SINK", "http://127.0.0.1:8787")
PORT = int(os.environ.get("FULLSTACK_PORT", "8788"))
WORKER = os.environ.get("FULLSTACK_WORKER", "http://127.0.0.1:8789")
TRACE_ID = os.environ.get("FULLSTACK_TRACE_ID") or new_trace_id()
PAGE = Path(__file__).with_name("index.html").read_text()

log = logging.getLogger("fullstack.backend")
log.setLevel(logging.INFO)
log.addHandler(TraceSinkHandler(SINK, system="python"))

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


async def checkout() -> dict[str, Any]:
    """The page's one API call: log, ask the worker to charge, log its answer."""
    log.info("backend: checkout started")
    async with httpx.AsyncClient(event_hooks=async_httpx_event_hooks(), timeout=10) as http:
        charged = (await http.post(f"{WORKER}/charge", json={"amount": 4200})).json()
    log.info("backend: the worker charged the card", extra={"receipt": charged["receipt"]})
    return {"trace_id": current_trace_id(), "receipt": charged["receipt"]}


async def answer(send: Send, status: int, body: bytes, content_type: str) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return  # lifespan: nothing to set up
    route = (scope["method"], scope["path"])
    if route == ("GET", "/"):
        page = PAGE.replace("{{SINK}}", SINK).replace("{{TRACE_ID}}", TRACE_ID)
        await answer(send, 200, page.encode(), "text/html; charset=utf-8")
    elif route == ("POST", "/api/checkout"):
        result = await checkout()
        await answer(send, 200, json.dumps(result).encode(), "application/json")
    else:
        await answer(send, 404, b"not found", "text/plain")


if __name__ == "__main__":
    print(f"backend: the example page is http://127.0.0.1:{PORT}/")
    # log_config=None: uvicorn's own logging set-up (dictConfig) would close the handler above.
    uvicorn.run(TraceMiddleware(app), host="127.0.0.1", port=PORT, log_config=None, lifespan="off")
