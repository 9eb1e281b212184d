"""Through the edge Worker (in workerd), what no reader could serve never reaches the store
(issue 21 item 2): a ``1e400`` in context is a 400 naming it, a lone surrogate is stored as
U+FFFD, and the Python service then answers every read route with 200, a live stream included.
"""

from __future__ import annotations

import httpx
import pytest

from tests.edge.conftest import fresh_prefix
from tests.support.edge_worker import running_worker
from tests.support.live import reading
from tests.support.redis_server import RedisServer
from tests.support.service import serving
from tracesink.dev.rest_emulator import UpstashRestServer

pytestmark = [pytest.mark.redis, pytest.mark.usefixtures("node_ready")]
JSON = {"content-type": "application/json"}


def test_what_the_worker_stores_every_python_reader_serves(
    redis_server: RedisServer, upstash_server: UpstashRestServer
) -> None:
    """Poison through the Worker: refused or normalised; GET /logs, /traces, /stats and the
    trace's live stream of the Python service on the same keys answer 200 and show the entries."""
    env = {"TRACESINK_KEY_PREFIX": fresh_prefix("servable")}
    with (
        running_worker(upstash_server.url, upstash_server.token, env) as worker,
        serving({**env, "TRACESINK_STORE": redis_server.url}) as python,
        httpx.Client(base_url=worker.url, timeout=10, headers=JSON) as edge,
        httpx.Client(base_url=python.url, timeout=10) as reader,
    ):
        infinite = edge.post(
            "/log", content=b'{"trace_id":"p","message":"m","context":{"a":1e400}}'
        )
        assert (infinite.status_code, infinite.json()["field"]) == (400, "context")
        lone = edge.post(
            "/log", content=rb'{"trace_id":"p","message":"x\ud800y","context":{"k":"\udc00"}}'
        )
        assert lone.status_code == 200, lone.text
        batch = (
            b'{"trace_id":"p","message":"\\ud83d"}\n'
            b'{"trace_id":"p","message":"m","timestamp":1e400}'
        )
        answer = edge.post("/logs", content=batch).json()
        assert (answer["accepted"], answer["rejected"][0]["field"]) == (1, "timestamp")

        trace = reader.get("/logs/p")
        assert trace.status_code == 200, trace.text
        entries = trace.json()["entries"]
        assert [e["message"] for e in entries] == ["x\ufffdy", "\ufffd"]
        assert entries[0]["context"] == {"k": "\ufffd"}
        for path in ("/traces", "/traces?level=log", "/logs/p?q=x", "/stats"):
            assert reader.get(path).status_code == 200, path
        with reading(f"{python.url}/logs/p/live") as live:
            assert [e["message"] for e in live.until_ready()] == ["x\ufffdy", "\ufffd"]
