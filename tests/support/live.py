"""A server-sent-events reader over real HTTP, for the live-stream tests."""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from tracesink.terminal.sse import Event, events


class LiveReader:
    """Reads a stream on a thread; ``next`` waits for the next entry event, with a timeout."""

    def __init__(self) -> None:
        self.events: queue.Queue[Event | None] = queue.Queue()
        self.status = 0
        self.content_type = ""

    def next(self, timeout: float = 10.0) -> Event:
        event = self.events.get(timeout=timeout)
        if event is None:
            raise AssertionError("the stream ended")
        return event

    def next_entry(self, timeout: float = 10.0) -> dict[str, Any]:
        while True:
            event = self.next(timeout)
            if event.event == "message":
                entry: dict[str, Any] = json.loads(event.data)
                assert entry["id"] == event.id
                return entry

    def until_ready(self, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The replayed entries, up to the ``ready`` event."""
        replayed = []
        while (event := self.next(timeout)).event != "ready":
            replayed.append(json.loads(event.data))
        return replayed

    def nothing_more(self, within: float = 0.5) -> bool:
        try:
            event = self.events.get(timeout=within)
        except queue.Empty:
            return True
        return event is None


@contextmanager
def reading(url: str, headers: dict[str, str] | None = None) -> Iterator[LiveReader]:
    """A stream from ``url`` read on a thread; the connection is dropped on exit.

    A plain socket rather than an HTTP client: shutting it down ends a blocked read at once,
    which is also what a dropped connection looks like to the server."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=30)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    head = [f"GET {target} HTTP/1.1", f"Host: {parts.netloc}", "Accept: text/event-stream"]
    head += [f"{name}: {value}" for name, value in (headers or {}).items()]
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    stream = sock.makefile("rb")
    reader = LiveReader()
    reader.status = int(stream.readline().split()[1])
    response_headers = {}
    while (line := stream.readline().decode("latin-1").strip()) != "":
        name, _, value = line.partition(":")
        response_headers[name.lower()] = value.strip()
    reader.content_type = response_headers.get("content-type", "")

    def lines() -> Iterator[str]:
        if response_headers.get("transfer-encoding") != "chunked":
            yield from (raw.decode() for raw in stream)
            return
        pending = b""
        while size := int(stream.readline().strip() or b"0", 16):
            pending += stream.read(size)
            stream.readline()
            *complete, pending = pending.split(b"\n")
            yield from (f"{raw.decode()}\n" for raw in complete)

    def run() -> None:
        try:
            for event in events(lines()):
                reader.events.put(event)
        except (OSError, ValueError):
            pass  # the test dropped the connection
        finally:
            reader.events.put(None)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield reader
    finally:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
        thread.join(5)
