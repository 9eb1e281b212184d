"""The HTTP side of the terminal commands: one client, and one precise message per failure.

Every failure becomes a ``TraceSinkError`` whose message says what happened and what to do
(start the server, set the token, check the URL), so each command prints one line and exits 1.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from tracesink.errors import TraceSinkError
from tracesink.masking import mask_url
from tracesink.terminal.sse import Event, events

DEFAULT_URL = "http://127.0.0.1:8787"
TIMEOUT_S = 10.0
RECONNECT_S = 1.0


class ServerClient:
    def __init__(self, url: str, token: str | None = None, ingest_key: str | None = None) -> None:
        base = url.rstrip("/")
        # The URL as every message shows it: a password or token in it (http://u:pass@…,
        # ?token=…) is masked; only the HTTP client holds it whole.
        self.url = mask_url(base)
        if urlsplit(base).query or urlsplit(base).fragment or base.endswith(("?", "#")):
            # Joined with a path, a base URL's query moves every request to the index page
            # (GET /?x=y), whose answer no command can read.
            raise TraceSinkError(
                f"--url / TRACESINK_URL {self.url} has a ?query or #fragment: give the server's "
                "base URL alone, like http://127.0.0.1:8787 (the read token goes in "
                "TRACESINK_READ_TOKEN)"
            )
        headers = {"user-agent": "tracesink-cli"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        if ingest_key:
            headers["x-tracesink-key"] = ingest_key
        self._has_token = bool(token)
        self._http = httpx.Client(base_url=base, headers=headers, timeout=TIMEOUT_S)

    @classmethod
    def from_environment(cls, url: str | None) -> ServerClient:
        return cls(
            url or os.environ.get("TRACESINK_URL") or DEFAULT_URL,
            os.environ.get("TRACESINK_READ_TOKEN") or None,
            os.environ.get("TRACESINK_INGEST_KEY") or None,
        )

    def close(self) -> None:
        self._http.close()

    def async_http(self) -> httpx.AsyncClient:
        """An asyncio client to the same server with the same headers (``tracesink mcp``)."""
        return httpx.AsyncClient(
            base_url=self._http.base_url, headers=self._http.headers, timeout=TIMEOUT_S
        )

    def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        try:
            response = self._http.request(method, path, params=params, **kwargs)
        except httpx.HTTPError as exc:
            raise self.unreachable(exc) from None
        self.check(response, path)
        return response

    def probe(self, path: str) -> httpx.Response:
        """A GET whose answer is the caller's to judge; raises ``httpx.HTTPError``."""
        return self._http.get(path)

    def get_json(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        document: dict[str, Any] = self.request("GET", path, params).json()
        return document

    def unreachable(self, exc: Exception) -> TraceSinkError:
        return TraceSinkError(
            f"cannot reach tracesink at {self.url} ({type(exc).__name__}): start it with "
            "`tracesink serve`, or point --url / TRACESINK_URL at a running one"
        )

    def check(self, response: httpx.Response, path: str) -> None:
        if response.status_code < 400 or response.status_code == 429:
            return
        if response.status_code == 401:
            if self._has_token:
                raise TraceSinkError(
                    f"{self.url} refused TRACESINK_READ_TOKEN: it is not its token"
                )
            raise TraceSinkError(f"{self.url} wants a read token: set TRACESINK_READ_TOKEN")
        try:
            detail = str(response.json().get("error"))
        except ValueError:
            detail = response.text[:200] or response.reason_phrase
        raise TraceSinkError(f"{self.url}{path} answered {response.status_code}: {detail}")

    def follow(
        self, path: str, params: Mapping[str, str], last_id: str | None = None
    ) -> Iterator[Event]:
        """Events of a live stream, forever: reconnects with ``Last-Event-ID`` when the
        connection drops, so nothing is missed or repeated. Ctrl-C ends it."""
        failures = 0
        connected = False
        while True:
            headers = {"accept": "text/event-stream"}
            if last_id:
                headers["last-event-id"] = last_id
            try:
                timeout = httpx.Timeout(TIMEOUT_S, read=None)
                with self._http.stream(
                    "GET", path, params=params, headers=headers, timeout=timeout
                ) as response:
                    if response.status_code >= 400:
                        response.read()
                        self.check(response, path)
                    failures, connected = 0, True
                    for event in events(response.iter_lines()):
                        if event.id:
                            last_id = event.id
                        yield event
            except httpx.HTTPError as exc:
                failures += 1
                if not connected or failures >= 3:  # down from the start, or stays down
                    raise self.unreachable(exc) from None
            time.sleep(RECONNECT_S)
