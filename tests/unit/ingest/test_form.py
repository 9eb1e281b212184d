"""logging.handlers.HTTPHandler's form-encoded records, read back into entries."""

from __future__ import annotations

import ast
import contextlib
import json
import logging
import logging.handlers
import sys
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracesink.errors import ValidationError
from tracesink.ingest.form import entry_from_form, is_form
from tracesink.ingest.model import IncomingEntry
from tracesink.ingest.sender import Sender
from tracesink.ingest.validate import EntryRules, prepare_entry


def form_of(record: logging.LogRecord) -> bytes:
    """Exactly what HTTPHandler.emit sends for a POST: urlencode(record.__dict__)."""
    return urlencode(logging.handlers.HTTPHandler("h", "/log").mapLogRecord(record)).encode()


def record(
    msg: str, *args: Any, level: int = logging.INFO, extra: dict[str, Any] | None = None
) -> logging.LogRecord:
    logger = logging.getLogger("shop.checkout")
    return logger.makeRecord(logger.name, level, "f.py", 1, msg, args, None, extra=extra)


LIMIT = 16 * 1024  # the default TRACESINK_MAX_MESSAGE_BYTES


def read_form(body: bytes) -> IncomingEntry:
    return entry_from_form(body, LIMIT)


def context_of(body: bytes) -> dict[str, Any]:
    raw = bytes(read_form(body).context)
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
    entry = read_form(form_of(record("charged %s for %d items", "alice", 3)))
    assert entry.message == "charged alice for 3 items"
    mapping = read_form(form_of(record("%(who)s paid", {"who": "bob"})))
    assert mapping.message == "bob paid"


def test_args_that_cannot_be_read_back_are_appended_not_evaluated() -> None:
    """Arguments whose repr is no literal (an object) are shown as sent; nothing is executed."""
    entry = read_form(form_of(record("got %s", object())))
    assert entry.message.startswith("got %s (<object object at")
    body = urlencode({"msg": "x %s", "args": "(__import__('os').getcwd(),)"}).encode()
    assert read_form(body).message == "x %s (__import__('os').getcwd(),)"


@pytest.mark.parametrize(
    ("msg", "args"),
    [
        ("%999999999d", "(1,)"),
        ("%(a)999999999s", "{'a': 1}"),  # a width after a mapping key
        ("%(a)-999999999s%(a)999999999s", "{'a': 1}"),
        ("%.999999999f", "(1.5,)"),
        ("%(a)0999999999.999999999e", "{'a': 2.5}"),
        ("%*d", "(999999999, 1)"),
        ("%.*f", "(999999999, 1.5)"),
    ],
)
def test_a_huge_width_or_precision_stops_at_the_message_limit(msg: str, args: str) -> None:
    """A width or precision that would allocate without bound (written anywhere: after a
    mapping key, as `*`, in the precision) is capped at the longest message kept: what is kept
    is what `%` would have begun with."""
    message = read_form(urlencode({"msg": msg, "args": args}).encode()).message
    assert LIMIT <= len(message) <= 2 * LIMIT + 64
    expected_start = (msg.replace("999999999", "20") % ast.literal_eval(args))[:10]
    assert message.startswith(expected_start)


@pytest.mark.parametrize(
    ("msg", "args"),
    [
        ("%c", "(1114112,)"),  # 0x110000: past Unicode
        ("%c", "(-1,)"),
        ("%(", "{'a': 1}"),
        ("%(a", "{'a': 1}"),
        ("%(a)s", "[1]"),  # a non-dict "mapping"
        ("%(b)s", "{'a': 1}"),
        ("%d", "('x',)"),
        ("%s %s", "(1,)"),
        ("%s", "(1, 2)"),
        ("%y", "(1,)"),
        ("%d", "(float('nan'),)"),
        ("%s", "(1" + "0" * 5000 + ",)"),  # past the int digits limit
    ],
)
def test_what_percent_would_raise_on_is_kept_as_sent(msg: str, args: str) -> None:
    """Where `msg % args` raises (out-of-range %c, an unbalanced key, a missing key, a wrong
    type, too few or too many arguments, an unknown conversion, an argument no literal), the
    message is the text as sent with its arguments beside it."""
    assert read_form(urlencode({"msg": msg, "args": args}).encode()).message == f"{msg} {args}"


def test_lone_surrogates_become_replacement_characters() -> None:
    """A lone surrogate from an argument or from %c is U+FFFD: the message is valid UTF-8."""
    body = urlencode({"msg": "%s|%c|%r", "args": r"('x\ud800y', 0xDC00, '\udfff')"}).encode()
    message = read_form(body).message
    assert message == "x\ufffdy|\ufffd|'\\udfff'"
    message.encode("utf-8")


