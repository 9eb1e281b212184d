"""The edge Worker's copy of write_batch.lua, ``edge/src/write_batch.js``, rendered from the text
the Python stores send (the script with its fragments written in, ``store/script_text.py``)::

    python -m tracesink.edge_script > edge/src/write_batch.js

The Worker cannot compose the fragments itself (a bundler imports a file's text, not its
includes), so it imports this generated module: an ES module whose one export is the script's text,
kept as a template literal so that the file reads as the Lua it holds. The Worker hashes it and
sends it as it is, so the SHA-1 its EVALSHA names is the Python stores'.
tests/unit/test_edge_script.py fails while edge/src/write_batch.js differs from what this prints.
"""

from __future__ import annotations

from tracesink.store.scripts import WRITE_BATCH

HEADER = """\
// Generated from src/tracesink/store/lua/write_batch.lua and the lib/ fragments it includes, by
// `python -m tracesink.edge_script > edge/src/write_batch.js`; do not edit: change the Lua and
// regenerate (tests/unit/test_edge_script.py fails while this is stale).
"""


def template_literal(text: str) -> str:
    """``text`` as a JavaScript template literal that evaluates to exactly ``text``: only the
    backslash, the backtick and ``${`` mean anything inside one."""
    escaped = text.replace("\\", "\\\\").replace("`", "\\`").replace("${", "\\${")
    return f"`{escaped}`"


def render() -> str:
    """edge/src/write_batch.js, whole."""
    return f"{HEADER}\nexport const WRITE_BATCH = {template_literal(WRITE_BATCH.text)};\n"


if __name__ == "__main__":
    print(render(), end="")
