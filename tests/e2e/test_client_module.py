"""client.mjs and client.d.mts outside the browser: a server-side render imports the module
harmlessly, the types check with tsc --strict, and the script stays small.

These need node (and ``npm ci`` for tsc and terser); without them they skip, except in CI, where
.ci/run installs them and a missing tool fails."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
STATIC = ROOT / "src" / "tracesink" / "static"
BIN = ROOT / "node_modules" / ".bin"
# The budget docs/browser.md states: client.js minified by terser, then gzipped.
MINIFIED_GZIP_BUDGET = 5 * 1024

pytestmark = pytest.mark.slow


def _tool(path: str | None, what: str) -> str:
    if path is None or not os.path.exists(path):
        # in CI a skip fails the run (tests/conftest.py)
        pytest.skip(f"{what} is missing (apt-get install nodejs npm; npm ci; .ci/run does)")
    return path


def test_importing_the_module_on_a_server_does_nothing_and_throws_nothing() -> None:
    """A Next.js layout is rendered on the server too: there, importing client.mjs and calling
    init() must neither throw nor touch anything, and the trace id is null."""
    node = _tool(shutil.which("node"), "node")
    script = (
        f"const m = await import({json.dumps((STATIC / 'client.mjs').as_uri())});"
        "const client = m.init({endpoint: 'http://localhost:8787'});"
        "await m.flush();"
        "console.log(JSON.stringify([m.getTraceId(), client === m.default, typeof fetch]));"
    )
    result = subprocess.run(
        [node, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [None, True, "function"]


def test_the_types_describe_what_a_bundling_app_writes() -> None:
    """tests/types/client_usage.ts (init with every option kind, the trace id, flush, the
    global) type-checks under --strict against client.d.mts, and misuse is an error."""
    tsc = _tool(str(BIN / "tsc"), "tsc")
    result = subprocess.run(
        [tsc, "-p", str(ROOT / "tests" / "types")], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_script_stays_small() -> None:
    """client.js minified (terser -c -m) and gzipped stays within docs/browser.md's 5 KiB."""
    terser = _tool(str(BIN / "terser"), "terser")
    source = STATIC / "client.js"
    minified = subprocess.run(
        [terser, str(source), "-c", "-m"], capture_output=True, check=True, timeout=60
    ).stdout
    size = len(gzip.compress(minified, 9))
    print(f"client.js: {source.stat().st_size} B, minified {len(minified)} B, gzip {size} B")
    assert size <= MINIFIED_GZIP_BUDGET
