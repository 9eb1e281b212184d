"""``/mcp`` in-process: without the ``mcp`` extra (and ``tracesink mcp`` without it) each says which
command installs it, rather than failing at import (the SDK is an extra: pyproject.toml); the
hosts the SDK lets in; and a wait in flight when the server stops."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any

import msgspec
import pytest

from tests.support.poll import until
from tracesink.app.mcp_mount import allowed_hosts
from tracesink.cli import main
from tracesink.config import Settings
from tracesink.scope_keys import STOP_ON_SHUTDOWN


async def test_mcp_without_the_extra_answers_501_naming_it(
    make_app: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the SDK missing, /mcp answers 501 naming `tracesink[mcp]`; the read guard still
    runs first (a refused request learns nothing about what is installed)."""
    monkeypatch.setitem(sys.modules, "mcp.server.transport_security", None)
    open_app = await make_app()
    response = await open_app.http.post("/mcp", json={})
    assert response.status_code == 501
    assert "tracesink[mcp]" in response.json()["error"]
    guarded = await make_app(read_token="a-read-token-for-this-test")  # noqa: S106  # a test token
    assert (await guarded.http.post("/mcp", json={})).status_code == 401


def test_tracesink_mcp_without_the_extra_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`tracesink mcp` with the SDK missing exits 1 with one line naming the install command."""
    monkeypatch.setitem(sys.modules, "tracesink.agents.server", None)
    assert main(["mcp"]) == 1
    assert "pip install 'tracesink[mcp]'" in capsys.readouterr().err


def test_allowed_hosts_are_loopback_and_the_listed() -> None:
    """The SDK's allowed Hosts: loopback with any port or none, then the deployment's; an
    Origin is allowed for each over http and https."""
    hosts, origins = allowed_hosts(Settings(mcp_allowed_hosts=("logs.example.com",)))
    assert hosts[:3] == ["127.0.0.1:*", "localhost:*", "[::1]:*"]
    assert hosts[-1] == "logs.example.com"
    assert "https://logs.example.com" in origins
    assert "http://localhost:*" in origins


async def test_a_wait_in_flight_answers_at_once_when_the_server_stops(
    make_app: Callable[..., Any],
) -> None:
    """/mcp leaves the server its STOP_ON_SHUTDOWN callback, as a live stream does: called (the
    server stopping), a wait_for_entries in flight answers at once, saying so, rather than
    holding the shutdown for its grace period and then failing with a 500."""
    running = await make_app()
    call = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "wait_for_entries", "arguments": {"timeout_s": 60}},
    }
    body = msgspec.json.encode(call)
    scope: dict[str, Any] = {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/mcp",
        "raw_path": b"/mcp",
        "root_path": "",
        "query_string": b"",
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8787),
        "headers": [
            (b"host", b"127.0.0.1:8787"),
            (b"content-type", b"application/json"),
            (b"accept", b"application/json, text/event-stream"),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    sent: list[dict[str, Any]] = []
    requested = False
    never = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": body, "more_body": False}
        await never.wait()  # the client stays connected
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    answering = asyncio.create_task(running.app(scope, receive, send))

    async def stop_callback() -> Any:
        return scope.get(STOP_ON_SHUTDOWN)

    stop = await until(stop_callback, "/mcp left its STOP_ON_SHUTDOWN callback")
    stop()
    await asyncio.wait_for(answering, 30)  # far under the 60 s the wait would take
    answer = msgspec.json.decode(b"".join(m.get("body", b"") for m in sent[1:]))
    assert sent[0]["status"] == 200
    assert answer["result"]["content"][0]["text"] == (
        "No new entries in any trace: the service is stopping."
    )
