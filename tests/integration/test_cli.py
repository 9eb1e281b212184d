"""The `tracesink` command as a user runs it: a real uvicorn process over real HTTP."""

from __future__ import annotations

import signal
import socket
from collections.abc import Iterator

import httpx
import pytest

from tests.support.poll import wait_until
from tests.support.redis_server import free_port
from tests.support.refusal import assert_refused
from tests.support.service import Service, serving, tracesink

pytestmark = pytest.mark.slow


@pytest.fixture
def served() -> Iterator[Service]:
    env = {"TRACESINK_TRACE_LIMIT": "3", "TRACESINK_MAX_BODY_BYTES": "4096"}
    with serving(env) as service:
        yield service


def test_serve_takes_logs_over_real_http_and_stops_on_sigterm(
    served: Service,
) -> None:
    """`tracesink serve` answers the wire contract, then exits 0 on SIGTERM, printing its banner."""
    base, process = served.url, served.process
    answers = [
        httpx.post(f"{base}/log", json={"trace_id": "cli", "message": str(i)}) for i in range(4)
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[3].json()["limited_by"] == "trace"
    trace = httpx.get(f"{base}/logs/cli").json()
    assert [e["message"] for e in trace["entries"][:3]] == ["0", "1", "2"]
    big = httpx.post(f"{base}/log", content=b"x" * 10_000)
    assert_refused(big, 413, "body", "4096 bytes (TRACESINK_MAX_BODY_BYTES)")
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=15)
    assert process.returncode == 0
    assert "listening on http://127.0.0.1:" in out
    assert "store:  memory://" in out
    assert "trace 3 per 3600s window" in out


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["serve", "--port", "http"], {}, "--port"),
        (["serve"], {"TRACESINK_GLOBAL_LIMIT": "lots"}, "TRACESINK_GLOBAL_LIMIT"),
        (["serve"], {"TRACESINK_STORE": "mongo://:pw@localhost"}, "TRACESINK_STORE"),
    ],
)
def test_bad_settings_stop_start_up_naming_the_setting(
    args: list[str], env: dict[str, str], named: str
) -> None:
    """A bad setting exits with status 2 and a message that names it (secrets masked)."""
    process = tracesink(*args, env=env)
    _, err = process.communicate(timeout=15)
    assert process.returncode == 2
    assert named in err
    assert "pw" not in err


def test_check_reaches_the_store() -> None:
    """`tracesink check` validates settings, reaches the store and exits 0."""
    process = tracesink("check")
    out, _ = process.communicate(timeout=15)
    assert process.returncode == 0
    assert out.startswith("ok: store memory:// reachable")


def test_concurrency_bound_answers_503_beyond_it() -> None:
    """With --max-concurrency 2, two stalled uploads hold the slots and a third request gets 503
    naming the limit; once they go, requests are served again."""
    with serving(None, "--max-concurrency", "2", "--read-timeout-s", "30") as service:
        port = int(service.url.rsplit(":", 1)[1])
        stalled = []
        for _ in range(2):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(b"POST /log HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
            stalled.append(sock)
        health = f"{service.url}/health"

        def refused() -> httpx.Response | None:
            answer = httpx.get(health, timeout=10)
            return answer if answer.status_code == 503 else None

        try:
            # the two uploads hold their slots once the server has read their heads
            busy = wait_until(refused, "503 while both slots are held")
            assert "more than 2 requests at once (TRACESINK_MAX_CONCURRENCY)" in busy.text
        finally:
            for sock in stalled:
                sock.close()
        wait_until(lambda: httpx.get(health, timeout=10).status_code == 200, "the slots freed")


def test_stats_prints_a_running_instances_figures() -> None:
    """`tracesink stats` reads /stats (with the read token) and prints counts and cost."""
    token = "cli-stats-token-0123456789"  # noqa: S105 - a test credential
    with serving({"TRACESINK_READ_TOKEN": token}) as service:
        for system in ("browser", "worker", "worker"):
            body = {"trace_id": "s", "message": "m", "system": system}
            assert httpx.post(f"{service.url}/log", json=body).status_code == 200
        printed = tracesink("stats", "--url", service.url, env={"TRACESINK_READ_TOKEN": token})
        out, err = printed.communicate(timeout=15)
        assert printed.returncode == 0, err
        assert "browser           1" in out
        assert "worker            2" in out
        assert "per month" in out
        refused = tracesink("stats", "--url", service.url)
        _, err = refused.communicate(timeout=15)
        assert refused.returncode == 1
        assert "TRACESINK_READ_TOKEN" in err


def test_errors_name_the_flag_the_user_typed() -> None:
    """A bad value given as a flag is reported by the flag, not by the variable behind it."""
    process = tracesink("serve", "--host", "0.0.0.0", "--port", str(free_port()))
    _, err = process.communicate(timeout=15)
    assert process.returncode == 2
    assert "--host=0.0.0.0" in err
    assert "TRACESINK_HOST" not in err
    process = tracesink("serve", "--store", "mongo://x", "--port", str(free_port()))
    _, err = process.communicate(timeout=15)
    assert (process.returncode, "--store='mongo://x'" in err) == (2, True)


def test_an_unknown_variable_suggests_the_closest_setting() -> None:
    """A typo in a TRACESINK_* variable stops start-up and names what was probably meant."""
    process = tracesink("serve", env={"TRACESINK_GLOBAL_LIMT": "5"})
    _, err = process.communicate(timeout=15)
    assert process.returncode == 2
    assert "TRACESINK_GLOBAL_LIMT: did you mean TRACESINK_GLOBAL_LIMIT?" in err


def test_help_shows_every_default_and_no_internal_notes() -> None:
    """`tracesink serve --help` gives each option's default; the description is for users."""
    process = tracesink("serve", "--help", env={"COLUMNS": "400"})  # one line per option
    out, _ = process.communicate(timeout=15)
    assert process.returncode == 0
    assert "(default: 1000; env TRACESINK_GLOBAL_LIMIT)" in out
    assert "(default: browser=40,worker=30,convex=30; env TRACESINK_SYSTEM_SHARES)" in out
    assert "(default: none; env TRACESINK_READ_TOKEN)" in out
    top = tracesink("--help")
    out, _ = top.communicate(timeout=15)
    assert "config.OPTIONS" not in out
    assert "A log sink for developers" in out


def test_a_taken_port_is_reported_without_a_listening_banner() -> None:
    """When the port is in use, the only output is one line saying so (no banner first)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = tracesink("serve", "--port", str(port))
        out, err = process.communicate(timeout=15)
    assert process.returncode == 1
    assert "listening on" not in out
    assert err.strip() == (
        f"tracesink: cannot listen on 127.0.0.1:{port}: the port is already in use "
        "(choose another with --port)"
    )
