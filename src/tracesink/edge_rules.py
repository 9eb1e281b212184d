"""The edge Worker's copy of the rules file, ``edge/src/rules.js``, rendered from ``rules.json``::

    python -m tracesink.edge_rules > edge/src/rules.js

A module of its own (not ``python -m tracesink.rules``): the package imports ``tracesink.rules``
on its way in, and running an imported module as ``__main__`` runs it twice.
tests/unit/test_rules.py fails while edge/src/rules.js differs from what this prints.
"""

from __future__ import annotations

import json

from tracesink.rules import RULES

HEADER = """\
// Generated from src/tracesink/rules.json by `python -m tracesink.edge_rules > edge/src/rules.js`;
// do not edit: change rules.json and regenerate (tests/unit/test_rules.py fails while stale).
"""


def render() -> str:
    """edge/src/rules.js, whole: the rules file as an ES module the Worker imports."""
    data = json.dumps(RULES, indent=2, ensure_ascii=False)
    return f"{HEADER}\nexport const RULES = {data};\n"


if __name__ == "__main__":
    print(render(), end="")
