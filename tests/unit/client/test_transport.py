"""The Python handler's transport: Retry-After read as delta-seconds or an HTTP-date, bounded,
and a 429's pause taken from it (over real HTTP, from a local server answering 429)."""

from __future__ import annotations

import logging
import threading
from email.utils import formatdate

import pytest

from tests.support.answering import answering_429
from tracesink.client.transport import Failed, Transport, retry_after_s

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("7", 7.0),  # delta-seconds
        ("0.5", 0.5),
        ("0", 0.0),
        (formatdate(NOW + 90, usegmt=True), 90.0),  # an HTTP-date, 90 s from now
        (formatdate(NOW - 3600, usegmt=True), 0.0),  # a date in the past: at once
        ("-5", 0.0),  # never a negative wait
        (None, 1.0),  # absent: a second
        ("soon", 1.0),  # unreadable: a second
        ("nan", 1.0),
    ],
)
def test_retry_after_is_read_in_both_forms(header: str | None, seconds: float) -> None:
    """RFC 9110 allows delta-seconds or an HTTP-date; a past date or a negative number is no
    wait, an absent or unreadable header a second."""
    assert retry_after_s(header, now=NOW) == pytest.approx(seconds)


def test_a_429_pauses_for_retry_after_capped_by_max_pause() -> None:
    """A 429 loses the batch as rate_limited (never resent) and pauses for its Retry-After: an
    HTTP-date a year ahead is capped at max_pause, one in the past is no pause, delta-seconds
    are taken as they are."""
    answers = [formatdate(NOW * 2, usegmt=True), formatdate(0, usegmt=True), "12"]
    with answering_429(answers) as url:
        transport = Transport(
            f"{url}/logs", {}, timeout=5, max_retries=0, max_pause=30,
            interrupted=threading.Event(), on_problem=lambda text: None,
        )  # fmt: skip
        assert transport.post(b"{}") == Failed("rate_limited", 30)
        assert transport.post(b"{}") == Failed("rate_limited", 0)
        assert transport.post(b"{}") == Failed("rate_limited", 12)


def test_problems_name_the_url_with_its_secrets_masked(capsys: pytest.CaptureFixture[str]) -> None:
    """The handler reports a problem on stderr (and in last_error) naming its URL: a password
    in it (http://u:pass@…) and a ?key=… are masked there, and in the error for a bad URL."""
    from tests.support.redis_server import free_port
    from tracesink.client import TraceSinkHandler

    url = f"http://ada:hunter2-pw@127.0.0.1:{free_port()}"
    handler = TraceSinkHandler(url, trace_id="masked", max_retries=0, timeout=2)
    try:
        handler.emit(logging.LogRecord("app", logging.INFO, __file__, 1, "hello", None, None))
        handler.flush(10)
    finally:
        handler.close(10)
    said = capsys.readouterr().err + str(handler.last_error)
    assert "cannot reach http://ada:****@127.0.0.1:" in said
    assert "hunter2-pw" not in said
    problems: list[str] = []
    with pytest.raises(ValueError, match="ftp://ada:\\*\\*\\*\\*@") as bad:
        Transport(
            "ftp://ada:hunter2-pw@host/logs?key=sk-123",
            {},
            timeout=1,
            max_retries=0,
            max_pause=1,
            interrupted=threading.Event(),
            on_problem=problems.append,
        )
    assert "hunter2-pw" not in str(bad.value)
    assert "sk-123" not in str(bad.value)
