"""The viewer in a real browser (Debian chromium, driven by Playwright) against a real
`tracesink serve`: it lists a trace written through the HTTP API, shows it with badges, levels
and drop markers, filters it, follows it live without a reload, opens from a deep link, works
from the keyboard, and asks for the read token when reads are protected.

A screenshot of each run is saved under tests/e2e/artifacts/ (or $TRACESINK_ARTIFACTS)."""

from __future__ import annotations

import os
import shutil
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
from tracesink.store.scripts import logs_key

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


def test_an_item_no_reader_can_decode_shows_in_its_place(
    page: Page, redis_server: RedisServer
) -> None:
    """Garbage another tool pushed into a trace list is a marked row where it lies, saying it
    could not be decoded; the entries around it show as usual."""
    with serving({"TRACESINK_STORE": redis_server.url}) as running:
        log(running, trace_id="odd-1", message="first", system="browser")
        key = logs_key(policy_from(Settings()), "odd-1")
        redis.Redis.from_url(redis_server.url).lpush(key, b"\xff not json")
        log(running, trace_id="odd-1", message="second", system="browser")
        page.goto(f"{running.url}/#/trace/odd-1")
        expect(page.locator("#entries li.entry")).to_have_count(2)
        marker = page.locator('#entries li[data-kind="undecodable"]')
        expect(marker).to_contain_text("undecodable item at position 1")
