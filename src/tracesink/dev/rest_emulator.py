"""An Upstash REST emulator: a local server speaking Upstash's Redis REST API over a redis-server.

It is not Upstash: it is this project's stand-in for it, so that the Upstash store, the edge
Worker and their tests and benchmarks run offline over any redis-server. As a command::

    python -m tracesink.dev.rest_emulator --redis redis://127.0.0.1:6379/0 [--port 8079]

prints the ``TRACESINK_STORE`` URL (``upstash+http://:TOKEN@127.0.0.1:PORT``) and the two
``UPSTASH_REDIS_REST_*`` variables, and serves on loopback until Ctrl-C or SIGTERM (``--help``).

The API it serves (what Upstash documents, and how each command reaches redis-server) is
``rest_api.py``'s. The server counts the commands it received (``commands_received``) and records
each request, and can be told to fail or stall (``fail_next``, ``stall_next``) or to refuse large
bodies (``max_body_bytes``), for tests of the client's error handling. In-process
(``start_upstash_rest_server``) it runs uvicorn in a background thread on a free loopback port.
"""

from __future__ import annotations

import argparse
import secrets
import signal
import socket
import sys
import threading
import time
from collections.abc import Sequence

import uvicorn

from tracesink.dev.rest_api import EmulatorState, Fault, Request, UpstashRestApp

__all__ = ["DEFAULT_TOKEN", "Request", "UpstashRestServer", "main", "start_upstash_rest_server"]

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
DEFAULT_TOKEN = "test-rest-token-Zm9vYmFy"  # noqa: S105  (the tests' token; the command draws one)


class UpstashRestServer:
    """The running server: where it listens, what it saw, and knobs to make it misbehave."""

    def __init__(
        self, state: EmulatorState, server: uvicorn.Server, thread: threading.Thread, port: int
    ):
        self._state = state
        self._server = server
        self._thread = thread
        self.port = port

    @property
    def token(self) -> str:
        return self._state.token

    @property
    def url(self) -> str:
        """The REST URL, as UPSTASH_REDIS_REST_URL would hold it."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def store_url(self) -> str:
        """A TRACESINK_STORE value for this server, the token in the password slot."""
        return f"upstash+http://:{self.token}@127.0.0.1:{self.port}"

    @property
    def commands_received(self) -> int:
        with self._state.lock:
            return self._state.commands_received

    @property
    def requests(self) -> list[Request]:
        with self._state.lock:
            return list(self._state.requests)

    @property
    def max_body_bytes(self) -> int | None:
        return self._state.max_body_bytes

    @max_body_bytes.setter
    def max_body_bytes(self, limit: int | None) -> None:
        """Refuse larger bodies with ``400 ERR max request size exceeded``, as Upstash does."""
        self._state.max_body_bytes = limit

    def fail_next(self, status: int, *, skip: int = 0, after_running: bool = False) -> None:
        """Answer the authenticated request after the next ``skip`` ones with ``status``, before
        running its commands (the default) or after."""
        with self._state.lock:
            self._state.faults += [Fault() for _ in range(skip)]
            self._state.faults.append(Fault(status=status, before=not after_running))

    def stall_next(self, seconds: float) -> None:
        """Run the next authenticated request's commands, then wait ``seconds`` to answer."""
        with self._state.lock:
            self._state.faults.append(Fault(stall_s=seconds, before=False))

    def reset(self) -> None:
        """Forget requests, counts, pending faults and the body limit."""
        with self._state.lock:
            self._state.requests.clear()
            self._state.commands_received = 0
            self._state.faults.clear()
            self._state.max_body_bytes = None

    @property
    def running(self) -> bool:
        """Whether its server thread still runs."""
        return self._thread.is_alive()

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(STOP_TIMEOUT_S)


def start_upstash_rest_server(
    redis_url: str, token: str = DEFAULT_TOKEN, port: int = 0
) -> UpstashRestServer:
    """Serve the REST API for ``redis_url`` on loopback, on ``port`` (0: a free one); returns once
    it listens."""
    state = EmulatorState(token=token)
    # Bound here, so no other process can take the port first. IPPROTO_TCP explicitly: asyncio
    # sets TCP_NODELAY only on sockets whose proto says TCP, and without it every answer (two
    # writes) waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        UpstashRestApp(redis_url, state),
        loop="asyncio",
        http="h11",
        ws="none",
        lifespan="on",
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="upstash-rest", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("the Upstash REST emulator did not start")
        time.sleep(0.01)
    return UpstashRestServer(state, server, thread, port)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tracesink.dev.rest_emulator",
        description=(
            "Serve Upstash's Redis REST API on loopback over a redis-server (an emulator for "
            "offline use and tests, not Upstash). Prints the TRACESINK_STORE URL on its first "
            "line, then the UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN to export, and "
            "serves until Ctrl-C or SIGTERM."
        ),
    )
    parser.add_argument(
        "--redis",
        default="redis://127.0.0.1:6379/0",
        metavar="URL",
        help="the redis-server the commands go to (default: %(default)s)",
    )
    parser.add_argument(
        "--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)"
    )
    parser.add_argument(
        "--token", help="the bearer token clients must send (default: a random one, printed)"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    token = args.token or secrets.token_urlsafe(18)
    server = start_upstash_rest_server(args.redis, token, args.port)
    print(server.store_url, flush=True)  # the first line: what a script reads (bench/run.py)
    print(f"UPSTASH_REDIS_REST_URL={server.url}", flush=True)
    print(f"UPSTASH_REDIS_REST_TOKEN={server.token}", flush=True)
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    while not stopped.wait(1.0):  # a timeout, so that the main thread gets to run the handlers
        if not server.running:
            print("the REST emulator stopped on its own", file=sys.stderr)
            return 1
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
