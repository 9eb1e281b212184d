"""The shared vocabulary: log levels, systems, and the entry every layer below the routes handles.

Two kinds of "level" exist and are kept apart by name: ``LOG_LEVELS`` are an entry's severities,
``LIMIT_LEVELS`` the three rate-limit levels (in ``limits.py``).
"""

from __future__ import annotations

import msgspec

from tracesink.rules import (
    DEFAULTS,
    LEVEL_ALIASES,
    LOG_LEVELS,
    MANUAL,
    NUMERIC_LEVELS,
    SYSTEM_NAME,
    SYSTEM_NAME_RULE,
)

# The levels, their aliases and the system names are in rules.json (shared with the edge
# Worker). Aliases are accepted and stored under the level they mean: `debug` is `log` because
# browsers print console.debug as a verbose console.log, and the wire contract keeps four levels;
# the others are what Python's logging, syslog-style loggers and OpenTelemetry name their levels.
# Numeric levels are Python's logging numbers (DEBUG 10, INFO 20, WARNING 30, ERROR 40,
# CRITICAL 50): a number at or above a threshold takes that level. A system's name is what
# X-Log-System and an entry's `system` say, part of a limit counter's field; `manual` is the
# system of an entry no rule recognised, with no share of its own.
DEFAULT_SYSTEM_SHARES = DEFAULTS.system_shares

__all__ = [
    "DEFAULT_SYSTEM_SHARES",
    "LEVEL_ALIASES",
    "LOG_LEVELS",
    "MANUAL",
    "NUMERIC_LEVELS",
    "SYSTEM_NAME",
    "SYSTEM_NAME_RULE",
    "PreparedEntry",
]


# A msgspec Struct, not a dataclass: one is built per entry, and a Struct's __init__ runs in C
# (~0.15 against ~0.37 us for a slots dataclass; issue 27). Not frozen, though nothing changes one
# after it is built, for the same reason (issue 10). ``gc=False``: it holds strings and bytes
# only, so it is never part of a reference cycle and the collector need not track it.
class PreparedEntry(msgspec.Struct, gc=False):
    """A validated entry: what the limits need to know plus the JSON stored in the trace's list.

    ``system`` is the system the entry is counted as (a configured one, or ``manual``); the
    label the client sent is kept in ``payload``.
    """

    id: str
    trace_id: str
    system: str
    payload: bytes
    unknown_system: str | None = None  # the label sent, when it is no configured system
