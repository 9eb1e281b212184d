"""The viewer's own files as tracesink serves them: the page, its ES modules and stylesheet
(always revalidated, so a page and its modules are one version), and the favicon."""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

from tests.conftest import AppClient
from tracesink.app.viewer_routes import VIEWER_ASSETS

VIEWER = resources.files("tracesink").joinpath("static", "viewer")
HTML = {"Accept": "text/html"}


async def test_every_module_the_viewer_imports_is_served(sink: AppClient) -> None:
    """Each ``import … from "./x.js"`` in the viewer's modules names a served path, and each
    served module is JavaScript with a strong ETag and ``no-cache``; a matching If-None-Match
    is a 304 without a body."""
    page = (await sink.http.get("/", headers=HTML)).text
    wanted = set(re.findall(r'src="(/viewer/[^"]+)"|href="(/viewer/[^"]+)"', page))
    paths = {a or b for a, b in wanted}
    for path in list(paths):
        if path.endswith(".js"):
            source = VIEWER.joinpath(path.removeprefix("/viewer/")).read_text(encoding="utf-8")
            paths |= {f"/viewer/{m}" for m in re.findall(r'from "\./([^"]+)"', source)}
    assert paths <= set(VIEWER_ASSETS)
    assert {"/viewer/viewer.js", "/viewer/trace-view.js", "/viewer/viewer.css"} <= paths
    for path in sorted(VIEWER_ASSETS):
        answer = await sink.http.get(path)
        assert answer.status_code == 200
        expected = "text/css" if path.endswith(".css") else "text/javascript"
        assert answer.headers["content-type"].startswith(expected)
        assert answer.headers["cache-control"] == "no-cache"
        name = path.removeprefix("/viewer/")
        assert answer.content == VIEWER.joinpath(name).read_bytes()
        again = await sink.http.get(path, headers={"If-None-Match": answer.headers["etag"]})
        assert again.status_code == 304
        assert again.content == b""


async def test_every_module_is_reached_from_the_page(sink: AppClient) -> None:
    """No served module is dead weight: each is imported by another or loaded by the page."""
    sources = " ".join(
        VIEWER.joinpath(p.removeprefix("/viewer/")).read_text(encoding="utf-8")
        for p in VIEWER_ASSETS
        if p.endswith(".js")
    )
    page = (await sink.http.get("/", headers=HTML)).text
    for path in VIEWER_ASSETS:
        name = path.removeprefix("/viewer/")
        assert f'"./{name}"' in sources or f'"{path}"' in page, name


async def test_the_favicon_is_a_small_icon(sink: AppClient) -> None:
    """/favicon.ico answers with an ICO (never a 404 in a browser's console), cacheable."""
    answer = await sink.http.get("/favicon.ico")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/x-icon"
    assert answer.content.startswith(b"\x00\x00\x01\x00")
    assert len(answer.content) < 1024
    assert "max-age" in answer.headers["cache-control"]


async def test_the_page_says_whether_sending_needs_an_ingest_key(make_app: Any) -> None:
    """The page tells its script whether ingest keys are configured (for the curl of the empty
    list), never which key."""
    open_app: AppClient = await make_app()
    page = (await open_app.http.get("/", headers=HTML)).text
    assert 'data-ingest-key-required="false"' in page
    keyed: AppClient = await make_app(ingest_keys={"pk_secretish": ("*",)})
    page = (await keyed.http.get("/", headers=HTML)).text
    assert 'data-ingest-key-required="true"' in page
    assert "pk_secretish" not in page
