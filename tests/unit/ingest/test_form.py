"""logging.handlers.HTTPHandler's form-encoded records, read back into entries."""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
from typing import Any
from urllib.parse import urlencode

import pytest

from tracesink.errors import ValidationError
from tracesink.ingest.form import entry_from_form, is_form


def form_of(record: logging.LogRecord) -> bytes:
    """Exactly what HTTPHandler.emit sends for a POST: urlencode(record.__dict__)."""
    return urlencode(logging.handlers.HTTPHandler("h", "/log").mapLogRecord(record)).encode()


def record(
    msg: str, *args: Any, level: int = logging.INFO, extra: dict[str, Any] | None = None
) -> logging.LogRecord:
    logger = logging.getLogger("shop.checkout")
    return logger.makeRecord(logger.name, level, "f.py", 1, msg, args, None, extra=extra)


def context_of(body: bytes) -> dict[str, Any]:
    raw = bytes(entry_from_form(body).context)
    loaded: dict[str, Any] = json.loads(raw) if raw else {}
    return loaded


def test_content_type_recognised_with_and_without_charset() -> None:
    """The form is recognised by its media type, parameters and case aside."""
    assert is_form("application/x-www-form-urlencoded", b"msg=hi")
    assert is_form("Application/X-WWW-Form-Urlencoded; charset=utf-8", b"msg=hi")
    assert not is_form("application/json", b"msg=hi")
    assert not is_form(None, b"msg=hi")


def test_a_json_object_under_the_form_content_type_is_json() -> None:
    """`curl -d '{"trace_id": …}'` labels its JSON form-encoded: it is read as the JSON it is."""
    assert not is_form("application/x-www-form-urlencoded", b' {"trace_id": "t", "message": "m"}')


def test_message_is_msg_formatted_with_its_args() -> None:
    """`msg % args` as logging renders it, from the repr of the args tuple."""
    entry = entry_from_form(form_of(record("charged %s for %d items", "alice", 3)))
    assert entry.message == "charged alice for 3 items"
    mapping = entry_from_form(form_of(record("%(who)s paid", {"who": "bob"})))
    assert mapping.message == "bob paid"


def test_args_that_cannot_be_read_back_are_appended_not_evaluated() -> None:
    """Arguments whose repr is no literal (an object) are shown as sent; nothing is executed."""
    entry = entry_from_form(form_of(record("got %s", object())))
    assert entry.message.startswith("got %s (<object object at")
    body = urlencode({"msg": "x %s", "args": "(__import__('os').getcwd(),)"}).encode()
    assert entry_from_form(body).message == "x %s (__import__('os').getcwd(),)"


def test_a_huge_width_is_not_expanded() -> None:
    """A width that would allocate without bound is not applied (a denial of service)."""
    body = urlencode({"msg": "%999999999d", "args": "(1,)"}).encode()
    assert entry_from_form(body).message == "%999999999d (1,)"


@pytest.mark.parametrize(
    ("level", "sent"),
    [(logging.DEBUG, 10), (logging.INFO, 20), (logging.WARNING, 30), (logging.CRITICAL, 50)],
)
def test_levelno_is_the_level(level: int, sent: int) -> None:
    """The numeric level is sent on, for the server's numeric mapping (CRITICAL 50 included)."""
    assert entry_from_form(form_of(record("m", level=level))).level == sent


def test_trace_id_system_and_user_id_come_from_extra_the_rest_is_context() -> None:
    """`extra` fields that name entry fields become them; other extras and the logger name are
    context; LogRecord's own attributes are not."""
    extra = {"trace_id": "t-1", "system": "python", "user_id": "u9", "order": 42}
    body = form_of(record("m", extra=extra))
    entry = entry_from_form(body)
    assert (entry.trace_id, entry.system, entry.user_id) == ("t-1", "python", "u9")
    assert context_of(body) == {"logger": "shop.checkout", "order": "42"}
    assert isinstance(entry.timestamp, float)


def test_exception_text_is_the_stack_else_its_type_and_value() -> None:
    """exc_text (set once a Formatter formatted the record) is the stack; without it the
    exception's type and value still arrive."""
    try:
        raise ZeroDivisionError("division by zero")
    except ZeroDivisionError:
        made = logging.getLogger("x").makeRecord("x", 40, "f", 1, "boom", (), sys.exc_info())
    assert entry_from_form(form_of(made)).stack == (
        "ZeroDivisionError: ZeroDivisionError('division by zero')"
    )
    logging.Formatter().format(made)
    stack = entry_from_form(form_of(made)).stack
    assert stack is not None
    assert stack.startswith("Traceback (most recent call last)")


def test_a_form_without_msg_or_in_bad_utf8_is_refused() -> None:
    """A 400 naming msg, or the body."""
    with pytest.raises(ValidationError) as missing:
        entry_from_form(b"levelno=20")
    assert missing.value.field == "msg"
    with pytest.raises(ValidationError) as garbled:
        entry_from_form(b"msg=\xff")
    assert garbled.value.field == "body"
    with pytest.raises(ValidationError):
        entry_from_form(b"&".join(b"f%d=1" % i for i in range(1000)))
