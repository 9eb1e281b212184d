"""The viewer in a real browser (Debian chromium, driven by Playwright) against a real
`tracesink serve`: it lists a trace written through the HTTP API, shows it with badges, levels
and drop markers, filters it, follows it live without a reload, opens from a deep link, works
from the keyboard, and asks for the read token when reads are protected; it tells a trace by
event time with times relative to its first entry, one line per entry, over a timeline strip
with a lane per system; e / E jump between errors; the trace list is searchable and previews
each trace; empty states say why; the favicon is served.

A screenshot of each run is saved under tests/e2e/artifacts/ (or $TRACESINK_ARTIFACTS)."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import CHROMIUM
from tests.support.redis_server import RedisServer
from tests.support.service import Service, serving
from tracesink.config import Settings
from tracesink.pipeline import policy_from
from tracesink.store.keys import trace_key
from tracesink.store.scripts import logs_key
from tracesink.times import iso_ms

ARTIFACTS = Path(os.environ.get("TRACESINK_ARTIFACTS", Path(__file__).parent / "artifacts"))
TOKEN = "viewer-read-token-0123456789"  # noqa: S105  # a test credential, not a secret

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Debian chromium is not installed"),
]


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture(scope="module")
def service() -> Iterator[Service]:
    # A trace limit of 3 makes a drop marker easy to produce.
    with serving({"TRACESINK_TRACE_LIMIT": "3"}) as running:
        yield running


def log(service: Service, headers: dict[str, str] | None = None, **entry: Any) -> httpx.Response:
    return httpx.post(f"{service.url}/log", json=entry, headers=headers or {}, timeout=10)


def test_the_viewer_shows_a_trace_filters_it_and_follows_it_live(
    service: Service, page: Page
) -> None:
    """A trace sent over HTTP is listed; opened, it shows system badges, levels, expandable
    context and the drop marker where entries were refused; a level filter narrows it (and the
    deep link carries it); an entry sent after the page opened appears without a reload."""
    log(service, trace_id="checkout-7", message="clicked pay", level="info", system="browser")
    log(
        service,
        trace_id="checkout-7",
        message="card declined",
        level="error",
        system="convex",
        context={"order": 7},
        stack="Error: declined\n    at charge (pay.ts:12)",
    )
    log(service, trace_id="checkout-7", message="retrying", level="warn", system="worker")
    assert log(service, trace_id="checkout-7", message="refused").status_code == 429

    page.goto(service.url + "/")
    listed = page.locator('#trace-list li[data-trace="checkout-7"]')
    expect(listed).to_contain_text("3 entries")
    expect(listed).to_contain_text("1 error")
    listed.get_by_role("link").click()
    expect(page).to_have_url(f"{service.url}/#/trace/checkout-7")

    rows = page.locator("#entries li.entry")
    expect(rows).to_have_count(3)
    expect(rows.nth(0).locator(".badge")).to_have_text("browser")
    expect(rows.nth(1).locator(".badge")).to_have_text("convex")
    expect(rows.nth(1).locator(".level")).to_have_text("error")
    expect(rows.nth(2).locator(".level")).to_have_text("warn")
    marker = page.locator("#entries li.marker")
    expect(marker).to_contain_text("1 entries dropped (1 by the trace quota)")
    expect(page.locator("#trace-meta")).to_contain_text("expires 20")
    rows.nth(1).locator("summary").click()
    expect(rows.nth(1).locator('pre[aria-label="context"]')).to_contain_text('"order": 7')
    expect(rows.nth(1).locator('pre[aria-label="stack"]')).to_contain_text("at charge")
    expect(page.locator("#live")).to_be_visible()

    page.select_option("#f-level", "warn")
    expect(rows).to_have_count(2)
    expect(page.locator("#shown")).to_have_text("2 of 3 entries")
    expect(marker).to_have_count(1)  # a gap is shown under every filter
    expect(page).to_have_url(f"{service.url}/#/trace/checkout-7?level=warn")

    with httpx.Client() as client:
        body = {
            "trace_id": "checkout-7",
            "message": "paid on retry",
            "level": "error",
            "system": "worker",
        }
        assert client.post(f"{service.url}/log", json=body).status_code == 429  # still limited
    fresh = "checkout-8"
    log(service, trace_id=fresh, message="first", level="info", system="browser")
    page.goto(f"{service.url}/#/trace/{fresh}")
    expect(page.locator("#live")).to_be_visible()
    log(service, trace_id=fresh, message="arrived while watching", level="error", system="worker")
    arrived = page.locator("#entries li.entry", has_text="arrived while watching")
    expect(arrived).to_have_count(1)
    expect(arrived.locator(".badge")).to_have_text("worker")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{service.url}/#/trace/checkout-7")
    expect(page.locator("#entries li.entry")).to_have_count(3)
    page.locator("#entries li.entry").nth(1).locator("summary").click()
    page.screenshot(path=str(ARTIFACTS / "viewer.png"), full_page=True)


def test_a_deep_link_opens_the_trace_with_its_filters_and_keys_work(
    service: Service, page: Page
) -> None:
    """#/trace/<id>?q=… pasted into a new tab opens that trace filtered; "/" focuses the text
    filter, Escape clears it, and the trace list is reachable with Tab."""
    log(service, trace_id="deep-1", message="alpha one", system="browser")
    log(service, trace_id="deep-1", message="beta two", system="browser")
    page.goto(f"{service.url}/#/trace/deep-1?q=beta")
    expect(page.locator("#trace-title")).to_have_text("Trace deep-1")
    expect(page.locator("#entries li.entry")).to_have_count(1)
    expect(page.locator("#f-text")).to_have_value("beta")
    page.locator("body").click()
    page.keyboard.press("/")
    expect(page.locator("#f-text")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#entries li.entry")).to_have_count(2)
    page.keyboard.press("Shift+Tab")  # backwards from the filters: into the page's controls
    focused = page.evaluate("document.activeElement.tagName")
    assert focused in {"SELECT", "INPUT", "A", "BUTTON"}


def test_the_viewer_asks_for_the_token_when_reads_are_protected(page: Page) -> None:
    """With TRACESINK_READ_TOKEN set the page asks for it; a wrong one is refused and asked
    again; the right one shows the traces, and stays in sessionStorage, never in the URL."""
    with serving({"TRACESINK_READ_TOKEN": TOKEN}) as protected:
        log(protected, trace_id="secret-trace", message="hidden")
        page.goto(protected.url + "/")
        form = page.locator("#token-form")
        expect(form).to_be_visible()
        expect(page.locator("#trace-list li")).to_have_count(0)
        page.fill("#token", "not-the-token")
        page.keyboard.press("Enter")
        expect(page.locator("#token-why")).to_contain_text("refused")
        page.fill("#token", TOKEN)
        page.click("#token-form button")
        expect(page.locator('#trace-list li[data-trace="secret-trace"]')).to_be_visible()
        assert TOKEN not in page.url
        assert page.evaluate("sessionStorage.getItem('tracesink.readToken')") == TOKEN
        page.goto(f"{protected.url}/#/trace/secret-trace")
        page.reload()
        expect(page.locator("#entries li.entry")).to_have_count(1)
        expect(page.locator("#live")).to_be_visible()


# --- the trace view (issue 23 item 3) ----------------------------------------------------------

T0 = 1_796_000_000_000  # 2026-11-30T00:53:20Z: the entries carry their own times


def stamped(
    trace_id: str, at_ms: int, message: str, system: str, level: str = "info", **more: Any
) -> dict[str, Any]:
    return {
        "trace_id": trace_id,
        "timestamp": T0 + at_ms,
        "message": message,
        "system": system,
        "level": level,
        **more,
    }


def send(service: Service, entries: list[dict[str, Any]]) -> None:
    answer = httpx.post(f"{service.url}/logs", json=entries, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == len(entries), answer.text


@pytest.fixture(scope="module")
def roomy() -> Iterator[Service]:
    """A service whose limits let a long trace in, with a custom system configured."""
    env = {
        "TRACESINK_TRACE_LIMIT": "500",
        "TRACESINK_SYSTEM_SHARES": "browser=30,worker=30,convex=20,billing-svc=20",
    }
    with serving(env) as running:
        yield running


def story(trace_id: str, n: int = 45) -> list[dict[str, Any]]:
    """``n`` entries 100 ms apart over browser, worker and billing-svc, errors at 20 and 33,
    sent in reverse: arrival order is the opposite of event order."""
    systems = ["browser", "worker", "billing-svc"]
    entries = [
        stamped(
            trace_id,
            i * 100,
            f"step {i:02d}" + (" card declined" if i in (20, 33) else ""),
            systems[i % 3],
            "error" if i in (20, 33) else "info",
        )
        for i in range(n)
    ]
    return entries[::-1]


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def test_a_trace_reads_in_event_order_one_line_per_entry_with_relative_times(
    roomy: Service, page: Page
) -> None:
    """Entries sent in reverse are shown by event time, each with its wall time and its time
    since the first entry (+0.000 s, +0.100 s, …); each is one line, and at least 40 of them
    are wholly visible in a 1280x800 viewport when the trace opens. A live arrival stamped
    earlier than everything shown takes its place at the top, and becomes the new +0.000 s."""
    send(roomy, story("order-1"))
    page.goto(f"{roomy.url}/#/trace/order-1")
    rows = page.locator("#entries li.entry")
    expect(rows).to_have_count(45)
    expect(rows.nth(0).locator(".message")).to_have_text("step 00")
    expect(rows.nth(0).locator(".rel")).to_have_text("+0.000 s")
    expect(rows.nth(1).locator(".rel")).to_have_text("+0.100 s")
    expect(rows.nth(44).locator(".rel")).to_have_text("+4.400 s")
    expect(rows.nth(44).locator(".message")).to_have_text("step 44")
    expect(rows.nth(0).locator(".wall")).to_have_text("00:53:20.000")  # T0, UTC
    heights = rows.evaluate_all("rows => rows.map(r => r.getBoundingClientRect().height)")
    assert max(heights) <= 20, heights  # one line each
    visible = rows.evaluate_all(
        "rows => rows.filter(r => { const b = r.getBoundingClientRect();"
        " return b.top >= 0 && b.bottom <= window.innerHeight; }).length"
    )
    assert visible >= 40, f"{visible} rows visible in 1280x800"
    shot(page, "viewer-one-line.png")

    send(roomy, [stamped("order-1", -2500, "before everything", "worker")])
    expect(rows).to_have_count(46)
    expect(rows.nth(0).locator(".message")).to_have_text("before everything")
    expect(rows.nth(0).locator(".rel")).to_have_text("+0.000 s")
    expect(rows.nth(1).locator(".rel")).to_have_text("+2.500 s")


def test_details_on_demand_show_both_times_ids_detection_and_the_clock_correction(
    page: Page, redis_server: RedisServer
) -> None:
    """A row opens (Enter) to its context, stack, entry id, both times and how its system was
    detected; an entry the service corrected for its sender's clock says so in its row, in its
    details ("clock +5.012 s corrected", the time it was sent with) and in the trace's header."""
    with serving({"TRACESINK_STORE": redis_server.url}) as running:
        first = [stamped("clock-1", 0, "clicked pay", "browser", context={"cart": 3})]
        answer = httpx.post(f"{running.url}/logs", json=first, timeout=10).json()
        later_id = answer["ids"][0][:-1] + "9"  # an id of the same writer, later
        corrected = stamped("clock-1", 5012, "answered", "browser") | {
            "id": later_id,
            "timestamp": iso_ms(T0 + 5012),
            "received_at": iso_ms(T0 + 5100),
            "sent_timestamp": iso_ms(T0),
            "clock_offset_ms": 5012,
            "detected_by": "sec-fetch",
        }
        # The clock correction is written by the ingest path ("order"); the viewer only reads
        # the stored fields, so the entry is pushed as a corrected one is stored.
        key = trace_key(Settings().key_prefix, "clock-1")
        redis.Redis.from_url(redis_server.url).lpush(key, json.dumps(corrected))
        page.goto(f"{running.url}/#/trace/clock-1")
        rows = page.locator("#entries li.entry")
        expect(rows).to_have_count(2)
        expect(rows.nth(1).locator(".hints")).to_have_text("clock +5.012 s corrected")
        expect(page.locator("#trace-meta")).to_contain_text(
            "browser clock +5.012 s corrected (1 entry)"
        )
        rows.nth(1).locator("summary").focus()
        page.keyboard.press("Enter")
        details = rows.nth(1).locator(".more")
        expect(details).to_contain_text(f"{iso_ms(T0 + 5012)} (when it happened)")
        expect(details).to_contain_text(f"{iso_ms(T0 + 5100)} (by tracesink)")
        expect(details).to_contain_text(f"clock +5.012 s corrected: sent as {iso_ms(T0)}")
        expect(details).to_contain_text("detected from sec-fetch")
        expect(details).to_contain_text(f"entry {later_id}")
        expect(page.locator("#live")).to_be_visible()
        rows.nth(0).locator("summary").click()
        expect(rows.nth(0).locator('pre[aria-label="context"]')).to_contain_text('"cart": 3')
        shot(page, "viewer-details.png")


