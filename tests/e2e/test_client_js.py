"""/client.js in a real browser: headless chromium loads a page from its own origin, the script
from a real ``tracesink serve``, and the test reads back the trace the page left behind."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.conftest import PageServer, logged, page_html, read_trace, wait_for_trace
from tests.support import client_policy as policy
from tests.support.answering import answering_429
from tests.support.redis_server import (
    free_port,
    kill_redis_server,
    redis_server_binary,
    restart_redis_server,
    start_redis_server,
)
from tests.support.service import (
    Service,
    entries_if_any,
    serving,
    start_service,
    stop_service,
)

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

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


def test_limit_refusals_follow_the_client_policy(
    context: BrowserContext, pages: PageServer
) -> None:
    """The three clients' shared scenario (tests/support/client_policy.py): items refused inside
    a 200 and a batch refused whole (429) count as dropped ``rate_limited``, never resent; what
    the server stored counts as sent; sending pauses for Retry-After, then goes on by itself."""
    with serving(policy.LIMITED) as sink:
        html = page_html(sink.url, "document.title = 'done'", trace_id="browser-policy")
        pages.pages["/policy.html"] = html
        page, errors = _done(context, f"{pages.origin}/policy.html")
        log_and_flush = """async (messages) => {
          for (const m of messages) console.log(m);
          await TraceSink.flush();
          return TraceSink.stats();
        }"""

        def counts(stats: dict[str, Any]) -> policy.Counts:
            return policy.Counts.of(stats["sent"], stats["droppedBy"])

        first = counts(page.evaluate(log_and_flush, policy.FILL))
        second = counts(page.evaluate(log_and_flush, policy.REFUSED))
        held = page.evaluate(log_and_flush, [policy.AFTER])["queued"] == 1
        stored_while_held = policy.messages(entries_if_any(sink, "browser-policy"))
        page.wait_for_function(
            "(s => s.queued === 0 && s.sent + s.dropped === 8)(TraceSink.stats())",
            timeout=policy.DELIVERY_TIMEOUT_S * 1000,
        )
        final = counts(page.evaluate("TraceSink.stats()"))
        observed = policy.Observed(first, second, held, stored_while_held, final)
        policy.check(sink, "browser-policy", observed)
    assert errors == []


def test_retry_after_is_read_in_both_forms_and_bounded(
    context: BrowserContext, pages: PageServer, sink: Service
) -> None:
    """A 429's Retry-After (from a server that answers nothing else) as delta-seconds is the
    pause; an HTTP-date a year ahead is capped at data-max-pause, one in the past is no pause,
    an unreadable one a second; the refused entry is dropped as rate_limited."""
    a_year = formatdate(time.time() + 365 * 86400, usegmt=True)
    forms = [("12", 12_000), (a_year, 30_000), (formatdate(0, usegmt=True), 0), ("soon", 1000)]
    with answering_429([header for header, _ in forms]) as url:
        body = """
        const before = Date.now();
        console.log("refused");
        TraceSink.flush().then(() => {
          window.pause = TraceSink.stats().pausedUntil - before;
          window.limited = TraceSink.stats().droppedBy.rate_limited;
          document.title = "done";
        });
        """
        pages.pages["/limited.html"] = page_html(sink.url, body, endpoint=url, max_pause="30000")
        for header, expected in forms:
            page, errors = _done(context, f"{pages.origin}/limited.html")
            pause = page.evaluate("window.pause")
            assert expected <= pause < expected + 5000, (header, pause)
            assert page.evaluate("window.limited") == 1
            assert errors == []
            page.close()


def test_what_the_queue_could_not_hold_is_reported_in_place(
    context: BrowserContext, pages: PageServer, sink: Service
) -> None:
    """The 2 entries a 4-entry queue could not hold show up as one marker where they were
    dropped, after the entries that were kept, with the reason spelled as every client spells
    it; stats() counts them by reason."""
    body = """
    for (const n of [1, 2, 3, 4, 5, 6]) console.log("b" + n);
    TraceSink.flush().then(() => document.title = "done");
    """
    pages.pages["/full.html"] = page_html(sink.url, body, trace_id="full", max_queue="4")
    page, _ = _done(context, f"{pages.origin}/full.html")
    entries = wait_for_trace(sink.url, "full", lambda e: len(e) >= 5)
    assert logged(entries) == [
        "b1", "b2", "b3", "b4", "tracesink client dropped 2 entries (2 queue_full)",
    ]  # fmt: skip
    assert entries[-1]["context"] == {"tracesink_dropped": {"queue_full": 2}}
    stats = page.evaluate("TraceSink.stats()")
    assert (stats["sent"], stats["dropped"], stats["droppedBy"]) == (4, 2, {"queue_full": 2})


def _done(context: BrowserContext, url: str) -> tuple[Page, list[str]]:
    """Opens ``url``, waits for the page to set its title to "done"; the page and its errors."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.wait_for_function("document.title === 'done'")
    return page, errors


