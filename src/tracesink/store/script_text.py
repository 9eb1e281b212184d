"""A Lua script's text as Redis runs it: its file with the fragments it includes written in.

Redis scripts cannot ``require`` (a script is one chunk of text, identified by its SHA-1), so the
Lua that several scripts share lives in fragments, ``store/lua/lib/<name>.lua``, and a script
names each one it needs on a line of its own::

    --#include lib/counters.lua

``compose`` writes each fragment's text in place of its line. That is all the mechanism there is:
textual, one level (a fragment includes nothing; one that needs another says so in its header,
and the script includes both, in order), each fragment at most once per script. ``LuaScript.load``
composes once, at import, so what ``SCRIPT LOAD`` sends and the SHA-1 every ``EVALSHA`` names are
the composed text's, and a call costs what it did before the fragments existed. The edge Worker
sends the same text (``python -m tracesink.edge_script``, edge/src/write_batch.js).

A fragment declares only ``local`` functions and constants at its top level (Redis refuses
globals); they count towards the 200 locals one Lua function may hold, the script's main chunk
included, which the scripts stay far below.
"""

from __future__ import annotations

import re
from collections.abc import Callable

INCLUDE = re.compile(r"--#include\s*(\S*)")
FRAGMENT = re.compile(r"lib/[a-z][a-z0-9_]*\.lua")


def compose(name: str, text: str, fragment: Callable[[str], str]) -> str:
    """``text`` (the script ``name``) with each ``--#include lib/<name>.lua`` line replaced by
    ``fragment(path)``, the fragment's text. A malformed, repeated or nested include is a
    ``ValueError`` naming the script, the line and the path: a packaging mistake, found when
    the script is loaded, never a Lua error at the first call."""
    lines = text.splitlines(keepends=True)
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        found = INCLUDE.fullmatch(line.rstrip("\n"))
        if found is None:
            if line.lstrip().startswith("--#"):
                raise ValueError(f"{name}.lua line {number}: unknown directive {line.strip()!r}")
            continue
        path = found.group(1)
        where = f"{name}.lua line {number}"
        if not FRAGMENT.fullmatch(path):
            raise ValueError(f"{where}: an include names lib/<name>.lua, not {path!r}")
        if path in seen:
            raise ValueError(f"{where}: {path} is included twice")
        seen.add(path)
        included = fragment(path)
        if any(INCLUDE.match(inner.lstrip()) for inner in included.splitlines()):
            raise ValueError(f"{where}: {path} includes another fragment; only scripts include")
        lines[number - 1] = included if included.endswith("\n") else included + "\n"
    return "".join(lines)
