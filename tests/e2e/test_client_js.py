"""/client.js in a real browser: headless chromium loads a page from its own origin, the script
from a real ``tracesink serve``, and the test reads back the trace the page left behind."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.e2e.conftest import PageServer, logged, page_html, read_trace, wait_for_trace
from tests.support.service import Service, serving

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

pytestmark = pytest.mark.slow


@pytest.fixture
def sink() -> Iterator[Service]:
    with serving() as service:
        yield service


STORY = """
const circular = {name: "loop"}; circular.self = circular;
const pause = (ms) => new Promise((done) => setTimeout(done, ms));
(async () => {
  console.log("step 1: log", {user: "ada", cart: [1, 2]});
  console.info("step 2: info");
  console.warn("step 3: warn %s of %d", "two", 3);
  console.error("step 4: error", new Error("boom"));
  console.debug("step 5: debug");
  console.log("step 6:", circular);
  setTimeout(() => { throw new TypeError("uncaught on purpose"); });
  await pause(30);
  Promise.reject(new RangeError("rejected on purpose"));
  await pause(30);
  const answer = await fetch("/api/checkout", {method: "POST"});
  console.log("step 9: backend answered " + answer.status);
  document.title = "done";
})();
"""


def test_a_page_story_arrives_whole_in_order_with_the_backend_in_it(
    context: BrowserContext, pages: PageServer, sink: Service
) -> None:
    """Every console level, an uncaught error, an unhandled rejection, and the page's backend
    (called with the propagated X-Trace-Id) all land in one trace, each with its system; entries
    still queued when the page navigates away arrive too (the flush interval is a minute, so
    only the unload flush can have sent them); the browser's entries keep the order they were
    logged in, and by time the backend's entry sits where the call happened."""
    pages.sink_url = sink.url
    pages.pages["/story.html"] = page_html(sink.url, STORY, flush_interval="60000")
    pages.pages["/elsewhere.html"] = "<!doctype html><title>elsewhere</title>"
    page = context.new_page()
    page.goto(f"{pages.origin}/story.html")
    page.wait_for_function("document.title === 'done'")
    trace_id = page.evaluate("TraceSink.traceId")
    assert read_trace(sink.url, trace_id) is not None  # only the backend's entry, so far
    page.goto(f"{pages.origin}/elsewhere.html")

    entries = wait_for_trace(sink.url, trace_id, lambda e: len(e) >= 10)
    browser = [e for e in entries if e["system"] == "browser"]
    assert [(e["level"], e["message"]) for e in browser] == [
        ("log", 'step 1: log {"user":"ada","cart":[1,2]}'),
        ("info", "step 2: info"),
        ("warn", "step 3: warn two of 3"),
        ("error", "step 4: error Error: boom"),
        ("log", "step 5: debug"),  # debug is stored as log, as the server documents
        ("log", 'step 6: {"name":"loop","self":"[Circular]"}'),
        ("error", "Uncaught TypeError: uncaught on purpose"),
        ("error", "Unhandled rejection: RangeError: rejected on purpose"),
        ("log", "step 9: backend answered 200"),
    ]
    assert "boom" in browser[3]["stack"]
    assert "story.html" in browser[3]["stack"]
    assert "uncaught on purpose" in browser[6]["stack"]
    assert browser[6]["context"]["source"].endswith("/story.html")
    assert "rejected on purpose" in browser[7]["stack"]
    [backend] = [e for e in entries if e["system"] == "python"]
    assert backend["message"] == "charging the card"
    assert backend["trace_id_from"] == "x-trace-id"
    by_time = sorted(entries, key=lambda e: e["timestamp"])  # a stable sort keeps ties in order
    assert [e["message"] for e in by_time].index("charging the card") == 8
    [call] = [s for s in pages.seen if s.path == "/api/checkout"]
    assert call.headers["x-trace-id"] == trace_id
    assert "traceparent" not in call.headers  # only when configured


