"""Readable browser stacks, end to end (issue 24): a small app bundled and minified by esbuild
from npm with maps, served from its own origin, opened in chromium with the browser client and a
release; an error thrown three calls deep; the maps uploaded with ``tracesink sourcemaps
upload``; the original file, line and function of every frame found through the API, the
viewer (a screenshot in tests/e2e/artifacts/) and ``tracesink logs``.

Needs node with ``npm ci`` (esbuild) and chromium: skipped without them, except in CI.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.e2e.conftest import wait_for_trace
from tests.support.redis_server import free_port
from tests.support.service import Service, serving

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
ESBUILD = ROOT / "node_modules" / ".bin" / "esbuild"
ARTIFACTS = Path(os.environ.get("TRACESINK_ARTIFACTS", Path(__file__).parent / "artifacts"))
RELEASE = "shop@1.4.0"

# Line numbers below are what the test expects the maps to give back.
UTIL = """\
export function levelOne(order) {
  const total = order.items.length;
  return levelTwo(order, total);
}

export function levelTwo(order, total) {
  if (total > 0) {
    return levelThree(order.id);
  }
  return null;
}

export function levelThree(id) {
  throw new Error("checkout failed for " + id);
}
"""
MAIN = """\
import { levelOne } from "./util.js";

document.getElementById("pay").addEventListener("click", function () {
  levelOne({ id: "o-7", items: [1, 2] });
});
"""
EXPECTED = [  # (function, original file, line) innermost first, as the stack lists them
    ("levelThree", "src/util.js", 14),
    ("levelTwo", "src/util.js", 8),
    ("levelOne", "src/util.js", 3),
    # The anonymous click handler: no caller names it, so it keeps the name Chromium gave it.
    ("HTMLButtonElement.<anonymous>", "src/main.js", 4),
]


def _build(tmp: Path) -> Path:
    if not ESBUILD.exists():
        if os.environ.get("CI"):
            pytest.fail("esbuild is missing: npm ci")
        pytest.skip("esbuild is missing (npm ci)")
    (tmp / "src").mkdir()
    (tmp / "src" / "util.js").write_text(UTIL)
    (tmp / "src" / "main.js").write_text(MAIN)
    dist = tmp / "dist"
    subprocess.run(
        [str(ESBUILD), "src/main.js", "--bundle", "--minify", "--sourcemap",
         "--outfile=dist/assets/app.js"],
        cwd=tmp, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return dist


@pytest.fixture
def app_site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The built app on its own loopback origin: the pages of ``PAGES``, ``/assets/*`` from
    dist."""
    dist = _build(tmp_path)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            path = self.path.split("?")[0].split("#")[0]
            if path in PAGES:
                body, kind = PAGES[path].encode(), "text/html; charset=utf-8"
            elif path.startswith("/assets/") and (dist / path.lstrip("/")).is_file():
                body, kind = (dist / path.lstrip("/")).read_bytes(), "text/javascript"
            else:
                body, kind = b"not here", "text/plain"
                self.send_response(404)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            self.send_response(200)
            self.send_header("content-type", kind)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    port = free_port()
    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{port}", dist
    finally:
        httpd.shutdown()
        httpd.server_close()


PAGES: dict[str, str] = {}


def _page(sink: str, trace_id: str, release: str, bundle: str) -> str:
    return (
        "<!doctype html><html><head><title>shop</title>"
        f'<script src="{sink}/client.js" data-trace-id="{trace_id}" data-release="{release}"'
        ' data-flush-interval="50"></script></head>'
        f'<body><button id="pay">pay</button><script src="{bundle}"></script></body></html>'
    )


@pytest.fixture
def sink() -> Iterator[Service]:
    with serving() as service:
        yield service


def _throw(context: BrowserContext, site: str, path: str, sink: str, trace_id: str) -> str:
    """Open the page, click pay (the error is uncaught), and return the stored stack."""
    page = context.new_page()
    page.goto(site + path)
    page.click("#pay")
    entries = wait_for_trace(sink, trace_id, lambda es: any("stack" in e for e in es))
    page.close()
    return str(next(e for e in entries if "stack" in e)["stack"])


def _upload(sink: str, dist: Path, release: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tracesink", "sourcemaps", "upload", str(dist),
         "--release", release, "--url", sink],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def _frames(sink: str, trace_id: str) -> list[dict[str, Any]]:
    trace = httpx.get(f"{sink}/logs/{trace_id}", params={"resolve": "1"}).json()
    entry = next(e for e in trace["entries"] if "stack" in e)
    assert "resolved" in entry, entry
    assert entry["stack"].startswith("Error"), entry  # the raw stack stays
    return [f for f in entry["resolved"] if "line" in f]