def test_one_mapping_value_named_often_is_rendered_once() -> None:
    """A big value named by every conversion of a long text does not multiply: the message
    stops at the limit and the work with it."""
    msg = "%(a).0r" * 100 + "%(a)s" * 5000
    body = urlencode({"msg": msg, "args": "{'a': " + repr("x" * 3000) + "}"}).encode()
    message = read_form(body).message
    assert LIMIT < len(message) <= LIMIT + 3000


def test_long_arguments_are_read_only_when_cheap() -> None:
    """One long string argument (the usual long argument) is formatted; a long tuple of many
    small items (1 µs each to read back) is kept as sent."""
    long_text = "y" * 20_000
    one = read_form(form_of(record("got %s", long_text))).message
    assert one == f"got {long_text}"
    many = tuple(range(3000))
    kept = read_form(form_of(record("%s" * 3000, *many))).message
    assert kept == "%s" * 3000 + " " + repr(many)


@settings(max_examples=300, deadline=None)
@given(
    msg=st.text(alphabet="%()*.-+ #0123456789sdrcfexXgaiLh{}abé", max_size=60),
    args=st.recursive(
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**70), max_value=2**70)
        | st.floats()
        | st.text(max_size=10)
        | st.binary(max_size=10),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.tuples(inner, inner)
            | st.dictionaries(st.sampled_from(["a", "b", "(a)", ""]), inner, max_size=3)
        ),
        max_leaves=10,
    ),
)
def test_any_msg_and_args_give_a_bounded_valid_message(msg: str, args: Any) -> None:
    """Whatever `msg` and `args` hold, reading the form never raises, the message is valid
    UTF-8, and it is at most a little over twice the limit plus what the body carries."""
    body = urlencode({"msg": msg, "args": repr(args)}).encode()
    message = read_form(body).message
    message.encode("utf-8")
    assert len(message) <= 2 * LIMIT + 4 * len(body) + 64


@pytest.mark.parametrize(
    ("level", "sent"),
    [(logging.DEBUG, 10), (logging.INFO, 20), (logging.WARNING, 30), (logging.CRITICAL, 50)],
)
def test_levelno_is_the_level(level: int, sent: int) -> None:
    """The numeric level is sent on, for the server's numeric mapping (CRITICAL 50 included)."""
    assert read_form(form_of(record("m", level=level))).level == sent


def test_trace_id_system_and_user_id_come_from_extra_the_rest_is_context() -> None:
    """`extra` fields that name entry fields become them; other extras and the logger name are
    context; LogRecord's own attributes are not."""
    extra = {"trace_id": "t-1", "system": "python", "user_id": "u9", "order": 42}
    body = form_of(record("m", extra=extra))
    entry = read_form(body)
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
    assert read_form(form_of(made)).stack == (
        "ZeroDivisionError: ZeroDivisionError('division by zero')"
    )
    logging.Formatter().format(made)
    stack = read_form(form_of(made)).stack
    assert stack is not None
    assert stack.startswith("Traceback (most recent call last)")


def test_a_form_without_msg_or_in_bad_utf8_is_refused() -> None:
    """A 400 naming msg, or the body."""
    with pytest.raises(ValidationError) as missing:
        read_form(b"levelno=20")
    assert missing.value.field == "msg"
    with pytest.raises(ValidationError) as garbled:
        read_form(b"msg=\xff")
    assert garbled.value.field == "body"
    with pytest.raises(ValidationError):
        read_form(b"&".join(b"f%d=1" % i for i in range(1000)))


FORM_FIELDS = st.sampled_from(
    ["msg", "args", "levelno", "levelname", "created", "exc_info", "exc_text", "name", "trace_id"]
)


@settings(max_examples=300, deadline=None)
@given(
    fields=st.dictionaries(
        FORM_FIELDS,
        st.text(max_size=30) | st.sampled_from(["²", "9" * 5000, "1e400", "nan", "None", "()"]),
    )
)
def test_any_form_is_an_entry_or_a_400(fields: dict[str, str]) -> None:
    """Whatever the fields of a form hold (Unicode digits or 5,000 of them in levelno, a
    non-finite created, surrogates escaped in args...), reading and preparing it gives an entry
    or a ValidationError: never anything a route would answer 500 for."""
    body = urlencode(fields).encode()
    with contextlib.suppress(ValidationError):
        entry = read_form(body)
        prepare_entry(entry, EntryRules(LIMIT, LIMIT, 8), Sender({}), 1_700_000_000_000)