def test_an_ingest_key_from_the_page_is_accepted_and_a_wrong_one_stops_the_client(
    context: BrowserContext, pages: PageServer
) -> None:
    """With TRACESINK_INGEST_KEYS, a page's data-key goes with every request (as ?key=, since
    the requests are preflight-free text/plain) and its logs are stored; with a wrong key the
    first answer (401) stops the client for good: one request, nothing stored, no page error."""
    keys = f"pk_page_key={pages.origin}"
    with serving({"TRACESINK_INGEST_KEYS": keys}) as sink:
        body = "console.log('with a key'); TraceSink.flush().then(() => document.title = 'done');"
        pages.pages["/keyed.html"] = page_html(sink.url, body, trace_id="keyed", key="pk_page_key")
        pages.pages["/wrong.html"] = page_html(sink.url, body, trace_id="wrong", key="pk_wrong_key")
        _done(context, f"{pages.origin}/keyed.html")
        assert logged(wait_for_trace(sink.url, "keyed", bool)) == ["with a key"]
        page, errors = _done(context, f"{pages.origin}/wrong.html")
        page.evaluate("console.log('after the refusal'); TraceSink.flush()")
        stats = page.evaluate("TraceSink.stats()")
        assert read_trace(sink.url, "wrong") is None
    assert stats["requests"] == 1
    assert stats["stopped"].startswith("HTTP 401")
    assert errors == []


def test_a_page_on_another_origin_sends_only_when_the_allow_list_names_it(
    context: BrowserContext, pages: PageServer, tmp_path: Path
) -> None:
    """tracesink on its own port is another origin than the page: with TRACESINK_CORS_ORIGINS
    naming the page's origin, the logs arrive; the same page under an origin the list does not
    name still loads the script (a classic tag needs no CORS) and runs unharmed, tracesink
    stores nothing from it, and the client reads the 403 (CORS headers on the refusal) and
    stops after that first request, as docs/browser.md promises: later logs send nothing, the
    page's console holds no CORS error and at most the browser's one line for the 403, and the
    server's log names the refused origin once."""
    output = tmp_path / "tracesink.log"
    env = {"TRACESINK_CORS_ORIGINS": pages.origin, "TRACESINK_SPOOL_DIR": str(tmp_path)}
    sink = start_service(free_port(), env, output)
    try:
        for name in ("allowed", "refused"):
            body = f"console.log('{name}'); setTimeout(() => document.title = 'done', 300);"
            pages.pages[f"/{name}.html"] = page_html(
                sink.url, body, trace_id=name, flush_interval="20"
            )
        _done(context, f"{pages.origin}/allowed.html")
        assert logged(wait_for_trace(sink.url, "allowed", bool)) == ["allowed"]
        page = context.new_page()
        errors: list[str] = []
        console: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda m: console.append(m.text) if m.type != "log" else None)
        page.goto(f"{pages.other_origin}/refused.html")
        page.wait_for_function("TraceSink.stats().stopped !== null")
        page.evaluate("for (let i = 0; i < 20; i++) console.log('again ' + i); TraceSink.flush()")
        stats = page.evaluate("TraceSink.stats()")
        assert read_trace(sink.url, "refused") is None
    finally:
        stop_service(sink)
    assert errors == []
    assert stats["sent"] == 0
    assert stats["requests"] == 1
    assert stats["stopped"].startswith("HTTP 403")
    assert not [line for line in console if "CORS" in line], console
    # Left: chromium's own "Failed to load resource: … 403" (once), and the page server's
    # missing favicon (404), which is not the client's.
    client_lines = [line for line in console if "status of 404" not in line]
    assert len(client_lines) <= 1, console
    refusals = [line for line in output.read_text().splitlines() if "refused origin" in line]
    assert len(refusals) == 1, refusals
    assert pages.other_origin in refusals[0]


REPLACED_CONSOLE = """
window.libSaw = [];
const realLog = console.log;
console.log = function (...args) { libSaw.push(args.join(" ")); return realLog.apply(this, args); };
console.debug = (...args) => console.log("[debug]", ...args);
Object.defineProperty(console, "warn", {
  value: (...args) => { libSaw.push("warn: " + args.join(" ")); },
  writable: false, configurable: false,
});
"""


