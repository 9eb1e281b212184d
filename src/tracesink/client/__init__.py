"""tracesink's Python client: a logging handler, the current trace, and carrying it on.

    import logging, tracesink
    from tracesink.client import TraceSinkHandler
    logging.getLogger().addHandler(TraceSinkHandler("http://127.0.0.1:8787", system="python"))
    with tracesink.trace("checkout-42"):
        logging.getLogger(__name__).info("charged %s", order_id)

Standard library only, and light to import: nothing of the server (uvicorn, msgspec, redis).
"""

from __future__ import annotations

from tracesink.client.context import current_trace_id, new_trace_id, trace
from tracesink.client.handler import TraceSinkHandler
from tracesink.client.middleware import TraceMiddleware, WSGITraceMiddleware
from tracesink.client.propagate import (
    add_trace_headers,
    async_httpx_event_hooks,
    httpx_event_hooks,
    mount_requests,
    trace_headers,
    trace_id_from_headers,
)

__all__ = [
    "TraceMiddleware",
    "TraceSinkHandler",
    "WSGITraceMiddleware",
    "add_trace_headers",
    "async_httpx_event_hooks",
    "current_trace_id",
    "httpx_event_hooks",
    "mount_requests",
    "new_trace_id",
    "trace",
    "trace_headers",
    "trace_id_from_headers",
]
