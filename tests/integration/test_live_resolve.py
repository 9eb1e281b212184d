"""Live streams resolve stacks as reads do: ``?resolve=1`` on a real ``tracesink serve`` (what the
viewer and ``tracesink tail`` ask for), after a build's maps went up with ``tracesink sourcemaps
upload``; without it, entries go out as stored."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.live import reading
from tests.support.service import Service, serving
from tests.support.sourcemap_bundle import MAP, STACK

pytestmark = pytest.mark.slow
RELEASE = "web-7"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    build = tmp_path_factory.mktemp("dist")
    (build / "assets").mkdir()
    (build / "assets" / "app.js").write_text(
        'function r(){throw new Error("x")}function o(){r()}o();'
    )
    (build / "assets" / "app.js.map").write_bytes(MAP)
    with serving() as running:
        upload = [sys.executable, "-m", "tracesink", "sourcemaps", "upload", str(build)]
        subprocess.run(
            [*upload, "--release", RELEASE, "--url", running.url], check=True, timeout=60
        )
        yield running


def post_stack(service: Service, trace_id: str) -> None:
    entry = {"trace_id": trace_id, "message": "boom", "stack": STACK, "release": RELEASE}
    assert httpx.post(f"{service.url}/log", json=entry, timeout=10).status_code == 200


def originals(entry: dict[str, Any]) -> list[tuple[str, int, str]]:
    return [
        (f["original"]["file"], f["original"]["line"], f["original"]["function"])
        for f in entry.get("resolved", [])
        if "original" in f
    ]


# The outermost resolved frame keeps its minified name: no caller names it (test_routes.py).
RESOLVED = [("../src/util.js", 2, "levelThree"), ("../src/util.js", 5, "o")]


def test_a_trace_stream_resolves_replayed_and_new_stacks(service: Service) -> None:
    post_stack(service, "live-resolve")
    with reading(f"{service.url}/logs/live-resolve/live?resolve=1") as live:
        (replayed,) = live.until_ready()
        assert originals(replayed) == RESOLVED
        assert replayed["stack"] == STACK  # the raw stack stays beside its frames
        post_stack(service, "live-resolve")
        assert originals(live.next_entry()) == RESOLVED


def test_the_every_trace_stream_resolves_too_and_only_when_asked(service: Service) -> None:
    with (
        reading(f"{service.url}/live?resolve=1") as resolving,
        reading(f"{service.url}/live") as raw,
    ):
        resolving.until_ready()
        raw.until_ready()
        post_stack(service, "live-resolve-all")
        assert originals(resolving.next_entry()) == RESOLVED
        plain = raw.next_entry()
        assert "resolved" not in plain
        assert plain["stack"] == STACK
