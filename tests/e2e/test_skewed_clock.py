"""The full-stack example's story with the page's clock 5 s ahead, then 5 s behind: the
browser client sends its clock with each request, the service corrects the page's times, and
the trace reads in causal order (click → backend → worker → page answer) through the API and
through `tracesink logs`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.e2e.conftest import logged, wait_for_trace
from tests.support.clock_skew import TRANSIT_MS, check_corrected, iso_ms_of
from tests.support.dev_stack import READY_LINE, dev_stack
from tests.support.redis_server import free_port

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed"),
]

STORY = [
    ("browser", "page: pay clicked"),
    ("python", "backend: checkout started"),
    ("worker", "worker: charging the card"),
    ("worker", "worker: card charged"),
    ("python", "backend: the worker charged the card"),
    ("browser", "page: checkout answered"),
]
# Moves the page's clock: every Date.now() the page (and so client.js) reads is SKEW ms off.
SKEWED = "(() => { const now = Date.now; Date.now = () => now() + %d; })();"


def told(entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["system"], e["message"].split(" {")[0]) for e in entries if "kind" not in e]


def test_the_story_reads_in_causal_order_with_the_page_clock_skewed_both_ways(
    context: BrowserContext,
) -> None:
    """Two checkouts, the first from a page whose clock is 5 s ahead, the second from one 5 s
    behind: GET /logs (event order, the default) tells both stories one after the other, each
    in causal order up to the correction's accuracy (check_story); the page's entries carry
    the correction, the others none; `tracesink logs` prints the same order with the
    correction shown."""
    port = free_port()
    with dev_stack("--example", "--port", str(port)) as dev:
        dev.wait_for(READY_LINE)
        page_url = dev.wait_for(r"example page: (http://127\.0\.0\.1:\d+/)").group(1)
        sink, trace_id = dev.wait_for(
            r"demo trace: (http://127\.0\.0\.1:\d+)/#/trace/(\w+)"
        ).groups()

        for n, skew_ms in enumerate((5000, -5000), start=1):
            page = context.new_page()
            page.add_init_script(SKEWED % skew_ms)
            page.goto(page_url)
            page.wait_for_selector("#status:has-text('paid:')")

            def told_all(entries: list[dict[str, Any]], n: int = n) -> bool:
                return len(logged(entries)) >= len(STORY) * n  # every part's batch is in

            wait_for_trace(sink, trace_id, told_all, timeout=30)
            page.close()
        trace = httpx.get(f"{sink}/logs/{trace_id}", timeout=10).json()
        assert trace["order"] == "event"
        entries = [e for e in trace["entries"] if "kind" not in e]
        for story, skew_ms in zip((entries[:6], entries[6:]), (5000, -5000), strict=True):
            check_story(story, skew_ms)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRACESINK_")}
        printed = subprocess.run(
            [sys.executable, "-m", "tracesink", "logs", trace_id, "--url", sink],
            capture_output=True,
            text=True,
            env={**env, "NO_COLOR": "1"},
            timeout=30,
            check=True,
        ).stdout.splitlines()
        lines = [line for line in printed if not line.startswith(" ")][: len(STORY) * 2]
        messages = [next(m for _, m in STORY if m in line) for line in lines]
        assert messages == [m for _, m in told(entries)]  # the API's order, line for line
        assert all("(clock " in line for line in lines if "page:" in line)


def ms(iso: str) -> int:
    return iso_ms_of(iso)


def check_story(story: list[dict[str, Any]], skew_ms: int) -> None:
    """One checkout, as GET /logs placed it. The test knows the page's skew, so it knows when
    each page entry truly happened (its sent time less the skew). Then:

    - all six entries are together: the 5 s skew no longer moves the page's entries out of
      their checkout, either way;
    - the flow is causal by true times (click, backend, worker, backend, answer);
    - a corrected time is the true time plus the transit of the request that carried it
      (what one-way measurement cannot tell from skew), never less, at most TRANSIT_MS;
    - the listed order is the causal order, except where two neighbours lie closer together
      than that transit: only there may a corrected page entry swap with another system's.
    """
    assert sorted(told(story)) == sorted(STORY), story
    true_ms = {}
    error_ms = {}
    for entry in story:
        if entry["system"] == "browser":
            check_corrected(entry, skew_ms)
            true_ms[entry["id"]] = ms(entry["sent_timestamp"]) - skew_ms
            error_ms[entry["id"]] = ms(entry["timestamp"]) - true_ms[entry["id"]]
            assert 0 <= error_ms[entry["id"]] <= TRANSIT_MS, entry
        else:
            assert "clock_offset_ms" not in entry, entry  # their clocks are the service's
            true_ms[entry["id"]] = ms(entry["timestamp"])
            error_ms[entry["id"]] = 0
    by_truth = sorted(story, key=lambda e: true_ms[e["id"]])
    assert told(by_truth) == STORY, [(e["message"], true_ms[e["id"]]) for e in by_truth]
    step = {e["id"]: STORY.index(told([e])[0]) for e in story}
    for i, earlier in enumerate(story):
        for later in story[i + 1 :]:
            if step[earlier["id"]] > step[later["id"]]:  # listed against the causal order
                apart = ms(earlier["timestamp"]) - ms(later["timestamp"])
                allowed = max(error_ms[earlier["id"]], error_ms[later["id"]])
                assert apart <= allowed, (earlier, later)
