"""A LogRecord as one JSON line: odd records never raise, and keep what can be kept."""

from __future__ import annotations

import json
import logging
from typing import Any

from tracesink.client.record import encode_record


def encoded(msg: str, *args: Any, **extra: Any) -> dict[str, Any]:
    record = logging.getLogger("odd").makeRecord("odd", 50, "f", 1, msg, args, None, extra=extra)
    line: dict[str, Any] = json.loads(encode_record(record, "t-odd"))
    return line


def test_bad_format_arguments_are_sent_as_given() -> None:
    """A format string that does not match its arguments is not an exception."""
    assert encoded("%d items", "many")["message"] == "'%d items' ('many',)"


def test_extra_that_json_cannot_hold_is_kept_as_repr() -> None:
    """Objects become their repr; NaN turns the whole context into reprs, never a bad line."""
    assert encoded("m", thing=object())["context"]["thing"].startswith("<object object at")
    assert encoded("m", ratio=float("nan"))["context"]["ratio"] == "nan"


def test_critical_keeps_its_name_and_stack_info_is_the_stack() -> None:
    """Level 50 is sent as 50 with levelname CRITICAL; stack_info lands in stack."""
    record = logging.getLogger("s").makeRecord("s", 50, "f", 1, "m", (), None, sinfo="Stack (x)")
    line = json.loads(encode_record(record, "t"))
    assert (line["level"], line["context"]["levelname"], line["stack"]) == (
        50,
        "CRITICAL",
        "Stack (x)",
    )
