"""The package as a user installs it: ``python -m build`` makes a wheel that carries the Lua
scripts, the browser client, the JS SDK, the viewer and the example; installed by pip into a
fresh virtual environment (away from this checkout), its ``tracesink serve`` works on Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

import tracesink
from tests.support.redis_server import free_port, redis_server_binary, running_redis_server
from tests.support.service import Service, end, wait_healthy

ROOT = Path(__file__).parents[2]
BUILD_TIMEOUT_S = 300
# Files that are not Python and that the service or its users need at run time.
DATA_FILES = [
    "tracesink/py.typed",
    "tracesink/rules.json",
    "tracesink/store/lua/write_batch.lua",
    "tracesink/store/lua/replay_batch.lua",
    "tracesink/store/lua/lib/counters.lua",
    "tracesink/static/client.js",
    "tracesink/static/client.mjs",
    "tracesink/static/client.d.mts",
    "tracesink/static/sdk.mjs",
    "tracesink/static/sdk.d.ts",
    "tracesink/static/viewer/index.html",
    "tracesink/static/viewer/viewer.js",
    "tracesink/static/viewer/trace-view.js",
    "tracesink/static/viewer/entry-details.js",
    "tracesink/static/viewer/timeline.js",
    "tracesink/static/viewer/live.js",
    "tracesink/static/viewer/format.js",
    "tracesink/static/viewer/dom.js",
    "tracesink/static/viewer/viewer.css",
    "tracesink/static/viewer/favicon.ico",
    "tracesink/examples/fullstack/index.html",
    "tracesink/examples/fullstack/backend.py",
    "tracesink/examples/fullstack/worker.mjs",
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    pytest.mark.skipif(redis_server_binary() is None, reason="redis-server is missing"),
]


@dataclass(frozen=True)
class Installed:
    wheel: Path
    bin: Path  # the fresh environment's bin/


def _run(argv: list[str], cwd: Path) -> str:
    done = subprocess.run(
        argv, cwd=cwd, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False
    )
    assert done.returncode == 0, f"{argv} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The wheel `python -m build` makes of this checkout, pip-installed into a new venv."""
    work = tmp_path_factory.mktemp("wheel")
    # The default build, as the README says: an sdist, then the wheel built from that sdist, so
    # that a file missing from the sdist is missing from the wheel too.
    _run([sys.executable, "-m", "build", "--outdir", str(work / "dist"), str(ROOT)], work)
    wheels = list((work / "dist").glob("tracesink-*.whl"))
    assert len(wheels) == 1, wheels
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], work)
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheels[0])], work)
    return Installed(wheels[0], venv / "bin")


def test_the_wheel_carries_every_file_the_service_serves(installed: Installed) -> None:
    """Lua, the browser client and its types, the SDK and its types, the viewer, the example."""
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
    assert [name for name in DATA_FILES if name not in names] == []
    assert installed.wheel.name == f"tracesink-{tracesink.__version__}-py3-none-any.whl"


def test_the_installed_command_has_the_one_version(installed: Installed, tmp_path: Path) -> None:
    """`tracesink --version` from the wheel is the version in src/tracesink/__init__.py, and it
    runs the installed copy, not this checkout's."""
    version = _run([str(installed.bin / "tracesink"), "--version"], tmp_path)
    assert version == f"tracesink {tracesink.__version__}\n"
    where = _run(
        [str(installed.bin / "python"), "-c", "import tracesink;print(tracesink.__file__)"],
        tmp_path,
    )
    assert Path(where.strip()).is_relative_to(installed.bin.parent)


@pytest.fixture
def served_from_wheel(installed: Installed, tmp_path: Path) -> Iterator[Service]:
    """`tracesink serve` from the fresh environment, on a Redis store (so its Lua runs)."""
    with running_redis_server() as redis:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRACESINK_")}
        env["TRACESINK_SPOOL_DIR"] = str(tmp_path / "spool")
        process = subprocess.Popen(
            [str(installed.bin / "tracesink"), "serve", "--port", str(port), "--store", redis.url],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        service = Service(process, f"http://127.0.0.1:{port}")
        try:
            wait_healthy(service)
            yield service
        finally:
            end(process)


def test_serve_from_the_wheel_stores_reads_and_serves_its_files(
    served_from_wheel: Service,
) -> None:
    """An entry goes in and reads back (through the Lua script); /client.js, /sdk.mjs and the
    viewer page with its script are served."""
    with httpx.Client(base_url=served_from_wheel.url, timeout=10) as http:
        sent = http.post("/log", json={"trace_id": "wheel-1", "message": "from the wheel"})
        assert sent.status_code == 200, sent.text
        read = http.get("/logs/wheel-1")
        assert [e["message"] for e in read.json()["entries"]] == ["from the wheel"]
        client = http.get("/client.js")
        assert client.status_code == 200
        assert "TraceSink" in client.text
        assert http.get("/sdk.mjs").text.count("export function createLogger") == 1
        viewer = http.get("/", headers={"Accept": "text/html"})
        assert viewer.status_code == 200
        assert viewer.headers["content-type"].startswith("text/html")
        assert "/viewer/viewer.js" in viewer.text
        assert http.get("/viewer/viewer.js").status_code == 200


def test_without_the_mcp_extra_both_transports_say_how_to_add_it(
    installed: Installed, served_from_wheel: Service, tmp_path: Path
) -> None:
    """The default install carries no MCP SDK (an extra: docs/agents.md): `tracesink mcp` exits
    1 naming the install command, and the service's /mcp answers 501 saying the same."""
    done = subprocess.run(
        [str(installed.bin / "tracesink"), "mcp"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "pip install 'tracesink[mcp]'" in done.stderr
    refused = httpx.post(f"{served_from_wheel.url}/mcp", json={}, timeout=10)
    assert refused.status_code == 501
    assert "tracesink[mcp]" in refused.json()["error"]