def test_a_console_replaced_by_another_library_keeps_working(
    context: BrowserContext, pages: PageServer, sink: Service
) -> None:
    """A library replaced console.log, routed console.debug through it and froze console.warn
    before the script loaded: the library still sees every call, the page runs on without an
    error, debug is captured once (not again through log), and the frozen warn is left alone."""
    body = """
    console.log("one"); console.debug("two"); console.warn("three"); console.error("four");
    TraceSink.flush().then(() => document.title = "done");
    """
    html = page_html(sink.url, body, trace_id="replaced")
    pages.pages["/replaced.html"] = html.replace(
        "<head>", f"<head><script>{REPLACED_CONSOLE}</script>"
    )
    page, errors = _done(context, f"{pages.origin}/replaced.html")
    assert page.evaluate("libSaw") == ["one", "[debug] two", "warn: three"]
    entries = wait_for_trace(sink.url, "replaced", lambda e: len(e) >= 3)
    assert [(e["level"], e["message"]) for e in entries] == [
        ("log", "one"),
        ("log", "two"),
        ("error", "four"),
    ]
    assert errors == []


NOISY = """
TraceSink.init({
  traceId: "noisy", flushInterval: 50, maxPerMinute: 12, dedupeWindow: 5000,
  ignore: [/^\\[HMR\\]/],
  beforeSend(entry) {
    console.log("beforeSend saw " + entry.message);  // never captured, never recursing
    if (entry.message.includes("drop me")) return null;
    return {...entry, message: entry.message.replace(/\\d{4}-\\d{4}-\\d{4}-\\d{4}/, "[card]")};
  },
});
console.log("[HMR] connected");
for (let i = 0; i < 37; i++) console.log("polling");
console.log("login", {user: "ada", password: "hunter2", nested: {api_key: "k-123"}});
console.log("Authorization: Bearer abcdefghijklmnop");
console.log("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl");
console.log("drop me");
console.log("paid with 4111-1111-1111-1111");
console.log("getter", {get loud() { console.log("from a getter"); return 1; }});
for (let i = 0; i < 10; i++) console.log("burst " + i);
TraceSink.flush().then(() => document.title = "done");
"""


def test_noise_is_collapsed_capped_and_ignored_and_secrets_are_redacted(
    context: BrowserContext, pages: PageServer, sink: Service
) -> None:
    """Options given to init() (data-init="false" holds the tag back): an ignored pattern is
    not sent, 37 identical messages become one "(repeated 37 times)", password/api_key fields, a
    bearer token and a JWT are redacted, beforeSend rewrites one entry and drops another, the
    console output of beforeSend and of a getter is not captured, and the client cap of 12 a
    minute drops the rest of a burst, reported by one marker."""
    pages.pages["/noisy.html"] = page_html(sink.url, NOISY, init="false")
    _done(context, f"{pages.origin}/noisy.html")
    entries = wait_for_trace(sink.url, "noisy", lambda e: len(e) >= 12)
    assert logged(entries) == [
        "polling (repeated 37\N{MULTIPLICATION SIGN})",
        'login {"user":"ada","password":"[redacted]","nested":{"api_key":"[redacted]"}}',
        "Authorization: Bearer [redacted]",
        "jwt [redacted jwt]",
        "paid with [card]",
        'getter {"loud":1}',
        *[f"burst {i}" for i in range(5)],
        "tracesink client dropped 5 entries (5 client_cap)",
    ]


def test_redaction_can_be_turned_off(
    context: BrowserContext, pages: PageServer, sink: Service
) -> None:
    """data-redact="false": a page that wants its fields verbatim gets them."""
    body = (
        "console.log({password: 'hunter2'}); TraceSink.flush().then(() => document.title = 'done');"
    )
    pages.pages["/verbatim.html"] = page_html(sink.url, body, trace_id="verbatim", redact="false")
    _done(context, f"{pages.origin}/verbatim.html")
    assert logged(wait_for_trace(sink.url, "verbatim", bool)) == ['{"password":"hunter2"}']


def test_413_halves_the_batch_and_drops_only_what_can_never_fit(
    context: BrowserContext, pages: PageServer
) -> None:
    """With a 3000-byte body cap, a batch of ten 400-character entries is halved until it fits
    and all ten arrive in order; an entry too large on its own is dropped and reported, never
    retried in a loop."""
    with serving({"TRACESINK_MAX_BODY_BYTES": "3000"}) as sink:
        body = """
        for (let i = 0; i < 10; i++) console.log("m" + i + " " + "x".repeat(400));
        console.log("huge " + "y".repeat(5000));
        console.log("after");
        TraceSink.flush().then(() => document.title = "done");
        """
        pages.pages["/big.html"] = page_html(sink.url, body, trace_id="big", flush_interval="20")
        page, _ = _done(context, f"{pages.origin}/big.html")
        entries = wait_for_trace(sink.url, "big", lambda e: len(e) >= 12)
        stats = page.evaluate("TraceSink.stats()")
    assert [m.split(" ")[0] for m in logged(entries)] == [
        *[f"m{i}" for i in range(10)],
        "after",
        "tracesink",
    ]
    assert logged(entries)[-1] == "tracesink client dropped 1 entries (1 refused)"
    assert stats["requests"] <= 12
    assert stats["batchLimit"] < 10


