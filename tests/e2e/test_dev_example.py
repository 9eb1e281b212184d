"""``tracesink dev --example`` as a user runs it: the page opened in headless chromium logs from
the browser, its Python backend and the Node worker into one trace; Ctrl-C leaves nothing
running."""

from __future__ import annotations

import shutil
import signal
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.conftest import logged, wait_for_trace
from tests.support.dev_stack import READY_LINE, alive, descendants, dev_stack
from tests.support.redis_server import free_port

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed"),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is missing"),
]


def test_the_example_page_backend_and_worker_log_into_one_trace(
    context: BrowserContext,
) -> None:
    """Opening the printed page fills the printed demo trace with entries from all three
    systems, in the order the request travelled; SIGINT then exits 0 and every process that
    `tracesink dev` started (redis-server, tracesink, backend, worker) is gone."""
    port = free_port()
    with dev_stack("--example", "--port", str(port)) as dev:
        dev.wait_for(READY_LINE)
        page_url = dev.wait_for(r"example page: (http://127\.0\.0\.1:\d+/)").group(1)
        sink, trace_id = dev.wait_for(
            r"demo trace: (http://127\.0\.0\.1:\d+)/#/trace/(\w+)"
        ).groups()
        assert sink == f"http://127.0.0.1:{port}"
        assert dev.wait_for(r"tracesink\s+│\s+store:\s+(\S+)").group(1).startswith("redis://")

        page = context.new_page()
        page.goto(page_url)
        page.wait_for_selector("#status:has-text('paid:')")

        def answered(entries: list[dict[str, Any]]) -> bool:
            return any(m.startswith("page: checkout answered") for m in logged(entries))

        entries = wait_for_trace(sink, trace_id, answered, timeout=20)
        # Stored in the order they arrived (the page sends its batch last), read in the order
        # things happened: GET /logs sorts by the clients' own timestamps.
        story = [e for e in entries if "kind" not in e]
        assert [(e["system"], e["message"].split(" {")[0]) for e in story] == [
            ("browser", "page: pay clicked"),
            ("python", "backend: checkout started"),
            ("worker", "worker: charging the card"),
            ("worker", "worker: card charged"),
            ("python", "backend: the worker charged the card"),
            ("browser", "page: checkout answered"),
        ]

        children = descendants(dev.process.pid)
        assert len(children) >= 4, children  # redis-server, tracesink, backend, worker
        assert dev.stop(signal.SIGINT) == 0, dev.read_rest()
        assert [pid for pid in children if alive(pid)] == []
        assert "stopping" in dev.read_rest()
