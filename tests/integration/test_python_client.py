"""The Python handler and the standard library's HTTPHandler against a real `tracesink serve`:
delivery on close, every level, a slow (stopped), dead and rate-limiting sink, and fork."""

from __future__ import annotations

import logging
import logging.handlers
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator

import pytest

import tracesink
from tests.support import client_policy as policy
from tests.support.answering import answering
from tests.support.clock_skew import check_corrected
from tests.support.redis_server import free_port
from tests.support.service import Service, entries_if_any, serving
from tracesink.client import TraceSinkHandler
from tracesink.client.transport import Delivered, Transport

pytestmark = pytest.mark.slow

SEND_TIMEOUT_S = 10.0  # the handler's HTTP timeout, where a test needs it long
# What a loaded 2-core machine may add to a step that does not wait for the network; each bound
# below it still tells "did not wait" from "waited" (a send's timeout, a pause of over 5 s).
SLACK_S = 2.5


@pytest.fixture(scope="module")
def sink() -> Iterator[Service]:
    env = {
        "TRACESINK_SYSTEM_SHARES": "browser=30,worker=20,convex=20,python=20",
        "TRACESINK_GLOBAL_LIMIT": "1000000",
        "TRACESINK_TRACE_LIMIT": "100000",
    }
    with serving(env) as running:
        yield running


def logger_with(handler: logging.Handler, name: str) -> logging.Logger:
    logger = logging.getLogger(f"tests.client.{name}")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger


def test_records_arrive_on_close_with_level_context_and_stack(sink: Service) -> None:
    """Every logging level arrives (CRITICAL as error, named in context), extra is context,
    an exception is the stack, the system is the one configured, close() delivers."""
    handler = TraceSinkHandler(sink.url, system="python")
    log = logger_with(handler, "levels")
    with tracesink.trace("py-levels"):
        log.debug("d")
        log.info("i %s", "arg", extra={"order_id": 42})
        log.warning("w")
        log.error("e")
        log.critical("c")
        try:
            raise RuntimeError("card declined")
        except RuntimeError:
            log.exception("charge failed")
    handler.close()
    entries = entries_if_any(sink, "py-levels")
    assert [(e["level"], e["context"]["levelname"]) for e in entries] == [
        ("log", "DEBUG"),
        ("info", "INFO"),
        ("warn", "WARNING"),
        ("error", "ERROR"),
        ("error", "CRITICAL"),
        ("error", "ERROR"),
    ]
    assert entries[1]["message"] == "i arg"
    assert entries[1]["context"]["order_id"] == 42
    assert "RuntimeError: card declined" in entries[5]["stack"]
    assert {e["system"] for e in entries} == {"python"}
    assert handler.sent == 6
    assert sum(handler.dropped.values()) == 0


def test_the_default_system_is_manual_and_extra_trace_id_wins(sink: Service) -> None:
    """Without system=…, X-Log-System is manual; extra={'trace_id': …} picks the trace."""
    handler = TraceSinkHandler(sink.url)
    log = logger_with(handler, "manual")
    with tracesink.trace("py-ignored"):
        log.info("explicit", extra={"trace_id": "py-extra"})
    assert handler.flush()
    handler.close()
    [entry] = entries_if_any(sink, "py-extra")
    assert (entry["system"], entry["detected_by"]) == ("manual", "x-log-system")


