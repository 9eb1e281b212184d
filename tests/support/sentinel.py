"""A replicated Redis for tests: a primary, its replicas and (optionally) three Sentinels.

Every process is real (``redis-server --replicaof``, ``redis-server --sentinel``), on free
ports, in its own temporary directory, never persisting (tests/support/redis_server.py). The
Sentinels watch the primary as ``SERVICE`` with quorum 2 and short timings (down after
``DOWN_AFTER_MS``), so a killed primary is replaced in about one to three seconds.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import redis

from tests.support.redis_server import (
    STOP_TIMEOUT_S,
    RedisServer,
    RedisServerError,
    free_port,
    redis_server_binary,
    start_redis_server,
)

SERVICE = "tracesink-primary"
# Every server may become a primary: none waits 5 s (the default) for more replicas before it
# streams a full sync to the first.
NODE_ARGS = ("--repl-diskless-sync-delay", "0")
QUORUM = 2
DOWN_AFTER_MS = 500
FAILOVER_TIMEOUT_MS = 3000
READY_TIMEOUT_S = 20.0  # Sentinels find each other by hello messages, every 2 s


@dataclass
class Sentinels:
    """Three Sentinels, each a process with its own config file (Sentinel rewrites it)."""

    processes: list[subprocess.Popen[bytes]]
    ports: list[int]
    directory: Path
    password: str | None = None  # the Sentinels' own (requirepass in sentinel.conf)

    def url(self, *, db: int = 0, userinfo: str = "") -> str:
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.ports)
        return f"redis+sentinel://{userinfo}{hosts}/{SERVICE}/{db}"

    def primary_port(self) -> int:
        """The port of the primary the Sentinels name now."""
        for port in self.ports:
            with contextlib.suppress(redis.RedisError):
                client = redis.Redis(port=port, socket_timeout=1, password=self.password)
                try:
                    address = cast(
                        "tuple[str, int] | None", client.sentinel_get_master_addr_by_name(SERVICE)
                    )
                finally:
                    client.close()
                if address:
                    return int(address[1])
        raise AssertionError("no Sentinel names a primary")

    def stop(self) -> None:
        for process in self.processes:
            _stop(process)
        shutil.rmtree(self.directory, ignore_errors=True)


@dataclass
class Replicated:
    """A primary and its replicas, and the Sentinels when started with them."""

    primary: RedisServer
    replicas: list[RedisServer]
    sentinels: Sentinels | None = None
    killed: list[RedisServer] = field(default_factory=list)
    password: str | None = None  # the data nodes' (requirepass, masterauth)

    @property
    def servers(self) -> list[RedisServer]:
        return [self.primary, *self.replicas]

    def current_primary(self) -> RedisServer:
        """The server the Sentinels name primary now (the first primary without them)."""
        if self.sentinels is None:
            return self.primary
        port = self.sentinels.primary_port()
        [server] = [s for s in self.servers if s.port == port]
        return server

    def wait_for_failover(self, timeout: float = 30.0) -> RedisServer:
        """Once the Sentinels name another primary than the killed one, and it answers as
        primary with at least one replica attached: that server."""
        assert self.sentinels is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(AssertionError, redis.RedisError):
                server = self.current_primary()
                role, replicas = _role(server.port, self.password)
                if server not in self.killed and role == "master" and replicas >= 1:
                    return server
            time.sleep(0.1)
        raise AssertionError(f"no failover within {timeout}s")

    def stop(self) -> None:
        if self.sentinels is not None:
            self.sentinels.stop()
        for server in self.servers:
            server.stop()


def start_replicated(
    replicas: int,
    *,
    sentinels: bool,
    password: str | None = None,
    sentinel_password: str | None = None,
) -> Replicated:
    """A primary with ``replicas`` replicas in sync, and three Sentinels watching it when
    ``sentinels``; returns once every link is up and (with Sentinels) every Sentinel knows
    the others and the replicas. ``password``: the data nodes'; ``sentinel_password``: the
    Sentinels' own."""
    auth = ("--requirepass", password, "--masterauth", password) if password else ()
    primary = start_redis_server(extra_args=(*NODE_ARGS, *auth))
    topology = Replicated(primary, [], password=password)
    try:
        for _ in range(replicas):
            topology.replicas.append(
                start_redis_server(
                    extra_args=(*NODE_ARGS, *auth, "--replicaof", "127.0.0.1", str(primary.port))
                )
            )
        _wait_until(lambda: _role(primary.port, password)[1] == replicas, "replicas attached")
        _wait_until(lambda: _confirming(primary.port, replicas, password), "replicas confirming")
        if sentinels:
            topology.sentinels = _start_sentinels(primary.port, password, sentinel_password)
            _wait_until(lambda: _sentinels_ready(topology.sentinels, replicas), "Sentinels ready")
    except BaseException:
        topology.stop()
        raise
    return topology


