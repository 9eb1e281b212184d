"""The standard library's ``logging.handlers.HTTPHandler`` body: a form-encoded ``LogRecord``.

``HTTPHandler(host, "/log", method="POST")`` sends ``urlencode(record.__dict__)``: every attribute
of the record as text, ``args`` as the ``repr`` of its tuple, absent values as ``"None"``. This
module turns that back into an ``IncomingEntry``: the level from ``levelno``, the message as
``msg % args`` (the arguments read back with ``ast.literal_eval``, never evaluated), the exception
text as ``stack``, the logger's name and any ``extra`` fields as ``context``. A ``trace_id`` (and
``system``, ``user_id``) given in ``extra`` arrive as fields of their own.

The body is untrusted text, so rendering it costs no more than its size allows: the arguments
are read back only when that is cheap (MAX_ARGS_CHARS), and formatted by ``ingest/printf.py``,
which caps every width and precision and stops past the longest message kept; where ``%`` would
fail, the message is the text as sent with its arguments beside it. Nothing but a 400 is raised.
"""

from __future__ import annotations

import ast
import contextlib
import logging
import re
from typing import Any
from urllib.parse import parse_qs

import msgspec

from tracesink.errors import ValidationError
from tracesink.ingest.model import IncomingEntry
from tracesink.ingest.printf import format_bounded, valid_text

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
# Attributes every LogRecord has (3.11 to 3.13): whatever else the form holds came from `extra`.
_RECORD_FIELDS = frozenset(
    vars(logging.LogRecord("n", logging.INFO, "p", 1, "m", None, None, "f", "s"))
) | {"message", "asctime", "taskName"}
# Fields of an entry that `extra` may set directly rather than as context.
_ENTRY_FIELDS = ("trace_id", "system", "user_id")
_MAX_FIELDS = 200  # a LogRecord has ~25; more is not a log record
_encode = msgspec.json.Encoder().encode
_NOT_READ = object()
# ast.literal_eval costs ~1 µs per token (measured: 1 MB of "1," took 1 s and 488 MB): arguments
# are read back when their repr is short (4 KiB: 2.5 ms at worst, a tuple of 2,000 ints) or is one
# string, the usual long argument (one token: ~5 ms per MB); others are kept as text, as sent.
MAX_ARGS_CHARS = 4096
_ONE_STRING = re.compile(
    r"""\(\s*[bBrRuU]{0,2}(?:'(?:[^'\\\n]++|\\.)*+'|"(?:[^"\\\n]++|\\.)*+")\s*,\s*\)""", re.S
)
# str(record.exc_info) when no formatter filled exc_text: "(<class 'T'>, T('why'), <traceback …>)".
_EXC_INFO = re.compile(r"\(<class '([^']+)'>, (.*), <traceback object at 0x[0-9a-fA-F]+>\)", re.S)


def is_form(content_type: str | None, body: bytes) -> bool:
    """A form-encoded log record: said by its Content-Type, and not a JSON object (which is what
    `curl -d '{...}'` sends under the form Content-Type curl sets by default)."""
    declared = (content_type or "").split(";")[0].strip().lower() == FORM_CONTENT_TYPE
    return declared and not body.lstrip().startswith(b"{")


def _present(value: str | None) -> str | None:
    return None if value is None or value == "None" else value


def _stack(form: dict[str, str]) -> str | None:
    """The formatted traceback when a formatter made one; else the exception's type and value."""
    text = _present(form.get("exc_text")) or _present(form.get("stack_info"))
    if text is not None:
        return text
    found = _EXC_INFO.fullmatch(form.get("exc_info", ""))
    return f"{found.group(1)}: {found.group(2)}" if found else None


def _arguments(args: str) -> Any:
    """The arguments a repr spells, read as literals (never evaluated); _NOT_READ when they are
    malformed, no literal, or too long to read cheaply."""
    if len(args) > MAX_ARGS_CHARS and _ONE_STRING.fullmatch(args) is None:
        return _NOT_READ
    try:
        return ast.literal_eval(args)  # literals only: never runs anything
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _NOT_READ


def _message(msg: str, args: str | None, limit: int) -> str:
    """``msg % args`` as logging would have rendered it, bounded (longer than ``limit`` only
    when cut short: the caller truncates it); the text as sent when that fails."""
    if args is None or args == "()":
        return msg
    values = _arguments(args)
    if values is _NOT_READ:
        return f"{msg} {args}"
    if not values:  # LogRecord.getMessage formats only when there are arguments
        return valid_text(msg)
    formatted = format_bounded(msg, values, limit)
    return f"{msg} {args}" if formatted is None else formatted


def entry_from_form(body: bytes, max_message_chars: int) -> IncomingEntry:
    """The entry a form-encoded ``LogRecord`` describes; ValidationError naming what is missing.

    ``max_message_chars``: formatting stops once the message is longer (it is truncated there)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError("body is not valid UTF-8", field="body") from None
    try:
        parsed = parse_qs(text, keep_blank_values=True, max_num_fields=_MAX_FIELDS)
    except ValueError:
        raise ValidationError(
            f"a form body holds at most {_MAX_FIELDS} fields", field="body"
        ) from None
    form = {name: values[0] for name, values in parsed.items()}
    msg = form.get("msg")
    if msg is None:
        raise ValidationError(
            "a form-encoded entry needs msg (what logging.handlers.HTTPHandler sends)", field="msg"
        )
    level: str | int = "log"
    levelno = form.get("levelno", "")
    # ASCII digits only ("²".isdigit() too), few enough for int() (past 4,300 it raises)
    if levelno.isascii() and levelno.isdigit() and len(levelno) <= 9:
        level = int(levelno)
    elif (levelname := _present(form.get("levelname"))) is not None:
        level = levelname
    stack = _stack(form)
    context: dict[str, Any] = {}
    if (name := _present(form.get("name"))) is not None:
        context["logger"] = name
    for key, value in form.items():
        if key not in _RECORD_FIELDS and key not in _ENTRY_FIELDS:
            context[key] = value
    timestamp: float | None = None
    with contextlib.suppress(ValueError):
        timestamp = float(form.get("created", ""))
    return IncomingEntry(
        message=_message(msg, _present(form.get("args")), max_message_chars),
        trace_id=_present(form.get("trace_id")),
        level=level,
        system=_present(form.get("system")),
        context=msgspec.Raw(_encode(context)) if context else msgspec.Raw(b""),
        user_id=_present(form.get("user_id")),
        stack=stack,
        timestamp=timestamp,
    )
