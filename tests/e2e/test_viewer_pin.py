"""The viewer's pin button in a real chromium against a real `tracesink serve` behind a read
token: Pin keeps the open trace (the header says until when, the list marks it, the API agrees),
Unpin lets it go; both send the read token the page was given."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.conftest import CHROMIUM
from tests.support.service import Service, serving

TOKEN = "viewer-pin-token-0123456789"  # noqa: S105  # a test credential, not a secret
AUTH = {"authorization": f"Bearer {TOKEN}"}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Debian chromium is not installed"),
]


@pytest.fixture
def service() -> Iterator[Service]:
    with serving({"TRACESINK_READ_TOKEN": TOKEN}) as running:
        yield running


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def pinned_until(service: Service, trace_id: str) -> str | None:
    answer = httpx.get(f"{service.url}/logs/{trace_id}", headers=AUTH, timeout=10).json()
    value: str | None = answer["pinned_until"]
    return value


def test_the_pin_button_pins_and_unpins_the_open_trace(service: Service, page: Page) -> None:
    """Pin: the button turns to Unpin (pressed), the header says "pinned until", the list marks
    the trace pinned, and the trace is pinned for the API too; Unpin undoes all of it."""
    sent = httpx.post(f"{service.url}/log", json={"trace_id": "keep-me", "message": "found it"})
    assert sent.status_code == 200
    page.goto(f"{service.url}/#/trace/keep-me")
    page.fill("#token", TOKEN)
    page.keyboard.press("Enter")
    button = page.locator("#pin")
    expect(button).to_have_text("Pin")
    expect(button).to_have_attribute("aria-pressed", "false")

    button.click()
    expect(button).to_have_text("Unpin")
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#trace-meta")).to_contain_text("pinned until 20")
    expect(page.locator('#trace-list li[data-trace="keep-me"]')).to_contain_text("pinned")
    assert pinned_until(service, "keep-me") is not None

    button.click()
    expect(button).to_have_text("Pin")
    expect(page.locator("#trace-meta")).not_to_contain_text("pinned until")
    expect(page.locator('#trace-list li[data-trace="keep-me"]')).not_to_contain_text("pinned")
    assert pinned_until(service, "keep-me") is None