def _originals(frames: list[dict[str, Any]]) -> list[tuple[str | None, str, int]]:
    found = []
    for frame in frames:
        original = frame.get("original")
        assert original is not None, frame
        file = next(s for _, s, _ in EXPECTED if original["file"].endswith(s))
        found.append((original["function"], file, original["line"]))
    return found


def test_a_minified_bundle_reads_as_its_source_through_api_viewer_and_terminal(
    sink: Service, app_site: tuple[str, Path], context: BrowserContext
) -> None:
    """Every frame of an error thrown three calls deep in an esbuild-minified bundle resolves,
    after ``tracesink sourcemaps upload``, to its original file, line and function, in the API,
    the viewer and ``tracesink logs``; loading the bundle with ``?v=123`` changes nothing; a
    trace of another release stays raw and says why; no ``.map`` is served by the service."""
    site, dist = app_site
    PAGES["/plain"] = _page(sink.url, "sm-plain", RELEASE, "/assets/app.js")
    PAGES["/query"] = _page(sink.url, "sm-query", RELEASE, "/assets/app.js?v=123#h")
    PAGES["/older"] = _page(sink.url, "sm-older", "shop@1.3.9", "/assets/app.js")
    raw = _throw(context, site, "/plain", sink.url, "sm-plain")
    assert "app.js:1:" in raw  # minified for real
    assert "levelThree" not in raw
    _throw(context, site, "/query", sink.url, "sm-query")
    _throw(context, site, "/older", sink.url, "sm-older")

    # Before the upload: the frames say why they stay as they are.
    before = _frames(sink.url, "sm-plain")
    assert all("no source map for ~/assets/app.js" in f["unresolved"] for f in before)

    uploaded = _upload(sink.url, dist, RELEASE)
    assert uploaded.returncode == 0, uploaded.stderr
    for trace_id in ("sm-plain", "sm-query"):
        frames = _frames(sink.url, trace_id)
        assert _originals(frames) == EXPECTED, frames
        assert frames[0]["original"]["context"].strip().startswith("throw new Error")

    older = _frames(sink.url, "sm-older")
    assert len(older) == len(EXPECTED)
    assert all(f["unresolved"] == "no source map for ~/assets/app.js in release shop@1.3.9"
               for f in older), older  # fmt: skip

    for path in ("/assets/app.js.map", "/app.js.map", "/client.js.map"):
        assert httpx.get(sink.url + path).status_code == 404, path

    shown = subprocess.run(
        [sys.executable, "-m", "tracesink", "logs", "sm-plain", "--url", sink.url],
        capture_output=True, text=True, timeout=60, check=True, env={**os.environ, "NO_COLOR": "1"},
    ).stdout  # fmt: skip
    assert f"release {RELEASE}" in shown
    for function, file, line in EXPECTED[:3]:
        assert f"at {function} (" in shown, shown
        assert f"{file}:{line}:" in shown, shown
    older_shown = subprocess.run(
        [sys.executable, "-m", "tracesink", "logs", "sm-older", "--url", sink.url],
        capture_output=True, text=True, timeout=60, check=True, env={**os.environ, "NO_COLOR": "1"},
    ).stdout  # fmt: skip
    assert "stack not resolved: no source map for ~/assets/app.js in release shop@1.3.9" in (
        older_shown
    )

    page = context.new_page()
    page.goto(f"{sink.url}/#/trace/sm-plain")
    row = page.locator("#entries li.entry", has_text="checkout failed")
    row.locator("summary").first.click()
    stack = row.locator('pre[aria-label="stack"]')
    for function, file, line in EXPECTED[:3]:
        assert f"at {function} (" in stack.inner_text()
        assert f"{file}:{line}:" in stack.inner_text()
    assert f"release {RELEASE}" in row.inner_text()
    page.goto(f"{sink.url}/#/trace/sm-older")  # another release: raw, and why
    older_row = page.locator("#entries li.entry", has_text="checkout failed")
    older_row.locator("summary").first.click()
    assert "at r (" in older_row.locator('pre[aria-label="stack"]').inner_text()
    assert "stack not resolved: no source map for ~/assets/app.js in release shop@1.3.9" in (
        older_row.inner_text()
    )
    page.goto(f"{sink.url}/#/trace/sm-plain")
    page.locator("#entries li.entry", has_text="checkout failed").locator("summary").first.click()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "sourcemaps.png"), full_page=True)
