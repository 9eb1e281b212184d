"""Run the edge Worker (edge/) in workerd, the way a user does: ``npm --prefix edge run serve``.

The Worker takes its store from ``UPSTASH_REDIS_REST_URL`` / ``UPSTASH_REDIS_REST_TOKEN`` (in the
tests: the project's REST emulator, ``tracesink.dev.rest_emulator``, over a real redis-server) and
its limits from TRACESINK_* variables, exactly the Python service's names. Needs ``node`` and
``npm --prefix edge ci`` (scripts/test runs it); without them the tests skip with the reason,
except in CI.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.redis_server import free_port

EDGE = Path(__file__).resolve().parents[2] / "edge"
SERVE = EDGE / "scripts" / "serve.mjs"
START_TIMEOUT_S = 30.0


def missing() -> str | None:
    """Why the Worker cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "node is not installed (apt-get install nodejs npm)"
    if not (EDGE / "node_modules" / "miniflare").is_dir():
        return "the edge Worker's npm packages are not installed (npm --prefix edge ci)"
    return None


@dataclass(frozen=True)
class EdgeWorker:
    process: subprocess.Popen[str]
    url: str


@contextlib.contextmanager
def running_worker(rest_url: str, rest_token: str, env: dict[str, str]) -> Iterator[EdgeWorker]:
    """The Worker on a free loopback port with exactly the given TRACESINK_* variables."""
    port = free_port()
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TRACESINK_", "UPSTASH_REDIS_REST_"))
    }
    process = subprocess.Popen(
        ["node", str(SERVE), "--port", str(port)],
        env={
            **clean,
            **env,
            "UPSTASH_REDIS_REST_URL": rest_url,
            "UPSTASH_REDIS_REST_TOKEN": rest_token,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    worker = EdgeWorker(process, f"http://127.0.0.1:{port}")
    try:
        _wait_until_serving(worker)
        yield worker
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        process.communicate()


def _wait_until_serving(worker: EdgeWorker) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            output, _ = worker.process.communicate()
            raise AssertionError(f"the edge Worker exited early: {output[-4000:]}")
        with contextlib.suppress(httpx.TransportError):
            # Any answer at all means workerd is serving (the route answers 405 to GET).
            httpx.get(f"{worker.url}/log", timeout=1)
            return
        time.sleep(0.1)
    raise AssertionError("the edge Worker did not start serving")