def test_emit_never_blocks_while_the_sink_is_stopped_and_delivers_after(
    sink: Service,
) -> None:
    """With the server SIGSTOPped (accepting nothing), 2000 emits return without waiting for it
    (an emit that waited would take the handler's 10 s timeout; each takes well under 2 s even on
    a loaded machine); the queue bound drops the excess and counts it; resumed, the queue is
    delivered and the drops are reported in-band in the trace, each exactly once."""
    handler = TraceSinkHandler(sink.url, max_queue=200, timeout=SEND_TIMEOUT_S)
    log = logger_with(handler, "stopped")
    os.kill(sink.process.pid, signal.SIGSTOP)
    try:
        slowest = 0.0
        with tracesink.trace("py-stopped"):
            for i in range(2000):
                started = time.perf_counter()
                log.info("record %d", i)
                slowest = max(slowest, time.perf_counter() - started)
    finally:
        os.kill(sink.process.pid, signal.SIGCONT)
    assert slowest < SEND_TIMEOUT_S / 5, f"an emit took {slowest:.3f}s"
    assert handler.dropped["queue_full"] >= 2000 - 200 - 100  # queue plus one batch in flight
    with tracesink.trace("py-stopped"):
        log.info("after")  # the next batch carries the report
    assert handler.flush(timeout=15), (handler.last_error, handler.sent, handler.dropped)
    handler.close()
    entries = entries_if_any(sink, "py-stopped")
    reports = [e for e in entries if "tracesink handler dropped" in e["message"]]
    reported = sum(e["context"]["tracesink_dropped"]["queue_full"] for e in reports)
    assert reported == handler.dropped["queue_full"]  # every drop reported, none twice
    assert len(entries) == 2000 - reported + len(reports) + 1


def test_a_dead_sink_neither_blocks_nor_raises() -> None:
    """Nothing listens: emits return, flush and close end within their timeouts (plus a loaded
    machine's slack), the records are counted as undeliverable."""
    handler = TraceSinkHandler(f"http://127.0.0.1:{free_port()}", max_retries=1, timeout=1)
    log = logger_with(handler, "dead")
    started = time.perf_counter()
    for i in range(50):
        log.error("nobody hears %d", i)
    assert time.perf_counter() - started < SLACK_S  # 50 waits for a send would be 50 s
    started = time.perf_counter()
    handler.flush(timeout=5)
    assert time.perf_counter() - started < 5 + SLACK_S
    started = time.perf_counter()
    handler.close(timeout=2)
    assert time.perf_counter() - started < 2 + SLACK_S
    assert handler.dropped["undeliverable"] == 50
    assert handler.last_error is not None
    assert "cannot reach" in handler.last_error


def test_limit_refusals_follow_the_client_policy() -> None:
    """The three clients' shared scenario (tests/support/client_policy.py): items refused inside
    a 200 and a batch refused whole (429) count as dropped ``rate_limited``, never resent; what
    the server stored counts as sent; sending pauses for Retry-After, then goes on by itself;
    emits stay instant while paused."""
    with serving(policy.LIMITED) as limited, tracesink.trace("py-policy"):
        handler = TraceSinkHandler(limited.url)
        log = logger_with(handler, "policy")

        def counts() -> policy.Counts:
            return policy.Counts.of(handler.sent, handler.dropped)

        for message in policy.FILL:
            log.info(message)
        assert handler.flush()
        first = counts()
        for message in policy.REFUSED:
            log.info(message)
        assert handler.flush()
        second = counts()
        started = time.perf_counter()
        log.info(policy.AFTER)
        assert time.perf_counter() - started < SLACK_S  # not waiting out the pause
        held = not handler.flush(timeout=0.3)
        stored_while_held = policy.messages(entries_if_any(limited, "py-policy"))
        assert handler.flush(timeout=policy.DELIVERY_TIMEOUT_S)
        observed = policy.Observed(first, second, held, stored_while_held, counts())
        handler.close()
        policy.check(limited, "py-policy", observed)


