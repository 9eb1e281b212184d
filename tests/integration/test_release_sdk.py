"""The JS SDK under real Node sends its ``release`` option with every entry, and a real
service keeps it: what picks a stack's source maps when the trace is read."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support.service import serving

SDK = Path(__file__).parents[2] / "src" / "tracesink" / "static" / "sdk.mjs"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed"),
]

SCRIPT = """
import { createLogger } from "%s";
const log = createLogger({
  endpoint: process.argv[1], traceId: "js-release", release: "api@2.0.1",
});
log.info("started");
log.error("failed", new Error("boom"));
const done = await log.flush();
if (done.sent !== 2) throw new Error("not sent: " + JSON.stringify(done));
"""


def test_the_sdk_sends_its_release_with_every_entry() -> None:
    """createLogger({release}) stores ``release`` on each entry, the stack beside it."""
    with serving() as sink:
        subprocess.run(
            ["node", "--input-type=module", "-e", SCRIPT % SDK.as_uri(), sink.url],
            check=True,
            capture_output=True,
            timeout=60,
        )
        stored = httpx.get(f"{sink.url}/logs/js-release").json()["entries"]
    assert [e["release"] for e in stored] == ["api@2.0.1", "api@2.0.1"]
    assert "Error: boom" in stored[1]["stack"]
