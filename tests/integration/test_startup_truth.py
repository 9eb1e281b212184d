"""Start-up tells the truth about the store: `check` names the cause of a failure, `serve` says
the store is unreachable instead of hiding it behind the normal banner, and stops when waiting
cannot help (a refused password)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from tests.support.redis_server import (
    RedisServer,
    free_port,
    redis_server_binary,
    running_redis_server,
)
from tests.support.service import end, serving, tracesink

pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    pytest.mark.skipif(redis_server_binary() is None, reason="redis-server is not installed"),
]
PASSWORD = "right-password-0123"  # noqa: S105  # set on the throwaway server below


@pytest.fixture(scope="module")
def guarded_redis() -> Iterator[RedisServer]:
    with running_redis_server() as server:
        redis.Redis(port=server.port).config_set("requirepass", PASSWORD)
        yield server


def test_check_names_a_refused_connection() -> None:
    """Nothing listens on the port: exit 1 and `connection refused`, not `StorageError`."""
    process = tracesink("check", "--store", f"redis://127.0.0.1:{free_port()}/0")
    _, err = process.communicate(timeout=30)
    assert process.returncode == 1
    assert "connection refused" in err


def test_check_names_a_refused_password(guarded_redis: RedisServer) -> None:
    """A wrong password: exit 1, `authentication failed`, and the password is not shown."""
    url = f"redis://:wrong-password-xyz@127.0.0.1:{guarded_redis.port}/0"
    process = tracesink("check", "--store", url)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 1
    assert "authentication failed" in err
    assert "wrong-password-xyz" not in err


def test_serve_stops_on_a_refused_password(guarded_redis: RedisServer) -> None:
    """Waiting cannot cure a wrong password: serve exits 1 naming it, before any banner."""
    url = f"redis://:wrong-password-xyz@127.0.0.1:{guarded_redis.port}/0"
    process = tracesink("serve", "--port", str(free_port()), "--store", url)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 1
    assert "authentication failed" in err
    assert "listening" not in out


def test_serve_says_the_store_is_unreachable_and_spools() -> None:
    """Nothing listens on the store's port: the banner says UNREACHABLE with the cause, a line
    on stderr says entries are spooled, and the service runs."""
    env = {"TRACESINK_STORE": f"redis://127.0.0.1:{free_port()}/0"}
    with serving(env) as service:
        end(service.process)
        out, err = service.process.communicate()
    assert "UNREACHABLE (connection refused" in out
    assert "entries are spooled to" in err
