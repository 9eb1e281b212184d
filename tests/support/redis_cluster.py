"""A throwaway Redis Cluster: three primaries (``redis-server --cluster-enabled yes``) on free
ports, joined by ``redis-cli --cluster create``, for tests and benches.

Each node is a ``RedisServer`` of ``redis_server.py`` (its own directory, never 6379, no
persistence unless asked), so a node can be killed and restarted on its port and directory like
any test server: its nodes.conf brings it back into the cluster with the slots it had.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis

from tests.support.redis_server import (
    RedisServer,
    RedisServerError,
    free_port,
    kill_redis_server,
    restart_redis_server,
    start_redis_server,
)

PRIMARIES = 3
READY_TIMEOUT_S = 20.0
# How long a node may be silent before the others mark it failed: short, so that a test that
# kills one sees the cluster refuse writes (CLUSTERDOWN) within seconds, as it would in service.
NODE_TIMEOUT_MS = 1500
SLOTS = 16384


def command(client: redis.Redis, *args: object) -> Any:
    """One command on a node, its reply as redis-py gives it."""
    return client.execute_command(*args)  # type: ignore[no-untyped-call]


def cluster_args(extra_args: Sequence[str] = (), bus_port: int | None = None) -> list[str]:
    """A node's arguments; its cluster bus on a free port of its own (not the default port +
    10000, which may be taken, or past 65535 for a free port above 55535)."""
    return [
        "--cluster-enabled", "yes",
        "--cluster-port", str(bus_port or free_port()),
        "--cluster-config-file", "nodes.conf",
        "--cluster-node-timeout", str(NODE_TIMEOUT_MS),
        *extra_args,
    ]  # fmt: skip


@dataclass
class RedisCluster:
    nodes: list[RedisServer]
    bus_ports: list[int]
    extra_args: Sequence[str] = field(default_factory=tuple)

    @property
    def url(self) -> str:
        """The store URL: every node a startup node."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    def client(self, node: RedisServer) -> redis.Redis:
        return redis.Redis(port=node.port, socket_timeout=5)

    def node_of(self, key: str | bytes) -> RedisServer:
        """The node that serves ``key``'s slot now."""
        return self.node_of_slot(self.keyslot(key))

    def node_of_slot(self, slot: int) -> RedisServer:
        with contextlib.closing(self.client(self.nodes[0])) as client:
            for start, end, primary, *_ in command(client, "CLUSTER", "SLOTS"):
                if start <= slot <= end:
                    port = int(primary[1])
                    return next(n for n in self.nodes if n.port == port)
        raise RedisServerError(f"no node serves slot {slot}")

    def keyslot(self, key: str | bytes) -> int:
        with contextlib.closing(self.client(self.nodes[0])) as client:
            slot: int = command(client, "CLUSTER", "KEYSLOT", key)
            return slot

    def flush(self) -> None:
        """Empty every node: keys and scripts."""
        for node in self.nodes:
            with contextlib.closing(self.client(node)) as client:
                client.flushall()
                client.script_flush()

    def kill(self, node: RedisServer) -> None:
        kill_redis_server(node)

    def restart(self, node: RedisServer) -> RedisServer:
        """Start a killed node again on its port and directory; returns once the cluster is
        whole again."""
        index = self.nodes.index(node)
        args = cluster_args(self.extra_args, self.bus_ports[index])
        self.nodes[index] = restart_redis_server(node, args)
        wait_until_ok(self.nodes)
        return self.nodes[index]

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def start_redis_cluster(extra_args: Sequence[str] = ()) -> RedisCluster:
    """Three primaries covering every slot; returns once every node says cluster_state:ok."""
    redis_cli = shutil.which("redis-cli")
    if redis_cli is None:
        raise RedisServerError("redis-cli is not on PATH")
    nodes: list[RedisServer] = []
    bus_ports = [free_port() for _ in range(PRIMARIES)]
    try:
        for bus_port in bus_ports:
            nodes.append(start_redis_server(extra_args=cluster_args(extra_args, bus_port)))
        addresses = [f"127.0.0.1:{n.port}" for n in nodes]
        created = subprocess.run(
            [
                redis_cli,
                "--cluster",
                "create",
                *addresses,
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if created.returncode != 0:
            raise RedisServerError(f"redis-cli --cluster create failed:\n{created.stdout[-2000:]}")
        wait_until_ok(nodes)
    except BaseException:
        for node in nodes:
            node.stop()
        raise
    return RedisCluster(nodes, bus_ports, tuple(extra_args))


def wait_until_ok(nodes: Sequence[RedisServer]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if all(_state_ok(n) for n in nodes):
            return
        time.sleep(0.05)
    raise RedisServerError(f"the cluster did not reach cluster_state:ok in {READY_TIMEOUT_S:g} s")


def _state_ok(node: RedisServer) -> bool:
    try:
        with contextlib.closing(redis.Redis(port=node.port, socket_timeout=1)) as client:
            info = command(client, "CLUSTER", "INFO")
    except redis.RedisError:
        return False
    text = info.decode() if isinstance(info, bytes) else str(info)
    return "cluster_state:ok" in text and f"cluster_known_nodes:{PRIMARIES}" in text


def move_slot(cluster: RedisCluster, slot: int, target: RedisServer, *, batch: int = 10) -> int:
    """Move ``slot`` to ``target`` as ``redis-cli --cluster reshard`` does: IMPORTING on the
    target, MIGRATING on the source, MIGRATE its keys in batches (clients meanwhile get ASK for
    keys already moved), then SETSLOT NODE on every node. Returns the keys moved."""
    source = cluster.node_of_slot(slot)
    if source is target:
        return 0
    with (
        contextlib.closing(cluster.client(source)) as src,
        contextlib.closing(cluster.client(target)) as dst,
    ):
        source_id = command(src, "CLUSTER", "MYID").decode()
        target_id = command(dst, "CLUSTER", "MYID").decode()
        command(dst, "CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
        command(src, "CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
        moved = 0
        while keys := command(src, "CLUSTER", "GETKEYSINSLOT", slot, batch):
            command(src, "MIGRATE", "127.0.0.1", target.port, "", 0, 5000, "KEYS", *keys)
            moved += len(keys)
            time.sleep(0.01)  # writes go on meanwhile: some land on each side (ASK)
        for node in (target, source, *(n for n in cluster.nodes if n not in (source, target))):
            with contextlib.closing(cluster.client(node)) as client:
                command(client, "CLUSTER", "SETSLOT", slot, "NODE", target_id)
    return moved


@contextlib.contextmanager
def running_redis_cluster(extra_args: Sequence[str] = ()) -> Iterator[RedisCluster]:
    cluster = start_redis_cluster(extra_args)
    try:
        yield cluster
    finally:
        cluster.stop()
