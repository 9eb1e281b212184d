"""A ``logging.LogRecord`` as one JSON line of tracesink's wire contract.

The message is ``record.getMessage()``; the level its number (the sink maps Python's numbers,
``CRITICAL`` included, and ``levelname`` stays in ``context``); the logger's name and every
``extra`` field are ``context``; an exception (or ``stack_info``) is the ``stack``. A
``trace_id``, ``system`` or ``user_id`` given in ``extra`` is that field of the entry.
"""

from __future__ import annotations

import json
import logging
from typing import Any

# Attributes every LogRecord has: whatever else a record holds came from `extra`.
RECORD_ATTRS = frozenset(
    vars(logging.LogRecord("n", logging.INFO, "p", 1, "m", None, None, "f", "s"))
) | {"message", "asctime", "taskName"}
ENTRY_FIELDS = ("trace_id", "system", "user_id")
_FORMATTER = logging.Formatter()
# Built once: json.dumps with options builds a new encoder on every call.
_ENCODE = json.JSONEncoder(default=repr, allow_nan=False, separators=(",", ":")).encode
_ENCODE_LENIENT = json.JSONEncoder(default=repr, separators=(",", ":")).encode


def encode_record(record: logging.LogRecord, trace_id: str) -> bytes:
    """``record`` as one JSON line, in trace ``trace_id``; never raises for odd ``extra``."""
    try:
        message = record.getMessage()
    except Exception:  # a bad format string or arguments: send what was given
        message = f"{record.msg!r} {record.args!r}"
    context: dict[str, Any] = {"logger": record.name, "levelname": record.levelname}
    for name, value in record.__dict__.items():
        if name not in RECORD_ATTRS and name not in ENTRY_FIELDS:
            context[name] = value
    entry: dict[str, Any] = {
        "trace_id": trace_id,
        "level": record.levelno,
        "message": message,
        "timestamp": record.created,
        "context": context,
    }
    for name in ("system", "user_id"):
        if (value := getattr(record, name, None)) is not None:
            entry[name] = value
    stack = []
    if record.exc_info:
        stack.append(_FORMATTER.formatException(record.exc_info))
    elif record.exc_text:
        stack.append(record.exc_text)
    if record.stack_info:
        stack.append(record.stack_info)
    if stack:
        entry["stack"] = "\n".join(stack)
    try:
        return _ENCODE(entry).encode()
    except ValueError:  # NaN or infinity somewhere in `extra`
        entry["context"] = {name: repr(value) for name, value in context.items()}
        return _ENCODE_LENIENT(entry).encode()
