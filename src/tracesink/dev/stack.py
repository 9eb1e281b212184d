"""What ``tracesink dev`` runs: a private redis-server, ``tracesink serve`` on it, and with
``--example`` the full-stack example's backend (Python) and worker (Node).

Pure descriptions (``Command``s) plus the probes that say when each one is ready; starting and
stopping them is processes.py's business.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from tracesink.dev.processes import Command

EXAMPLE_DIR = Path(__file__).parents[1] / "examples" / "fullstack"
# The example's Python backend logs as `python`, a system of its own: the default shares
# (browser 40, worker 30, convex 30) have no room for it, so the example makes some.
EXAMPLE_SHARES = "browser=30,worker=20,convex=20,python=30"


@dataclass(frozen=True)
class Ports:
    sink: int
    backend: int = 0
    worker: int = 0

    @property
    def sink_url(self) -> str:
        return f"http://127.0.0.1:{self.sink}"


def free_port() -> int:
    """A loopback TCP port nothing listens on right now (the OS's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def redis_command(binary: str, port: int, directory: Path) -> Command:
    """A redis-server that keeps nothing on disk and listens on loopback only."""
    argv = [
        binary,
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--save", "",
        "--appendonly", "no",
        "--dir", str(directory),
        "--loglevel", "warning",
    ]  # fmt: skip
    return Command("redis", argv)


def sink_command(
    port: int, store: str, scratch: Path, environ: Mapping[str, str], example: bool
) -> Command:
    """``tracesink serve`` as the user would run it; settings the user set in the environment
    still apply, and a spool of its own in ``scratch`` rather than in the home directory."""
    env = {"TRACESINK_SPOOL_DIR": environ.get("TRACESINK_SPOOL_DIR", str(scratch / "spool"))}
    if example and "TRACESINK_SYSTEM_SHARES" not in environ:
        env["TRACESINK_SYSTEM_SHARES"] = EXAMPLE_SHARES
    argv = [sys.executable, "-m", "tracesink", "serve", "--port", str(port), "--store", store]
    return Command("tracesink", argv, env)


def example_commands(ports: Ports, trace_id: str, node: str) -> list[tuple[Command, int]]:
    """The example's worker and backend, each with the port it is ready on, both pointed at the
    sink (and the backend at the worker); the page the backend serves logs into ``trace_id``."""
    worker_url = f"http://127.0.0.1:{ports.worker}"
    shared = {"FULLSTACK_SINK": ports.sink_url}
    worker = Command(
        "worker",
        [node, str(EXAMPLE_DIR / "worker.mjs")],
        {**shared, "FULLSTACK_WORKER_PORT": str(ports.worker)},
        EXAMPLE_DIR,
    )
    backend = Command(
        "backend",
        [sys.executable, str(EXAMPLE_DIR / "backend.py")],
        {
            **shared,
            "FULLSTACK_PORT": str(ports.backend),
            "FULLSTACK_WORKER": worker_url,
            "FULLSTACK_TRACE_ID": trace_id,
        },
        EXAMPLE_DIR,
    )
    return [(worker, ports.worker), (backend, ports.backend)]


def node_binary() -> str | None:
    return shutil.which("node")


def redis_binary() -> str | None:
    return shutil.which("redis-server")


async def port_open(port: int) -> bool:
    """Whether something accepts connections on the loopback port."""
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def sink_healthy(url: str) -> bool:
    """Whether tracesink answers /health with 200 (it then has reached its store)."""
    try:
        async with httpx.AsyncClient(timeout=1.0) as http:
            return (await http.get(f"{url}/health")).status_code == 200
    except httpx.TransportError:
        return False


def store_from(given: str | None, environ: Mapping[str, str] = os.environ) -> str | None:
    """The store the user asked for (``--store``, else ``TRACESINK_STORE``); None: pick one."""
    return given or environ.get("TRACESINK_STORE") or None
