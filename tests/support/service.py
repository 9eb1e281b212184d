"""Run ``tracesink`` as a real process, the way a user does, for tests that need real HTTP."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from tests.support.redis_server import free_port

START_TIMEOUT_S = 20.0


def tracesink(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``python -m tracesink ARGS`` with only the given TRACESINK_* variables set."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TRACESINK_")}
    return subprocess.Popen(
        [sys.executable, "-m", "tracesink", *args],
        env={**clean, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@dataclass(frozen=True)
class Service:
    process: subprocess.Popen[str]
    url: str


def wait_healthy(service: Service, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise AssertionError(f"tracesink exited early: {service.process.communicate()}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{service.url}/health", timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    raise AssertionError("tracesink did not become healthy")


@contextlib.contextmanager
def serving(env: dict[str, str] | None = None, *args: str) -> Iterator[Service]:
    """A healthy ``tracesink serve`` on a free port; killed on exit if still running.

    Unless ``env`` names one, the spool lives in a temporary directory of its own, never in
    the user's home."""
    with tempfile.TemporaryDirectory(prefix="tracesink-spool-") as spool:
        port = free_port()
        env = {"TRACESINK_SPOOL_DIR": spool, **(env or {})}
        service = Service(
            tracesink("serve", "--port", str(port), *args, env=env), f"http://127.0.0.1:{port}"
        )
        try:
            wait_healthy(service)
            yield service
        finally:
            if service.process.poll() is None:
                service.process.kill()
            service.process.communicate()
