"""``/mcp`` without the ``mcp`` extra, and ``tracesink mcp`` without it: each says which command
installs it, rather than failing at import (the SDK is an extra: pyproject.toml)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest

from tracesink.app.mcp_mount import allowed_hosts
from tracesink.cli import main
from tracesink.config import Settings


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
