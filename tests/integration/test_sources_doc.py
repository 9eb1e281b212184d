"""docs/sources.md's copy-paste commands, run as written against a real `tracesink serve`:
the hand-signed Convex delivery and the system shares that give `python` its own."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support.service import entries_if_any, serving

pytestmark = pytest.mark.slow
SOURCES = Path(__file__).parents[2] / "docs" / "sources.md"
DOC_URL = "URL=http://127.0.0.1:8787"
SECRET = "a-hand-signing-secret-0123456789"  # noqa: S105 - a test credential


def shell_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", SOURCES.read_text(), re.S)


@pytest.mark.skipif(
    not (shutil.which("openssl") and shutil.which("curl")), reason="needs openssl and curl"
)
def test_the_hand_signed_delivery_of_the_docs_is_accepted_as_they_say() -> None:
    """The documented commands (bash, openssl, curl) sign a delivery that tracesink accepts
    with the secret in TRACESINK_CONVEX_WEBHOOK_SECRET, and print the answer the docs show;
    the line lands in the trace its tag names. With another secret, the same commands get a
    401: the signature is really checked."""
    [block] = [b for b in shell_blocks() if "x-webhook-signature" in b]
    assert DOC_URL in block
    shown = json.loads(block.strip().splitlines()[-1].lstrip("# "))
    with serving({"TRACESINK_CONVEX_WEBHOOK_SECRET": SECRET}) as sink:
        script = block.replace(DOC_URL, f"URL={sink.url}")

        def run(secret: str) -> str:
            env = {**os.environ, "TRACESINK_CONVEX_WEBHOOK_SECRET": secret}
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", script],
                env=env,
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert done.returncode == 0, done.stderr
            return done.stdout

        assert json.loads(run("x" * 20))["success"] is False
        assert json.loads(run(SECRET)) == shown
        [entry] = entries_if_any(sink, "webhook-check")
        assert entry["message"] == "hello from a hand-signed delivery"


def test_the_documented_system_shares_start_and_give_python_a_share() -> None:
    """The TRACESINK_SYSTEM_SHARES the docs give for a python share is accepted at start-up
    (the shares add up to 100 at most) and python entries are counted as python."""
    [shares] = re.findall(r"TRACESINK_SYSTEM_SHARES=(\S+) tracesink serve", SOURCES.read_text())
    assert "python=" in shares
    with serving({"TRACESINK_SYSTEM_SHARES": shares}) as sink:
        sent = httpx.post(
            f"{sink.url}/log", json={"trace_id": "py-share", "message": "m", "system": "python"}
        )
        assert sent.status_code == 200, sent.text
        [entry] = entries_if_any(sink, "py-share")
    assert entry["system"] == "python"
    assert "counted_as" not in entry
