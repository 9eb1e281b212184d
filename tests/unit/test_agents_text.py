"""The MCP tools' pure parts: what ``since`` means, how an entry is folded to text, and where a
page starts from its cursor (agents/since.py, agents/render.py, agents/tools.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tracesink.agents.render import cut, entry_text, fold_stack, relative
from tracesink.agents.since import since_id
from tracesink.agents.tools import _start, filter_params
from tracesink.errors import ValidationError

NOW_MS = 1_700_000_000_000


@pytest.mark.parametrize(
    ("since", "back_ms"),
    [("15m", 900_000), ("30s", 30_000), ("2h", 7_200_000), ("1.5h", 5_400_000)],
)
def test_a_window_is_the_id_prefix_of_that_moment(since: str, back_ms: int) -> None:
    """A window back from now is the 12-hex-digit millisecond prefix entry ids start with."""
    assert since_id(since, NOW_MS) == f"{NOW_MS - back_ms:012x}"


def test_an_entry_id_is_kept_and_all_means_no_cursor() -> None:
    """An entry id is a cursor as it is; "all" and "" ask for everything the store holds."""
    entry_id = "018bcfe56800" + "0" * 16
    assert since_id(entry_id, NOW_MS) == entry_id
    assert since_id("all", NOW_MS) is None
    assert since_id("", NOW_MS) is None


def test_a_bad_since_names_the_field_and_the_forms() -> None:
    """Anything else is refused naming ``since`` and what it accepts."""
    with pytest.raises(ValidationError, match="since must be a window") as refused:
        since_id("yesterday", NOW_MS)
    assert refused.value.field == "since"


def test_a_stack_keeps_its_own_frames_and_counts_the_libraries() -> None:
    """The first line and the application's frames stay; library frames are counted, not shown."""
    stack = "Error: x\n  at a (app.js:1:1)\n  at b (node_modules/lib/i.js:2:2)\n  at c (app.js:3:3)"
    assert fold_stack(stack) == [
        "Error: x",
        "at a (app.js:1:1)",
        "at c (app.js:3:3)",
        "(+1 frames: libraries or deeper)",
    ]


def test_an_entry_is_one_line_with_its_folds_beneath() -> None:
    """Relative time, system, level (ERROR stands out), message on one line; context beneath,
    cut with a note of how much was cut."""
    entry = {"system": "worker", "level": "error", "message": "a\nb", "context": {"k": "v" * 900}}
    text = entry_text(entry, relative(NOW_MS + 123, NOW_MS))
    head, context = text.split("\n")
    assert head == "+0.123s worker ERROR a b"
    assert context.startswith('    context: {"k":"vvv')
    assert context.endswith("(+508 chars)")
    assert cut("abc", 3) == "abc"


def test_a_page_starts_after_its_cursor_even_once_that_entry_is_gone() -> None:
    """The cursor is the last entry shown: the next page starts after it; when it was trimmed
    away since, after the last entry whose id is not above it."""
    items: list[dict[str, Any]] = [
        {"kind": "trimmed", "count": 3},
        {"id": "0a"},
        {"id": "0c"},
        {"id": "0e"},
    ]
    assert _start(items, None) == 0
    assert _start(items, "0c") == 3
    assert _start(items, "0b") == 2
    assert _start(items, "0f") == 4


def test_filters_become_the_read_routes_parameters() -> None:
    """level, a comma-separated system list (spaces dropped) and text become level, system, q."""
    assert filter_params("warn", "browser, worker", "timeout") == {
        "level": "warn",
        "system": "browser,worker",
        "q": "timeout",
    }
    assert filter_params(None, None, None) == {}


def test_a_stack_that_repeats_the_message_starts_at_its_frames() -> None:
    """A stack's first line is usually the message: said once, on the entry's line."""
    entry = {
        "system": "convex",
        "level": "error",
        "message": "TypeError: x",
        "stack": "TypeError: x\n  at f (a.ts:1:1)",
    }
    assert entry_text(entry, "+0.000s") == "+0.000s convex ERROR TypeError: x\n    at f (a.ts:1:1)"


def test_a_source_mapped_stack_is_shown_in_its_original_frames() -> None:
    """An entry read with `resolve=1` whose stack went through its release's maps shows the
    release and the original file, line, function and source line, not the minified frames;
    a stack whose frames did not resolve stays raw."""
    resolved = [
        {
            "function": "e",
            "original": {
                "file": "src/cart.ts",
                "line": 12,
                "column": 5,
                "function": "totalOf",
                "context": "  throw new Error('empty cart')",
            },
        }
    ]
    entry = {
        "system": "browser",
        "level": "error",
        "message": "Error: empty cart",
        "release": "web@1.2.3",
        "stack": "Error: empty cart\n    at e (https://shop.example/app-3f9c.js:1:48213)",
        "resolved": resolved,
    }
    text = entry_text(entry, "+0.000s")
    assert "    release: web@1.2.3" in text
    assert "at totalOf (src/cart.ts:12:5)" in text
    assert "throw new Error('empty cart')" in text
    assert "app-3f9c.js" not in text
    unresolved = {**entry, "resolved": [{"function": "e", "unresolved": "no map for the file"}]}
    assert "app-3f9c.js:1:48213" in entry_text(unresolved, "+0.000s")
