"""A local HTTP server that answers every request with 429 and a given Retry-After: what the
clients make of the header's forms, without waiting for a real limit to produce each one."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextlib.contextmanager
def answering_429(retry_afters: list[str]) -> Iterator[str]:
    """The server's base URL; request N is answered with ``Retry-After: retry_afters[N]``."""
    answers = list(retry_afters)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def do_OPTIONS(self) -> None:  # a browser's preflight, should one be sent
            self.send_response(204)
            self.send_header("access-control-allow-origin", "*")
            self.send_header("access-control-allow-headers", "*")
            self.send_header("content-length", "0")
            self.end_headers()

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            body = b'{"success": false, "error": "limited"}'
            self.send_response(429)
            self.send_header("retry-after", answers.pop(0) if answers else "1")
            self.send_header("access-control-allow-origin", "*")
            self.send_header("access-control-expose-headers", "retry-after")
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with _serving(Handler) as url:
        yield url


@contextlib.contextmanager
def answering(statuses: list[int], clocks: list[int]) -> Iterator[str]:
    """The server's base URL; request N is answered ``statuses[N]`` (then 200) with an empty
    batch result, and the X-Client-Clock each request carried is appended to ``clocks``."""
    answers = list(statuses)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            clocks.append(int(self.headers.get("x-client-clock", "-1")))
            body = b'{"success": true, "accepted": 0, "ids": [], "rejected": []}'
            self.send_response(answers.pop(0) if answers else 200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with _serving(Handler) as url:
        yield url


@contextlib.contextmanager
def _serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` on a free loopback port, on a thread of its own; its base URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
