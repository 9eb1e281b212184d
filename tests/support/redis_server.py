"""A throwaway ``redis-server`` on a free port (and a unix socket), for tests and benches.

It never persists (``--save ""``, ``--appendonly no``), lives in its own temporary directory and
never takes 6379, so a developer's own Redis is never touched.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PORT = 6379
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
START_ATTEMPTS = 3  # a free port can be taken by someone else before the server binds it


class RedisServerError(RuntimeError):
    """redis-server could not be started."""


@dataclass(frozen=True)
class RedisServer:
    process: subprocess.Popen[bytes]
    port: int
    directory: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def socket_path(self) -> Path:
        return self.directory / "redis.sock"

    @property
    def unix_url(self) -> str:
        return f"redis+unix://{self.socket_path}?db=0"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


def redis_server_binary() -> str | None:
    """Path of ``redis-server`` on PATH, or None when it is not installed."""
    return shutil.which("redis-server")


def free_port() -> int:
    """A TCP port nothing listens on right now (never 6379)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port != DEFAULT_PORT:
            return port


def start_redis_server(binary: str | None = None, extra_args: Sequence[str] = ()) -> RedisServer:
    """Start redis-server and return once it answers PING; RedisServerError if it does not."""
    binary = binary or redis_server_binary()
    if binary is None:
        raise RedisServerError("redis-server is not on PATH")
    failure = ""
    for _ in range(START_ATTEMPTS):
        directory = Path(tempfile.mkdtemp(prefix="tracesink-redis-"))
        server = _spawn(binary, free_port(), directory, extra_args)
        if _wait_until_ready(server):
            return server
        failure = (directory / "redis.log").read_text(errors="replace")[-2000:]
        server.stop()
    raise RedisServerError(f"redis-server did not start; its last log lines:\n{failure}")


@contextlib.contextmanager
def running_redis_server(extra_args: Sequence[str] = ()) -> Iterator[RedisServer]:
    server = start_redis_server(extra_args=extra_args)
    try:
        yield server
    finally:
        server.stop()


def _spawn(binary: str, port: int, directory: Path, extra_args: Sequence[str]) -> RedisServer:
    argv = [
        binary,
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--unixsocket", str(directory / "redis.sock"),
        "--unixsocketperm", "700",
        "--save", "",
        "--appendonly", "no",
        "--dir", str(directory),
        "--logfile", str(directory / "redis.log"),
        "--daemonize", "no",
        *extra_args,
    ]  # fmt: skip
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    return RedisServer(process, port, directory)


def _wait_until_ready(server: RedisServer) -> bool:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        if _answers_ping(server.port):
            return True
        time.sleep(0.02)
    return False


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            # A server with a password answers NOAUTH: it is up all the same.
            return sock.recv(16).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


def kill_redis_server(server: RedisServer) -> None:
    """SIGKILL the server, as a crash would (no shutdown, no final save), and reap it.

    Its directory stays, so that ``restart_redis_server`` can reload what it had persisted."""
    if server.process.poll() is None:
        server.process.kill()
    server.process.wait()


def restart_redis_server(server: RedisServer, extra_args: Sequence[str] = ()) -> RedisServer:
    """A new redis-server on a stopped (or killed) server's port and directory.

    Started with the same ``extra_args`` as the first one (``--appendonly yes``, say), it reloads
    the data that server had persisted; returns once it answers PING, that is once it has loaded
    them. RedisServerError if it does not start (say, someone else took the port meanwhile)."""
    binary = redis_server_binary()
    if binary is None:
        raise RedisServerError("redis-server is not on PATH")
    if server.process.poll() is None:
        raise RedisServerError(f"the redis-server on port {server.port} is still running")
    restarted = _spawn(binary, server.port, server.directory, extra_args)
    if _wait_until_ready(restarted):
        return restarted
    kill_redis_server(restarted)
    log = (server.directory / "redis.log").read_text(errors="replace")[-2000:]
    raise RedisServerError(
        f"redis-server did not restart on port {server.port}; its last log lines:\n{log}"
    )