@contextlib.contextmanager
def running_replicated(
    replicas: int,
    *,
    sentinels: bool,
    password: str | None = None,
    sentinel_password: str | None = None,
) -> Iterator[Replicated]:
    topology = start_replicated(
        replicas, sentinels=sentinels, password=password, sentinel_password=sentinel_password
    )
    try:
        yield topology
    finally:
        topology.stop()


def _start_sentinels(
    primary_port: int, password: str | None, sentinel_password: str | None
) -> Sentinels:
    binary = redis_server_binary()
    if binary is None:
        raise RedisServerError("redis-server is not on PATH")
    directory = Path(tempfile.mkdtemp(prefix="tracesink-sentinel-"))
    running = Sentinels([], [], directory, sentinel_password)
    # The Sentinels log in to the data nodes with auth-pass, and to each other with their
    # own requirepass (the same on all three).
    auth = f"sentinel auth-pass {SERVICE} {password}\n" if password else ""
    auth += f"requirepass {sentinel_password}\n" if sentinel_password else ""
    for n in range(3):
        port = free_port()
        config = directory / f"sentinel-{n}.conf"
        config.write_text(
            f"port {port}\n"
            "bind 127.0.0.1\n"
            f"dir {directory}\n"
            f"logfile {directory / f'sentinel-{n}.log'}\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {primary_port} {QUORUM}\n"
            f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {SERVICE} {FAILOVER_TIMEOUT_MS}\n"
            f"sentinel parallel-syncs {SERVICE} 2\n" + auth
        )
        running.ports.append(port)
        running.processes.append(
            subprocess.Popen(
                # redis-server in Sentinel mode: what redis-sentinel is (Debian packages that
                # name separately; redis-server alone is enough).
                [binary, str(config), "--sentinel"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )
        )
    return running


def _sentinels_ready(sentinels: Sentinels | None, replicas: int) -> bool:
    assert sentinels is not None
    for port in sentinels.ports:
        client = redis.Redis(port=port, socket_timeout=1, password=sentinels.password)
        try:
            state = cast("dict[str, Any]", client.sentinel_master(SERVICE))
        except redis.RedisError:
            return False
        finally:
            client.close()
        if state["num-other-sentinels"] < 2 or state["num-slaves"] < replicas:
            return False
    return True


def _role(port: int, password: str | None = None) -> tuple[str, int]:
    """(``master`` or ``slave``, the replicas attached and online) of the server on ``port``."""
    client = redis.Redis(port=port, socket_timeout=1, password=password)
    try:
        info = client.info("replication")
    finally:
        client.close()
    online = sum(
        1
        for name, value in info.items()
        if name.startswith("slave") and isinstance(value, dict) and value["state"] == "online"
    )
    return str(info["role"]), online


def _confirming(port: int, replicas: int, password: str | None = None) -> bool:
    """Whether ``replicas`` replicas confirm, within 100 ms, a replicated no-op sent to the
    primary on ``port``. Redis 7.0 lists a replica ``online`` before its first acknowledgement
    reaches the primary: a ``WAIT`` in that half second counts it as 0 (a flaky CI run), so
    topologies are handed out only once their replicas confirm writes."""
    client = redis.Redis(
        port=port, socket_timeout=1, password=password, single_connection_client=True
    )
    try:
        client.publish("tracesink-test-ready", "")  # WAIT counts this connection's writes
        return int(client.wait(replicas, 100)) >= replicas
    finally:
        client.close()


def _wait_until(ready: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        with contextlib.suppress(redis.RedisError, OSError):
            if ready():
                return
        time.sleep(0.05)
    raise RedisServerError(f"{what}: not within {READY_TIMEOUT_S}s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