def test_the_timeline_strip_has_a_lane_per_system_with_errors_and_drop_markers(
    service: Service, page: Page
) -> None:
    """The strip above the rows has one lane per system (in the order each first speaks, its
    name written), a tick per entry placed by event time (first at 0 %, last at 100 %), errors
    as marked ticks counted in the lane's name, and a "dropped" lane with a gap where the rate
    limits refused entries. A custom system gets a colour of its own, the same in its badge
    and its lane, and unlike every built-in system's. In forced-colours (high-contrast) mode
    the strip's marks stay visible."""
    send(
        service,
        [
            stamped("strip-1", 1000, "worker answered", "worker", "error"),
            stamped("strip-1", 0, "clicked", "browser"),
            stamped("strip-1", 500, "billed", "billing-svc"),
        ],
    )
    assert log(service, trace_id="strip-1", message="refused").status_code == 429
    page.goto(f"{service.url}/#/trace/strip-1")
    lanes = page.locator("#strip .lane")
    expect(lanes).to_have_count(4)
    names = lanes.locator(".lane-name")
    expect(names).to_have_text(["browser", "billing-svc", "worker · 1 error", "dropped"])
    expect(lanes.nth(2).locator(".tick.err")).to_have_count(1)
    expect(lanes.nth(3).locator(".gap")).to_have_count(1)
    lefts = page.locator("#strip .tick").evaluate_all("ts => ts.map(t => t.style.left)")
    assert lefts[0] == "0%", lefts
    assert 0 < float(lefts[1].rstrip("%")) < 100, lefts

    def colour(selector: str) -> str:
        return str(page.locator(selector).first.evaluate("e => getComputedStyle(e).color"))

    custom = colour('#entries li[data-system="billing-svc"] .badge')
    assert custom == colour('#strip .lane[data-system="billing-svc"] .lane-name')
    built_in = {colour(f'#entries li[data-system="{s}"] .badge') for s in ("browser", "worker")}
    assert custom not in built_in
    assert len(built_in) == 2
    page.locator('#strip .lane[data-system="browser"] .tick').click()
    expect(page.locator("#entries li.entry.selected .message")).to_have_text("clicked")
    expect(page.locator('#strip .lane[data-system="browser"] .tick.current')).to_have_count(1)
    shot(page, "viewer-strip.png")
    page.emulate_media(forced_colors="active")  # high contrast drops backgrounds, not these
    # (getComputedStyle reports authored colours even then: what keeps the marks is that they
    # opt out of the forced palette, with system colours of their own)
    adjust = page.locator("#strip .tick, #strip .gap").evaluate_all(
        "ms => ms.map(m => getComputedStyle(m).forcedColorAdjust)"
    )
    assert set(adjust) == {"none"}, adjust
    shot(page, "viewer-strip-forced-colors.png")


