"""The viewer's "copy as Markdown" in a real browser (Debian chromium, driven by Playwright)
against a real `tracesink serve`: the button puts the server's Markdown report of the open trace
(`GET /logs/{id}?format=md`, with the viewer's filters) on the clipboard, for a bug report or an
agent's prompt."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.conftest import CHROMIUM
from tests.support.poll import wait_until
from tests.support.service import Service, serving

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Debian chromium is not installed"),
]


@pytest.fixture(scope="module")
def service() -> Iterator[Service]:
    with serving() as running:
        yield running


@pytest.fixture
def page(browser: Browser, service: Service) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=service.url)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def clipboard(page: Page, starting: str) -> str:
    """The clipboard's text once it starts with ``starting`` (polled: the copy is async)."""

    def copied() -> str | None:
        text = str(page.evaluate("navigator.clipboard.readText()"))
        return text if text.startswith(starting) else None

    return wait_until(copied, f"the clipboard to hold the report of {starting!r}")


def test_copy_as_markdown_puts_the_trace_report_on_the_clipboard(
    service: Service, page: Page
) -> None:
    """The open trace's button copies exactly the server's Markdown report, hostile text
    escaped as the server escapes it."""
    entries = [
        {"trace_id": "md-copy", "message": "page <b>loaded</b>", "system": "browser"},
        {"trace_id": "md-copy", "message": "charge | failed", "level": "error", "system": "worker"},
    ]
    assert httpx.post(f"{service.url}/logs", json=entries, timeout=10).json()["accepted"] == 2
    page.goto(f"{service.url}/#/trace/md-copy")
    page.get_by_role("button", name="Copy as Markdown").click()
    text = clipboard(page, "# Trace md-copy")
    expected = httpx.get(f"{service.url}/logs/md-copy", params={"format": "md"}, timeout=10).text
    assert text == expected
    assert "charge \\| failed" in text
    assert "&lt;b&gt;loaded&lt;/b&gt;" in text
