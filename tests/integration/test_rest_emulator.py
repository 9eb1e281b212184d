"""The Upstash REST emulator as a command (``python -m tracesink.dev.rest_emulator``), as
docs/edge.md tells a user without an Upstash account to run it: it prints where it serves, speaks
the REST API over the given redis-server, and stops cleanly on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.redis_server import RedisServer, free_port

pytestmark = [pytest.mark.redis, pytest.mark.slow]

EMULATOR = [sys.executable, "-m", "tracesink.dev.rest_emulator"]


def test_help_says_what_it_is_and_what_it_prints() -> None:
    """``--help`` exits 0 and says it is an emulator (not Upstash) and what it prints."""
    done = subprocess.run(
        [*EMULATOR, "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert "not Upstash" in text
    assert "TRACESINK_STORE URL" in text
    assert "UPSTASH_REDIS_REST_URL" in text
    assert "UPSTASH_REDIS_REST_TOKEN" in text


def test_the_command_serves_the_rest_api_and_stops_on_sigterm(redis_server: RedisServer) -> None:
    """It prints the store URL, then the two variables to export (the same URL and token); a
    command with the token reaches the redis-server, one without is refused 401; SIGTERM ends it
    with status 0."""
    port = free_port()
    process = subprocess.Popen(
        [*EMULATOR, "--redis", redis_server.url, "--port", str(port), "--token", "tok-123"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        printed = [process.stdout.readline().strip() for _ in range(3)]
        assert printed == [
            f"upstash+http://:tok-123@127.0.0.1:{port}",
            f"UPSTASH_REDIS_REST_URL=http://127.0.0.1:{port}",
            "UPSTASH_REDIS_REST_TOKEN=tok-123",
        ]
        rest = f"http://{urlsplit(printed[0]).hostname}:{port}"
        auth = {"Authorization": "Bearer tok-123"}
        set_ = httpx.post(rest, json=["SET", "emulated", "yes"], headers=auth, timeout=10)
        assert set_.json() == {"result": "OK"}
        got = httpx.post(rest, json=["GET", "emulated"], headers=auth, timeout=10)
        assert got.json() == {"result": "yes"}
        denied = httpx.post(rest, json=["GET", "emulated"], timeout=10)
        assert (denied.status_code, denied.json()) == (401, {"error": "Unauthorized"})
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


def test_a_random_token_is_drawn_when_none_is_given(redis_server: RedisServer) -> None:
    """Without ``--token`` it draws one (never the tests' fixed token) and prints it."""
    process = subprocess.Popen(
        [*EMULATOR, "--redis", redis_server.url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        store_url = process.stdout.readline().strip()
        token = urlsplit(store_url).password
        assert token is not None
        assert len(token) >= 20
        assert "test-rest-token" not in token
        ping = httpx.post(
            f"http://127.0.0.1:{urlsplit(store_url).port}",
            json=["PING"],
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert ping.json() == {"result": "PONG"}
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
