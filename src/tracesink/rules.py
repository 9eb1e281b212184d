"""The rules both ingesters enforce, read once from ``rules.json``: typed constants for Python.

The defaults of the limits and sizes, the entry rules (fields, trace id pattern, levels and their
aliases), the error messages and the key layout are data in ``rules.json``, not code, because two
runtimes enforce them: this service and the edge Worker (JavaScript). Each used to keep its own
copy, and nothing noticed when one changed. The Worker cannot read a file at run time and its
test runners (node, workerd through Miniflare) disagree on importing JSON, so it imports a
generated ES module holding the same data, ``edge/src/rules.js``::

    python -m tracesink.edge_rules > edge/src/rules.js

tests/unit/test_rules.py fails while that copy differs from what this prints, and
tests/edge/test_rules_edge.py runs the Worker's own settings code under node and compares what it
uses with what this service uses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

RULES: Final[Mapping[str, Any]] = json.loads(
    resources.files("tracesink").joinpath("rules.json").read_text("utf-8")
)


def _without_about(table: Mapping[str, Any]) -> dict[str, Any]:
    """A table of the file without its ``about`` note (the file's only form of comment)."""
    return {name: value for name, value in table.items() if name != "about"}


@dataclass(frozen=True, slots=True)
class Defaults:
    """The defaults of the settings both ingesters read (``TRACESINK_*`` of the same names)."""

    global_limit: int
    trace_limit: int
    system_shares: Mapping[str, int]
    window_s: int
    ttl_s: int
    max_body_bytes: int
    max_message_bytes: int
    max_context_bytes: int
    max_context_depth: int
    max_batch_items: int
    cors_origins: tuple[str, ...]
    ingest_keys: Mapping[str, tuple[str, ...]]
    key_prefix: str
    max_commands_per_day: int
    read_reserve: int
    max_trace_entries: int


def _defaults(given: Mapping[str, Any]) -> Defaults:
    """The file's defaults, a JSON list as a tuple (the settings hold tuples)."""
    typed: dict[str, Any] = {
        name: tuple(value) if isinstance(value, list) else value for name, value in given.items()
    }
    return Defaults(**typed)


DEFAULTS: Final = _defaults(RULES["defaults"])

_KEYS = RULES["keys"]
KEY_PREFIX: Final = re.compile(_KEYS["prefix"])  # what TRACESINK_KEY_PREFIX may be
KEY_KINDS: Final[Mapping[str, str]] = dict(_KEYS["kinds"])  # name -> literal (store/keys.py)
SHARED_TAG: Final[str] = _KEYS["shared_tag"]
# A trace lives ttl to ttl + ttl/fraction after its last write (limits.Policy.expiry_slack_ms).
EXPIRY_SLACK_FRACTION: Final[int] = _KEYS["expiry_slack_fraction"]
# TRACESINK_MAX_TRACE_ENTRIES keeps room for the newest entry and the trimmed marker.
MIN_TRACE_ENTRIES: Final[int] = _KEYS["min_trace_entries"]
# TRACESINK_READ_RESERVE's largest value: ingest always keeps some of the budget.
MAX_READ_RESERVE: Final[int] = RULES["budget"]["max_read_reserve"]

_ENTRY = RULES["entry"]
# Field name -> the JSON types it takes, named as msgspec names them in its errors.
FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    name: tuple(types) for name, types in _without_about(_ENTRY["fields"]).items()
}
REQUIRED_FIELDS: Final[tuple[str, ...]] = tuple(_ENTRY["required"])
TRACE_ID: Final = re.compile(_ENTRY["trace_id"])
# A release names its source maps' keys (store/keys.py) and folder: no braces, spaces or slashes.
RELEASE: Final = re.compile(_ENTRY["release"])
SYSTEM_NAME: Final = re.compile(_ENTRY["system_name"])
MANUAL: Final[str] = _ENTRY["manual"]
LOG_LEVELS: Final[tuple[str, ...]] = tuple(_ENTRY["levels"])
LEVEL_ALIASES: Final[Mapping[str, str]] = dict(_ENTRY["level_aliases"])
NUMERIC_LEVELS: Final[tuple[tuple[int, str], ...]] = tuple(
    (threshold, level) for threshold, level in _ENTRY["numeric_levels"]
)
MAX_USER_ID_CHARS: Final[int] = _ENTRY["max_user_id_chars"]
MAX_TIMESTAMP_MS: Final[int] = _ENTRY["max_timestamp_ms"]
# A numeric timestamp below this is seconds (Python's time.time()), above it ms (Date.now()).
SECONDS_BELOW: Final[int] = _ENTRY["seconds_below"]

MESSAGES: Final[Mapping[str, str]] = dict(RULES["messages"])
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def message(name: str, /, **values: object) -> str:
    """Message ``name`` with its ``{placeholders}`` filled, exactly as the edge Worker's
    ``message`` (edge/src/messages.js) fills them: each by ``str`` of its value."""
    return _PLACEHOLDER.sub(lambda found: str(values[found.group(1)]), MESSAGES[name])


TRACE_ID_RULE: Final[str] = MESSAGES["trace_id"]
RELEASE_RULE: Final[str] = MESSAGES["release"]
SYSTEM_NAME_RULE: Final[str] = MESSAGES["system_name"]