def test_an_app_that_bundles_its_code_imports_the_module_and_calls_init(
    context: BrowserContext, pages: PageServer, sink: Service
) -> None:
    """client.mjs imported across origins (a CORS module load): importing starts nothing and
    reads no tag; init() starts capturing; the app reads the trace id to pass to its backend."""
    module = f"""
    import TraceSink, {{ init, getTraceId, flush }} from "{sink.url}/client.mjs";
    window.before = getTraceId();
    const client = init({{endpoint: "{sink.url}", traceId: "bundled"}});
    console.info("from the app");
    window.after = [getTraceId(), client === TraceSink, window.TraceSink === TraceSink];
    await flush();
    document.title = "done";
    """
    pages.pages["/app.html"] = (
        f'<!doctype html><title>app</title><script type="module">{module}</script>'
    )
    page, errors = _done(context, f"{pages.origin}/app.html")
    assert page.evaluate("window.before") is None
    assert page.evaluate("window.after") == ["bundled", True, True]
    assert logged(wait_for_trace(sink.url, "bundled", bool)) == ["from the app"]
    assert errors == []


FETCH_SPY = """
window.answers = [];
const pageFetch = window.fetch;
window.fetch = (...args) => pageFetch(...args).then(
  (response) => {
    answers.push([performance.now(), response.status, response.headers.get("retry-after")]);
    return response;
  },
  (error) => { answers.push([performance.now(), 0, null]); throw error; },
);
"""


@pytest.mark.redis
@pytest.mark.skipif(redis_server_binary() is None, reason="redis-server is not installed")
def test_5xx_is_retried_with_growing_waits_and_nothing_is_lost(
    context: BrowserContext, pages: PageServer
) -> None:
    """tracesink on Redis without a spool answers 503 while Redis is down: the client retries
    with exponential backoff (each wait longer than the one before), keeps what it holds, and
    once Redis is back everything arrives, in order."""
    durable = ["--appendonly", "yes", "--appendfsync", "always"]  # "before" survives the kill
    redis = start_redis_server(extra_args=durable)
    try:
        env = {"TRACESINK_STORE": redis.url, "TRACESINK_SPOOL_DIR": "off"}
        with serving(env) as sink:
            body = "console.log('before'); TraceSink.flush().then(() => document.title = 'done');"
            html = page_html(sink.url, body, trace_id="outage", flush_interval="20")
            pages.pages["/outage.html"] = html.replace(
                "<head>", f"<head><script>{FETCH_SPY}</script>"
            )
            page, _ = _done(context, f"{pages.origin}/outage.html")
            kill_redis_server(redis)
            page.evaluate("for (const n of [1, 2, 3]) console.log('during ' + n)")
            page.wait_for_function("answers.filter(([, status]) => status === 503).length >= 3")
            redis = restart_redis_server(redis, durable)
            entries = wait_for_trace(sink.url, "outage", lambda e: len(e) >= 4)
            answers: list[tuple[float, int, str | None]] = page.evaluate("answers")
    finally:
        kill_redis_server(redis)
        redis.stop()
    assert logged(entries) == ["before", "during 1", "during 2", "during 3"]
    failed = [at for at, status, _ in answers if status == 503]
    waits = [b - a for a, b in itertools.pairwise(failed)]
    assert all(later > earlier for earlier, later in itertools.pairwise(waits)), waits


def test_a_full_batch_goes_at_once_without_waiting_for_the_interval(
    context: BrowserContext, pages: PageServer, sink: Service
) -> None:
    """With a flush interval of a minute and batches of 3, the third entry sends the batch at
    once; the fourth waits for the interval (or for the page to go)."""
    body = "for (const n of [1, 2, 3, 4]) console.log('entry ' + n); document.title = 'done';"
    pages.pages["/batch.html"] = page_html(
        sink.url, body, trace_id="batched", flush_interval="60000", max_batch="3"
    )
    page, _ = _done(context, f"{pages.origin}/batch.html")
    entries = wait_for_trace(sink.url, "batched", lambda e: len(e) >= 3, timeout=5)
    assert logged(entries) == ["entry 1", "entry 2", "entry 3"]
    assert page.evaluate("TraceSink.stats().queued") == 1
