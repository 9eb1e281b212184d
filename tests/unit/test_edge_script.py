"""The edge Worker's copy of write_batch.lua (edge/src/write_batch.js) is exactly what
`python -m tracesink.edge_script` generates from the text the Python stores send.
tests/edge/test_worker.py proves the Worker sends it (same SHA-1 in Redis)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tracesink import edge_script

EDGE_COPY = Path(__file__).parents[2] / "edge" / "src" / "write_batch.js"


def test_the_edge_workers_copy_is_what_the_script_generates() -> None:
    """A change to write_batch.lua or a fragment it includes without regenerating the Worker's
    copy fails here, with the command that regenerates it."""
    assert EDGE_COPY.read_text("utf-8") == edge_script.render(), (
        "edge/src/write_batch.js is stale: run "
        "`python -m tracesink.edge_script > edge/src/write_batch.js`"
    )
    printed = subprocess.run(
        [sys.executable, "-m", "tracesink.edge_script"], capture_output=True, text=True, check=True
    ).stdout
    assert printed == EDGE_COPY.read_text("utf-8")


def test_a_template_literal_escapes_what_javascript_would_read() -> None:
    """Backslashes, backticks and ${ are escaped, nothing else: the literal's lines are the
    script's lines."""
    assert edge_script.template_literal("a\\n `b` ${c} $d {e}\n") == (
        "`a\\\\n \\`b\\` \\${c} $d {e}\n`"
    )