def test_e_and_shift_e_jump_between_errors_and_the_keys_are_shown(
    roomy: Service, page: Page
) -> None:
    """The page lists its keys. "First error" selects the first error; e goes to the next
    error, E back; past the last one the status says there is none after it; the selected
    row has the focus (Enter opens it) and its tick is marked on the strip. The rows are one
    tab stop (the selected row), the arrows move between them."""
    send(roomy, story("errors-1"))
    page.goto(f"{roomy.url}/#/trace/errors-1")
    expect(page.locator("#entries li.entry")).to_have_count(45)
    expect(page.locator("#keys")).to_contain_text("e / E next / previous error")
    page.locator("#trace-title").click()  # the page has the focus, no row is opened
    page.keyboard.press("e")
    selected = page.locator("#entries li.entry.selected")
    expect(selected.locator(".message")).to_have_text("step 20 card declined")
    expect(page.locator("#status")).to_have_text("error 1 of 2")
    expect(selected.locator("summary")).to_be_focused()
    expect(page.locator("#strip .tick.current.err")).to_have_count(1)
    page.keyboard.press("e")
    expect(selected.locator(".message")).to_have_text("step 33 card declined")
    expect(selected).to_be_in_viewport()
    page.keyboard.press("e")
    expect(page.locator("#status")).to_contain_text("no error after this one")
    page.keyboard.press("Shift+E")
    expect(selected.locator(".message")).to_have_text("step 20 card declined")
    page.keyboard.press("j")
    expect(selected.locator(".message")).to_have_text("step 21")
    page.keyboard.press("Enter")
    expect(selected.locator(".more")).to_contain_text("(when it happened)")
    expect(page.locator("#entries details[open]")).to_have_count(1)
    page.locator("#first-error").click()
    expect(selected.locator(".message")).to_have_text("step 20 card declined")
    shot(page, "viewer-errors.png")
    page.locator("#first-error").focus()
    page.keyboard.press("Tab")  # one tab stop for the rows: the selected one
    expect(selected.locator("summary")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(selected.locator(".message")).to_have_text("step 21")
    page.keyboard.press("Shift+Tab")  # and out again, not through 45 rows
    expect(page.locator("#first-error")).to_be_focused()


def test_the_trace_list_previews_each_trace_and_is_searchable(roomy: Service, page: Page) -> None:
    """Each listed trace shows its first error (marked as one) or else its first message; the
    search box keeps the traces whose id or preview contains the text; a search that matches
    nothing says so, and clearing it brings the list back."""
    send(roomy, [stamped("search-calm", 0, "opened the settings page", "browser")])
    send(
        roomy,
        [
            stamped("search-bad", 0, "clicked pay", "browser"),
            stamped("search-bad", 300, "insufficient funds", "worker", "error"),
        ],
    )
    page.goto(roomy.url + "/")
    bad = page.locator('#trace-list li[data-trace="search-bad"] .preview')
    expect(bad).to_have_text("error: insufficient funds")
    calm = page.locator('#trace-list li[data-trace="search-calm"] .preview')
    expect(calm).to_have_text("opened the settings page")
    page.locator("body").click()
    page.keyboard.press("t")
    expect(page.locator("#trace-search")).to_be_focused()
    page.keyboard.type("FUNDS")
    expect(page.locator("#trace-list li")).to_have_count(1)
    expect(page.locator("#trace-list li")).to_have_attribute("data-trace", "search-bad")
    page.fill("#trace-search", "search-")
    expect(page.locator("#trace-list li")).to_have_count(2)
    page.fill("#trace-search", "no-such-thing")
    expect(page.locator("#trace-list li")).to_have_count(0)
    expect(page.locator("#traces-nomatch")).to_contain_text("contains “no-such-thing”")
    shot(page, "viewer-search-empty.png")
    page.click("#clear-search")
    expect(page.locator('#trace-list li[data-trace="search-bad"]')).to_have_count(1)


def test_empty_states_say_why(page: Page) -> None:
    """With nothing stored, the list says so and shows the curl that sends a first entry (with
    the ingest-key header when keys are configured); a trace id with nothing stored says new
    entries will appear; filters that hide every entry say which, and clear with one click."""
    env = {"TRACESINK_INGEST_KEYS": "pk_test_viewer=*"}
    with serving(env) as keyed:
        page.goto(keyed.url + "/")
        expect(page.locator("#traces-none")).to_contain_text("No traces yet")
        expect(page.locator("#first-steps")).to_be_visible()
        expect(page.locator("#send-example")).to_contain_text(f"curl -X POST {keyed.url}/log")
        expect(page.locator("#send-example")).to_contain_text("X-Tracesink-Key")
        expect(page.locator("#trace-none")).to_be_hidden()  # no "pick one" from an empty list
        shot(page, "viewer-empty.png")
        page.goto(f"{keyed.url}/#/trace/nothing-here")
        expect(page.locator("#trace-missing")).to_be_visible()
        expect(page.locator("#trace-missing")).to_contain_text("Nothing stored under this id")
        headers = {"X-Tracesink-Key": "pk_test_viewer"}
        answer = log(keyed, headers, trace_id="nothing-here", message="all fine", system="browser")
        assert answer.status_code == 200, answer.text
        expect(page.locator("#entries li.entry")).to_have_count(1)  # live, no reload
        expect(page.locator("#trace-missing")).to_be_hidden()
        page.fill("#f-text", "zzz")
        expect(page.locator("#entries-empty")).to_contain_text(
            "No entry matches text “zzz”: all 1 are hidden."
        )
        page.click("#clear-filters")
        expect(page.locator("#entries li.entry")).to_have_count(1)
        expect(page.locator("#entries-empty")).to_be_hidden()
    with serving({}) as open_service:
        page.goto(open_service.url + "/")
        expect(page.locator("#send-example")).not_to_contain_text("X-Tracesink-Key")


def test_the_favicon_is_served_and_the_page_loads_without_a_failed_request(
    service: Service, page: Page
) -> None:
    """GET /favicon.ico is a 200 icon (not a 404 in every page's console), and opening the
    viewer makes no request that fails."""
    icon = httpx.get(f"{service.url}/favicon.ico", timeout=10)
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO header
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(service.url + "/")
    expect(page.locator("#traces-title")).to_be_visible()
    page.evaluate("fetch('/favicon.ico').then(r => r.status)")
    assert failed == []


def test_a_trimmed_trace_says_so_in_its_header_and_first_row(page: Page) -> None:
    """A trace that outgrew TRACESINK_MAX_TRACE_ENTRIES tells the reader: the header counts the
    oldest items trimmed, and a marked row stands first, where they were."""
    env = {"TRACESINK_MAX_TRACE_ENTRIES": "3", "TRACESINK_TRACE_LIMIT": "50"}
    with serving(env) as capped:
        send(capped, [stamped("capped-1", i * 10, f"step {i}", "browser") for i in range(5)])
        page.goto(f"{capped.url}/#/trace/capped-1")
        expect(page.locator("#entries li.entry")).to_have_count(2)  # the marker holds a slot
        expect(page.locator("#trace-meta")).to_contain_text("3 oldest items trimmed")
        first = page.locator("#entries > li").first
        expect(first).to_have_attribute("data-kind", "trimmed")
        expect(first).to_contain_text("3 older items trimmed")
        expect(page.locator("#entries li.entry .message")).to_have_text(["step 3", "step 4"])


def test_an_item_no_reader_can_decode_shows_in_its_place(
    page: Page, redis_server: RedisServer
) -> None:
    """Garbage another tool pushed into a trace list is a marked row where it lies (between
    the entries it arrived between), one line saying it could not be decoded; the entries
    around it show as usual."""
    with serving({"TRACESINK_STORE": redis_server.url}) as running:
        log(running, trace_id="odd-1", message="first", system="browser")
        key = logs_key(policy_from(Settings()), "odd-1")
        redis.Redis.from_url(redis_server.url).lpush(key, b"\xff not json")
        log(running, trace_id="odd-1", message="second", system="browser")
        page.goto(f"{running.url}/#/trace/odd-1")
        expect(page.locator("#entries li.entry")).to_have_count(2)
        marker = page.locator('#entries li[data-kind="undecodable"]')
        expect(marker).to_contain_text("undecodable item at position 1")
        expect(marker.locator(".kind")).to_have_text("undecodable entry")
        height = marker.evaluate("m => m.getBoundingClientRect().height")
        assert height <= 20, height  # one line, like every row
        expect(page.locator("#entries > li").nth(1)).to_have_attribute("data-kind", "undecodable")
        shot(page, "viewer-undecodable.png")


@pytest.mark.parametrize("ahead", [5000, -5000], ids=["ahead", "behind"])
def test_a_sender_clock_5_s_off_is_corrected_and_the_viewer_says_so(
    service: Service, page: Page, ahead: int
) -> None:
    """A browser whose clock is 5 s ahead (or behind) sends its clock with each request
    (``?clock=``): the service corrects its entries' times, so its click reads before the
    backend work it caused and its answer after it; each corrected row says by how much
    ("clock -4.9… s corrected": 5 s less the transit), and so does the trace's header.
    (Uncorrected, the click would read 5 s after the backend, or the answer 5 s before it.)"""
    trace_id = f"skew-{'ahead' if ahead > 0 else 'behind'}"

    def browser(message: str) -> None:
        now = int(time.time() * 1000)
        entry: dict[str, Any] = {"trace_id": trace_id, "message": message, "system": "browser"}
        body = [entry | {"timestamp": now + ahead}]  # stamped by the clock that is off
        answer = httpx.post(f"{service.url}/logs?clock={now + ahead}", json=body, timeout=10)
        assert answer.status_code == 200, answer.text

    browser("page: pay clicked")
    assert log(service, trace_id=trace_id, message="backend: charging", system="worker").is_success
    browser("page: showing the receipt")
    page.goto(f"{service.url}/#/trace/{trace_id}")
    rows = page.locator("#entries li.entry")
    expect(rows.locator(".message")).to_have_text(
        ["page: pay clicked", "backend: charging", "page: showing the receipt"]
    )
    sign = "-" if ahead > 0 else r"\+"
    corrected = re.compile(rf"clock {sign}[3-6]\.\d{{3}} s corrected")  # 5 s and the transit
    expect(rows.nth(0).locator(".hints")).to_have_text(corrected)
    expect(rows.nth(2).locator(".hints")).to_have_text(corrected)
    expect(rows.nth(1).locator(".hints")).to_have_count(0)  # the backend's own clock: as is
    expect(page.locator("#trace-meta")).to_contain_text(re.compile(r"browser " + corrected.pattern))
    rows.nth(0).locator("summary").click()
    expect(rows.nth(0).locator(".more")).to_contain_text("by a clock that was off")
    shot(page, f"viewer-clock-{'ahead' if ahead > 0 else 'behind'}.png")
