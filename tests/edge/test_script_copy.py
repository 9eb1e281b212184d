"""The Worker's script module (edge/src/write_batch.js), evaluated by JavaScript itself, is the
Python stores' script text: the SHA-1 node computes is scripts.WRITE_BATCH.sha."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tracesink.edge_script import template_literal
from tracesink.store.scripts import WRITE_BATCH

pytestmark = pytest.mark.usefixtures("node_ready")
MODULE = Path(__file__).parents[2] / "edge" / "src" / "write_batch.js"
# Prints the module's WRITE_BATCH as JSON, with the SHA-1 of its UTF-8 bytes.
READ = """
import { createHash } from "node:crypto";
const { WRITE_BATCH } = await import(process.argv[1]);
const sha = createHash("sha1").update(WRITE_BATCH, "utf8").digest("hex");
process.stdout.write(JSON.stringify({ text: WRITE_BATCH, sha }));
"""


def read_in_node(module: Path) -> dict[str, str]:
    ran = subprocess.run(
        ["node", "--input-type=module", "-e", READ, module.as_uri()],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    read: dict[str, str] = json.loads(ran.stdout)
    return read


def test_the_workers_script_has_the_python_stores_sha() -> None:
    assert read_in_node(MODULE) == {"text": WRITE_BATCH.text, "sha": WRITE_BATCH.sha}


def test_a_template_literal_reads_back_as_the_text(tmp_path: Path) -> None:
    """Text holding every character a template literal treats specially reads back unchanged."""
    text = "a\\b `c` ${d} \\${e} $ { } \\` é\n\tend"
    module = tmp_path / "text.mjs"
    module.write_text(f"export const WRITE_BATCH = {template_literal(text)};\n", "utf-8")
    assert read_in_node(module)["text"] == text