@pytest.mark.parametrize("skew_ms", [5000, -5000])
def test_a_skewed_clock_is_sent_and_corrected(
    sink: Service, skew_ms: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under a clock 5 s ahead or behind (records and X-Client-Clock alike read it), the
    service corrects the entries' times back to its own clock, keeping the time sent."""
    real_time, real_ns = time.time, time.time_ns
    monkeypatch.setattr(time, "time", lambda: real_time() + skew_ms / 1000)
    monkeypatch.setattr(time, "time_ns", lambda: real_ns() + skew_ms * 1_000_000)
    handler = TraceSinkHandler(sink.url)
    with tracesink.trace(f"py-skew{skew_ms}"):
        logger_with(handler, "skew").info("stamped by a skewed clock")
    assert handler.flush()
    handler.close()
    monkeypatch.undo()
    [entry] = entries_if_any(sink, f"py-skew{skew_ms}")
    check_corrected(entry, skew_ms)


def test_each_attempt_carries_the_clock_of_its_own_sending() -> None:
    """A batch resent after a 503 carries the clock of the resend, not of its first attempt:
    a stale clock would be read as an offset the size of the wait."""
    clocks: list[int] = []
    with answering([503, 200], clocks) as url:
        transport = Transport(
            url,
            {},
            timeout=5,
            max_retries=1,
            max_pause=5,
            interrupted=threading.Event(),
            on_problem=lambda problem: None,
        )
        assert isinstance(transport.post(b"{}"), Delivered)
    assert len(clocks) == 2
    assert clocks[1] - clocks[0] >= 900  # the retry waited its backoff (1 s) in between


FORKING = textwrap.dedent(
    """
    import logging, os, sys, tracesink
    from tracesink.client import TraceSinkHandler
    handler = TraceSinkHandler(sys.argv[1])
    log = logging.getLogger("forked"); log.addHandler(handler); log.setLevel(logging.INFO)
    with tracesink.trace("py-fork"):
        log.info("parent before fork")
        pid = os.fork()
        if pid == 0:
            log.info("child after fork")
            handler.close()
            os._exit(0 if handler.sent == 1 else 3)
        log.info("parent after fork")
        _, status = os.waitpid(pid, 0)
    handler.close()
    sys.exit(os.waitstatus_to_exitcode(status))
    """
)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_survives_fork(sink: Service) -> None:
    """After fork the child has its own queue and sender: both sides deliver, nothing twice,
    nothing hangs."""
    done = subprocess.run(
        [sys.executable, "-c", FORKING, sink.url], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    messages = sorted(e["message"] for e in entries_if_any(sink, "py-fork"))
    assert messages == ["child after fork", "parent after fork", "parent before fork"]


# The standard library's HTTPHandler leaves each connection to the garbage collector.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_the_standard_librarys_http_handler_is_understood(sink: Service) -> None:
    """logging.handlers.HTTPHandler's form-encoded POST is an entry: level, message with its
    arguments, logger name, extra fields, the trace from extra."""
    host = sink.url.removeprefix("http://")
    handler = logging.handlers.HTTPHandler(host, "/log", method="POST")
    log = logger_with(handler, "stdlib")
    log.critical("paid %s in %.1f s", "alice", 1.5, extra={"trace_id": "py-stdlib", "shop": "x"})
    [entry] = entries_if_any(sink, "py-stdlib")
    assert entry["message"] == "paid alice in 1.5 s"
    assert entry["level"] == "error"
    assert entry["context"] == {"logger": "tests.client.stdlib", "shop": "x"}


AT_EXIT = textwrap.dedent(
    """
    import logging, sys, tracesink
    from tracesink.client import TraceSinkHandler
    logging.getLogger().addHandler(TraceSinkHandler(sys.argv[1]))
    with tracesink.trace("py-exit"):
        for i in range(30):
            logging.getLogger("app").warning("record %d", i)
    # no flush, no close: logging.shutdown() at exit delivers
    """
)


def test_an_application_that_never_closes_still_delivers_at_exit(sink: Service) -> None:
    """logging.shutdown() (run at interpreter exit) flushes and closes the handler."""
    done = subprocess.run(
        [sys.executable, "-c", AT_EXIT, sink.url], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    messages = [e["message"] for e in entries_if_any(sink, "py-exit")]
    assert messages == [f"record {i}" for i in range(30)]


def test_only_http_urls_are_accepted() -> None:
    """A file: or other scheme is refused when the handler is made, not at the first record."""
    with pytest.raises(ValueError, match="http"):
        TraceSinkHandler("file:///etc/passwd")
