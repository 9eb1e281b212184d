"""The browser suite's parts: one headless Debian chromium for a test module, a page server on its
own loopback origin (with a small "backend" route that logs through the HTTP API), and a real
``tracesink serve`` per test with the settings the test needs.

Without /usr/bin/chromium the suite is skipped with the reason, except in CI (``CI`` set), where
a missing browser fails loudly: .ci/run installs it.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.support.redis_server import free_port

CHROMIUM = "/usr/bin/chromium"
# Keep the browser off a network it does not have, and able to run as root in a container.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]

if TYPE_CHECKING:  # playwright is imported lazily, so that its absence is a clear skip
    from playwright.sync_api import Browser, BrowserContext


def _browser_missing() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing (scripts/bootstrap dev)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless chromium for the module's tests; each test opens its own context.

    Not for the whole session: Playwright's sync API keeps an event loop running in this thread
    while it is open, and the asyncio tests that follow need the thread to themselves."""
    missing = _browser_missing()
    if missing is not None:
        pytest.skip(missing)  # in CI a skip fails the run (tests/conftest.py)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cache, no cookies) for one test."""
    ctx = browser.new_context()
    ctx.set_default_timeout(10_000)
    try:
        yield ctx
    finally:
        ctx.close()


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


@dataclass
class PageServer:
    """Serves ``pages`` (path → HTML) on its own loopback port: another origin than tracesink.

    ``POST /api/checkout`` is the page's backend: it takes the trace id from ``X-Trace-Id`` and
    logs through tracesink's HTTP API as a Python service would, under that trace id. Every
    request's headers are kept in ``seen``."""

    port: int
    sink_url: str = ""
    pages: dict[str, str] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def other_origin(self) -> str:
        """The same server under another origin (``localhost`` instead of ``127.0.0.1``)."""
        return f"http://localhost:{self.port}"


def _handler(server: PageServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet: pytest shows what matters

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(body)))
            origin = self.headers.get("origin")
            if origin:  # the page calls this backend from another origin too
                self.send_header("access-control-allow-origin", origin)
                self.send_header("access-control-allow-headers", "x-trace-id, traceparent")
            self.end_headers()
            self.wfile.write(body)

        def _record(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            server.seen.append(Seen(self.path, headers))

        def do_GET(self) -> None:
            self._record()
            page = server.pages.get(self.path.split("?")[0])
            if page is None:
                self._answer(404, b"no such page", "text/plain")
            else:
                self._answer(200, page.encode(), "text/html; charset=utf-8")

        def do_OPTIONS(self) -> None:
            self._answer(204, b"", "text/plain")

        def do_POST(self) -> None:
            self._record()
            length = int(self.headers.get("content-length") or 0)
            self.rfile.read(length)
            trace_id = self.headers.get("x-trace-id")
            if self.path != "/api/checkout" or trace_id is None:
                self._answer(204, b"", "text/plain")
                return
            logged = httpx.post(
                f"{server.sink_url}/log",
                json={"message": "charging the card", "level": "info"},
                headers={"X-Trace-Id": trace_id, "X-Log-System": "python"},
            )
            body = json.dumps({"trace_id": trace_id, "logged": logged.status_code})
            self._answer(200, body.encode(), "application/json")

    return Handler


@pytest.fixture
def pages() -> Iterator[PageServer]:
    server = PageServer(free_port())
    httpd = ThreadingHTTPServer(("127.0.0.1", server.port), _handler(server))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()


def read_trace(sink_url: str, trace_id: str) -> dict[str, Any] | None:
    response = httpx.get(f"{sink_url}/logs/{trace_id}")
    return response.json() if response.status_code == 200 else None


def wait_for_trace(
    sink_url: str,
    trace_id: str,
    done: Callable[[list[dict[str, Any]]], bool],
    timeout: float = 10.0,
) -> list[dict[str, Any]]:
    """The trace's entries once ``done(entries)`` holds; AssertionError if it never does."""
    deadline = time.monotonic() + timeout
    entries: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            trace = read_trace(sink_url, trace_id)
            entries = trace["entries"] if trace else []
            if done(entries):
                return entries
        time.sleep(0.05)
    raise AssertionError(f"trace {trace_id} never got there; it holds {entries}")


def logged(entries: list[dict[str, Any]]) -> list[str]:
    """The messages of real entries (drop markers left out), in stored order."""
    return [e["message"] for e in entries if "kind" not in e]


def page_html(sink_url: str, body: str, **data: str) -> str:
    """A page that loads client.js with ``data-*`` attributes, then runs ``body`` (a script)."""
    attrs = "".join(f' data-{k.replace("_", "-")}="{v}"' for k, v in data.items())
    return (
        "<!doctype html><html><head><title>test</title>"
        f'<script src="{sink_url}/client.js"{attrs}></script></head>'
        f"<body><script>{body}</script></body></html>"
    )
