"""The shared vocabulary: log levels, systems, and the entry every layer below the routes handles.

Two kinds of "level" exist and are kept apart by name: ``LOG_LEVELS`` are an entry's severities,
``LIMIT_LEVELS`` the three rate-limit levels (in ``limits.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LOG_LEVELS = ("log", "info", "warn", "error")
# Accepted and stored under the level they mean. `debug` is `log` because browsers print
# console.debug as a verbose console.log, and the wire contract keeps four levels; the others are
# what Python's logging, syslog-style loggers and OpenTelemetry name their levels.
LEVEL_ALIASES = {
    "debug": "log",
    "trace": "log",
    "notset": "log",
    "warning": "warn",
    "critical": "error",
    "fatal": "error",
}
# Numeric levels as Python's logging numbers them (DEBUG 10, INFO 20, WARNING 30, ERROR 40,
# CRITICAL 50): a number at or above a threshold takes that level.
NUMERIC_LEVELS = ((40, "error"), (30, "warn"), (20, "info"), (0, "log"))

# A system's name: what X-Log-System and an entry's `system` say, part of a limit counter's field.
SYSTEM_NAME = re.compile(r"[a-z][a-z0-9_.-]{0,31}")
SYSTEM_NAME_RULE = "a-z, 0-9, '_', '.', '-', starting with a letter, at most 32 characters"
MANUAL = "manual"  # the system of an entry no rule recognised; it has no share of its own
DEFAULT_SYSTEM_SHARES = {"browser": 40, "worker": 30, "convex": 30}


# Not frozen, though nothing changes one after it is built: a frozen dataclass's __init__ sets
# each field through object.__setattr__, ~3x the cost, and one is built per entry (issue 10).
@dataclass(slots=True)
class PreparedEntry:
    """A validated entry: what the limits need to know plus the JSON stored in the trace's list.

    ``system`` is the system the entry is counted as (a configured one, or ``manual``); the
    label the client sent is kept in ``payload``.
    """

    id: str
    trace_id: str
    system: str
    payload: bytes
    unknown_system: str | None = None  # the label sent, when it is no configured system