def test_fetch_and_xhr_carry_the_trace_to_configured_origins_only(
    context: BrowserContext, pages: PageServer, sink: Service
) -> None:
    """A trace id from the page's <meta> tag goes, with a W3C traceparent when configured, on
    fetch and XMLHttpRequest calls to the listed origins; a call elsewhere gets neither, and a
    header the page set itself is left alone."""
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    body = f"""
    (async () => {{
      await fetch("{pages.other_origin}/api/ping", {{method: "POST"}});
      await fetch("/api/own", {{method: "POST", headers: {{"X-Trace-Id": "the-page-s-own"}}}});
      await fetch("/api/unlisted", {{method: "POST"}});
      const xhr = new XMLHttpRequest();
      xhr.open("POST", "{pages.other_origin}/api/xhr");
      xhr.onload = () => {{ document.title = "done"; }};
      xhr.send("hi");
    }})();
    """
    html = page_html(
        sink.url, body, propagate=pages.other_origin, traceparent="true", flush_interval="50"
    ).replace("<head>", f'<head><meta name="tracesink-trace-id" content="{trace_id}">')
    html = html.replace("/api/own", f"{pages.other_origin}/api/own")
    pages.pages["/propagate.html"] = html
    page = context.new_page()
    page.goto(f"{pages.origin}/propagate.html")
    page.wait_for_function("document.title === 'done'")
    assert page.evaluate("TraceSink.traceId") == trace_id
    seen = {s.path: s.headers for s in pages.seen if s.path.startswith("/api/")}
    for path in ("/api/ping", "/api/xhr"):
        assert seen[path]["x-trace-id"] == trace_id
        version, traced, parent, flags = seen[path]["traceparent"].split("-")
        assert (version, traced, len(parent), flags) == ("00", trace_id, 16, "01")
    assert seen["/api/own"]["x-trace-id"] == "the-page-s-own"
    assert "x-trace-id" not in seen["/api/unlisted"]
    assert "traceparent" not in seen["/api/unlisted"]


def test_429_is_honoured_and_what_the_queue_dropped_is_reported_in_place(
    context: BrowserContext, pages: PageServer
) -> None:
    """With a trace quota of 3 a second, the client waits out every 429's Retry-After before it
    sends again, loses none of what it held, and the 2 entries its 4-entry queue could not hold
    show up as one marker where they were dropped, after the entries that were kept."""
    with serving({"TRACESINK_TRACE_LIMIT": "3", "TRACESINK_WINDOW_S": "1"}) as sink:
        # The page wraps fetch before the script loads (as a monitoring library would), so the
        # test sees every answer, keepalive requests included, which DevTools does not report.
        spy = """
        window.answers = [];
        const pageFetch = window.fetch;
        window.fetch = (...args) => pageFetch(...args).then((response) => {
          answers.push([performance.now(), response.status, response.headers.get("retry-after")]);
          return response;
        });
        """
        body = """
        for (const n of [1, 2, 3]) console.log("a" + n);
        TraceSink.flush().then(() => {
          for (const n of [1, 2, 3, 4, 5, 6]) console.log("b" + n);
        });
        """
        html = page_html(sink.url, body, trace_id="backoff", max_batch="1", max_queue="4")
        pages.pages["/busy.html"] = html.replace("<head>", f"<head><script>{spy}</script>")
        page = context.new_page()
        page.goto(f"{pages.origin}/busy.html")
        entries = wait_for_trace(sink.url, "backoff", lambda e: len(logged(e)) >= 8, timeout=15)
        answers: list[tuple[float, int, str | None]] = page.evaluate("answers")

    assert logged(entries) == [
        "a1", "a2", "a3", "b1", "b2", "b3", "b4",
        "tracesink client dropped 2 entries (2 queue full)",
    ]  # fmt: skip
    assert any(e.get("kind") == "dropped" for e in entries)  # the server's own gap marker
    limited = [i for i, (_, status, _) in enumerate(answers) if status == 429]
    assert limited, f"the quota was never hit: {answers}"
    for i in limited:
        if i + 1 < len(answers):
            at, _, retry_after = answers[i]
            assert retry_after is not None
            # the next answer came after Retry-After (a request takes a little time as well)
            assert answers[i + 1][0] - at >= float(retry_after) * 1000
