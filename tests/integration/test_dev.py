"""``tracesink dev`` without the example: a private redis-server (or the embedded store without
one), tracesink on it, and everything gone after Ctrl-C or SIGTERM; a part that dies stops the
rest with a status that says so."""

from __future__ import annotations

import re
import shutil
import signal
import socket
from importlib import metadata
from pathlib import Path

import httpx
import pytest

import tracesink
from tests.support.dev_stack import READY_LINE, alive, descendants, dev_stack
from tests.support.redis_server import free_port
from tracesink.cli import main

pytestmark = pytest.mark.slow


@pytest.mark.redis
@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is missing")
def test_dev_runs_tracesink_on_a_private_redis_and_stops_it_all_on_sigterm() -> None:
    """The store is a redis-server of its own (not the machine's 6379): an entry sent is read
    back; SIGTERM exits 0 with redis-server and tracesink gone."""
    port = free_port()
    with dev_stack("--port", str(port)) as dev:
        dev.wait_for(READY_LINE)
        store = dev.wait_for(r"store:\s+redis://127\.0\.0\.1:(\d+)/0")
        assert int(store.group(1)) != 6379
        url = f"http://127.0.0.1:{port}"
        sent = httpx.post(f"{url}/log", json={"trace_id": "dev-1", "message": "hello"})
        assert sent.status_code == 200, sent.text
        read = httpx.get(f"{url}/logs/dev-1").json()
        assert [e["message"] for e in read["entries"]] == ["hello"]
        children = descendants(dev.process.pid)
        names = {Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0] for pid in children}
        assert any(b"redis-server" in name for name in names), names
        assert dev.stop(signal.SIGTERM) == 0, dev.read_rest()
        assert [pid for pid in children if alive(pid)] == []


def test_dev_without_redis_on_path_uses_the_embedded_store(tmp_path: Path) -> None:
    """With no redis-server on PATH it says so and serves on memory://; Ctrl-C exits 0."""
    port = free_port()
    with dev_stack("--port", str(port), env={"PATH": str(tmp_path)}) as dev:
        dev.wait_for(READY_LINE)
        dev.wait_for("no redis-server on PATH: using the embedded memory:// store")
        dev.wait_for(r"store:\s+memory://")
        assert httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200
        assert dev.stop(signal.SIGINT) == 0


def test_a_part_that_dies_stops_the_rest_and_is_named() -> None:
    """tracesink cannot bind a port that is taken: `tracesink dev` exits 1 naming it."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with dev_stack("--port", str(port), "--store", "memory://") as dev:
            assert dev.process.wait(60) == 1
            output = dev.read_rest()
    assert re.search(r"tracesink dev: tracesink exited with status \d+", output), output


def test_the_example_needs_node(tmp_path: Path) -> None:
    """--example without node on PATH stops before starting anything, exit 2, saying why."""
    with dev_stack("--example", "--store", "memory://", env={"PATH": str(tmp_path)}) as dev:
        assert dev.process.wait(30) == 2
        assert "--example needs node" in dev.read_rest()


def test_version_comes_from_the_package_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    """`tracesink --version` prints the one version, the one the installed metadata carries."""
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"tracesink {metadata.version('tracesink')}\n"
    assert metadata.version("tracesink") == tracesink.__version__
