"""A lean HTTP/1.1 client for one REST endpoint: ``POST`` with keep-alive connections.

Why not httpx (which the REST client used before): profiled under single-entry load over the
Upstash REST store, ``httpx.AsyncClient.post`` took about a third of the server's CPU, more than
the whole ingest route (BENCHMARKS.md), for a request that is always the same shape: a ``POST``
of a JSON body with fixed headers to one host. This does only that: the headers are encoded
once, a request is one write, and a response is read with ``readuntil`` and ``readexactly``
(``Content-Length`` or chunked). TLS comes from ``ssl.create_default_context()`` (certificates
and host name checked).

Errors say whether the request may have reached the server: ``ConnectFailed`` (nothing was
sent; the caller may try once more) or ``RequestFailed`` with ``maybe_sent``; timeouts are
``TimedOut`` with the same flag. Idle connections found closed are dropped before use.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_IDLE = 16  # keep-alive connections kept for reuse
MAX_HEADER_BYTES = 64 * 1024


class HttpError(Exception):
    """A request failed; ``maybe_sent``: it may have reached the server (and run)."""

    def __init__(self, message: str, *, maybe_sent: bool) -> None:
        super().__init__(message)
        self.maybe_sent = maybe_sent


class ConnectFailed(HttpError):
    def __init__(self, message: str) -> None:
        super().__init__(message, maybe_sent=False)


class TimedOut(HttpError):
    pass


@dataclass(slots=True)
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def usable(self) -> bool:
        return not (self.reader.at_eof() or self.writer.is_closing())

    def close(self) -> None:
        self.writer.close()


class Http1Client:
    def __init__(
        self, base_url: str, headers: dict[str, str], *, timeout_s: float, connect_timeout_s: float
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {parts.scheme}://{parts.hostname}")
        self._host = parts.hostname
        self._tls = parts.scheme == "https"
        self._port = parts.port or (443 if self._tls else 80)
        self._path = parts.path.rstrip("/")
        default_port = self._port == (443 if self._tls else 80)
        host_header = self._host if default_port else f"{self._host}:{self._port}"
        lines = [f"Host: {host_header}", *(f"{k}: {v}" for k, v in headers.items())]
        self._headers = ("\r\n".join(lines) + "\r\n").encode("latin-1")
        self._timeout_s = timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._idle: list[_Connection] = []
        self._ssl: ssl.SSLContext | None = ssl.create_default_context() if self._tls else None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        """``POST`` ``body`` to ``path``; (status, response body)."""
        connection = await self._connection()
        head = b"POST %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n" % (
            (self._path + path).encode("latin-1"),
            self._headers,
            len(body),
        )
        try:
            connection.writer.write(head + body)
            async with asyncio.timeout(self._timeout_s):
                status, content, keep = await _read_response(connection.reader)
        except TimeoutError:
            connection.close()
            raise TimedOut("ReadTimeout", maybe_sent=True) from None
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            connection.close()
            raise HttpError(
                f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__,
                maybe_sent=True,
            ) from None
        except asyncio.CancelledError:  # a store closing mid-request: its answer is never read
            connection.close()
            raise
        if keep and len(self._idle) < MAX_IDLE:
            self._idle.append(connection)
        else:
            connection.close()
        return status, content

    async def _connection(self) -> _Connection:
        while self._idle:
            connection = self._idle.pop()
            if connection.usable():
                return connection
            connection.close()
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                reader, writer = await asyncio.open_connection(
                    self._host,
                    self._port,
                    ssl=self._ssl,
                    server_hostname=self._host if self._tls else None,
                    limit=MAX_HEADER_BYTES,
                )
        except TimeoutError:
            raise TimedOut("ConnectTimeout", maybe_sent=False) from None
        except (OSError, ssl.SSLError) as exc:
            raise ConnectFailed(f"{type(exc).__name__}: {exc}") from None
        return _Connection(reader, writer)

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, keep-alive) of one response; 1xx interim responses skipped."""
    while True:
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head[:-4].split(b"\r\n")
        version, _, rest = status_line.partition(b" ")
        if not version.startswith(b"HTTP/1."):
            raise ValueError("not an HTTP/1.x response")
        status = int(rest[:3])
        if status >= 200:
            break
    length, chunked, keep = -1, False, version == b"HTTP/1.1"
    for line in header_lines:
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value
        elif name == b"connection":
            keep = value != b"close" and (keep or value == b"keep-alive")
    if chunked:
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n"))[:-2].split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # no trailers are sent to a client like this
                break
            parts.append(await reader.readexactly(size + 2))
        return status, b"".join(p[:-2] for p in parts), keep
    if length >= 0:
        return status, await reader.readexactly(length), keep
    if status in (204, 304):
        return status, b"", keep
    return status, await reader.read(), False  # delimited by the connection's end
