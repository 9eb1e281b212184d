"""Run ``tracesink`` as a real process, the way a user does, for tests that need real HTTP.

A process a test is done with is ended by SIGTERM (``end``), SIGKILL only if it has not exited by
a deadline: a SIGKILLed process cannot save its coverage data, and the server code that runs only
in a real ``tracesink serve`` would go unmeasured (pyproject.toml: ``[tool.coverage.run]``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.redis_server import free_port

START_TIMEOUT_S = 20.0
# A drained shutdown of an idle service takes well under a second; this is for a loaded machine.
END_TIMEOUT_S = 30.0


def end(
    process: subprocess.Popen[Any], timeout: float = END_TIMEOUT_S, *, drain: bool = True
) -> int:
    """SIGTERM ``process`` (if it still runs), SIGKILL it if it has not exited ``timeout`` seconds
    later, and reap it; its exit status.

    With ``drain``, its pipes are read meanwhile (``communicate``), so that a full pipe cannot hold
    its exit; what it wrote stays available to a later ``communicate()``. Without, the caller
    reads them (a thread of its own, say)."""
    if process.poll() is None:
        process.terminate()
    try:
        if drain:
            process.communicate(timeout=timeout)
        else:
            process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
    return process.wait()


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
    """A healthy ``tracesink serve`` on a free port; ended (``end``) on exit if still running.

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
            end(service.process)
            service.process.communicate()


def start_service(
    port: int, env: dict[str, str], output: Path, timeout: float = START_TIMEOUT_S
) -> Service:
    """A healthy ``tracesink serve --port PORT`` with exactly the given TRACESINK_* variables.

    Not a context manager: the caller ends it with ``stop_service`` (SIGTERM), or SIGKILLs it
    and starts another on the same port and spool. Its stdout and stderr are appended to
    ``output``, a file rather than a pipe, so that a long run's log lines can never fill a pipe
    and block it."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TRACESINK_")}
    with output.open("a") as sink:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "tracesink", "serve", "--port", str(port)],
            env={**clean, **env},
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
    service = Service(process, f"http://127.0.0.1:{port}")
    try:
        wait_healthy(service, timeout)
    except AssertionError as exc:
        end(process)
        raise AssertionError(f"{exc}; its output:\n{output.read_text()[-4000:]}") from None
    return service


def stop_service(service: Service, signum: int = signal.SIGTERM, timeout: float = 15.0) -> int:
    """Send ``signum`` to the process (if it still runs) and reap it; its exit status.

    AssertionError if it has not exited ``timeout`` seconds later (it is then SIGKILLed): a test
    that stops a service expects it to stop. Cleanup that only wants it gone uses ``end``."""
    if service.process.poll() is None:
        service.process.send_signal(signum)
    try:
        return service.process.wait(timeout)
    except subprocess.TimeoutExpired:
        service.process.kill()
        service.process.wait()
        raise AssertionError(
            f"tracesink did not exit within {timeout}s of signal {signal.Signals(signum).name}"
        ) from None


def rss_bytes(pid: int) -> int:
    """The resident set size of a running process, from /proc/PID/status (Linux only)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024  # reported in kB
    raise RuntimeError(f"no VmRSS line in /proc/{pid}/status")


def stored(http: httpx.Client, trace_id: str) -> list[dict[str, Any]]:
    """The entries of a trace, read back over HTTP (a 200 asserted)."""
    response = http.get(f"/logs/{trace_id}")
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["entries"]
    return entries


def entries_if_any(service: Service, trace_id: str) -> list[dict[str, Any]]:
    """The entries of a trace over HTTP; [] when it was never written (404)."""
    response = httpx.get(f"{service.url}/logs/{trace_id}", timeout=10)
    if response.status_code == 404:
        return []
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["entries"]
    return entries
