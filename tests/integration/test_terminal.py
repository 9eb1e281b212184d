"""The terminal commands against a running `tracesink serve`: readable for a person, exact for a
pipe, one precise line per problem; `tail` and colours under a real pseudo-terminal."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.service import Service, serving, tracesink

pytestmark = pytest.mark.slow
ANSI = "\x1b["
RED = ";31m"
TOKEN = "terminal-test-token-0123"  # noqa: S105  # a test credential, not a secret
# A generous wait for Ctrl-C to end `tail` (it exits at once; a loaded machine may be slow).
EXIT_TIMEOUT_S = 60


@pytest.fixture(scope="module")
def served() -> Iterator[Service]:
    with serving({"TRACESINK_READ_TOKEN": TOKEN}) as service:
        yield service


def run(service: Service, *args: str, stdin: str = "", token: bool = True) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACESINK_")}
    env.update(TRACESINK_URL=service.url, NO_COLOR="1")
    if token:
        env["TRACESINK_READ_TOKEN"] = TOKEN
    done = subprocess.run(
        [sys.executable, "-m", "tracesink", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


def test_send_then_logs_reads_as_a_timeline_and_exactly_as_json(served: Service) -> None:
    """`send` is quiet on success; `logs` prints one line per entry (time, system, level,
    message, context below), and --ndjson / --json are exact; filters narrow it."""
    assert run(served, "send", "--trace", "cli-story", "--level", "info", "user", "clicked") == (
        0,
        "",
        "",
    )
    body = {
        "trace_id": "cli-story",
        "message": "charge failed [red]",
        "level": "error",
        "system": "convex",
        "context": {"order": 42},
    }
    assert httpx.post(f"{served.url}/log", json=body).status_code == 200
    code, out, err = run(served, "logs", "cli-story")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split()[1:] == ["manual", "INFO", "user", "clicked"]
    assert lines[1].split()[1:] == ["convex", "ERROR", "charge", "failed", "[red]"]
    assert lines[2].split() == ["context", '{"order":42}']
    assert lines[3].startswith("2 of 2 entries")
    assert ANSI not in out
    code, out, _ = run(served, "logs", "cli-story", "--ndjson", "--level", "error")
    assert [json.loads(line)["message"] for line in out.splitlines()] == ["charge failed [red]"]
    code, out, _ = run(served, "logs", "cli-story", "--json", "--grep", "CLICKED")
    assert json.loads(out)["count"] == 1


def test_send_reads_lines_from_stdin_as_manual(served: Service) -> None:
    """Without a MESSAGE, each line of stdin is one entry, sent as `manual`; nothing on stdin
    is a one-line error."""
    assert run(served, "send", "--trace", "cli-lines")[0::2] == (
        1,
        "tracesink: nothing to send: give a MESSAGE, or lines on stdin\n",
    )
    code, out, err = run(served, "send", "--trace", "cli-lines", stdin="first\nsecond\n")
    assert (code, out, err) == (0, "", "")
    trace = httpx.get(
        f"{served.url}/logs/cli-lines", headers={"authorization": f"Bearer {TOKEN}"}
    ).json()
    assert [(e["message"], e["system"]) for e in trace["entries"]] == [
        ("first", "manual"),
        ("second", "manual"),
    ]


def test_traces_lists_recent_traces(served: Service) -> None:
    """`traces` prints a table a person reads; --json the exact list."""
    run(served, "send", "--trace", "cli-listed", "--level", "error", "bad")
    code, out, _ = run(served, "traces")
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith("cli-listed"))
    assert row.split()[2:4] == ["1", "1"]  # entries, errors
    code, out, _ = run(served, "traces", "--json", "--level", "error")
    assert "cli-listed" in [t["trace_id"] for t in json.loads(out)]


def test_problems_are_one_line_with_the_fix(served: Service) -> None:
    """No token, an unknown trace, no server (for tail too, at once rather than retrying):
    exit 1 and one line saying what to do."""
    assert run(served, "logs", "cli-story", token=False)[1:] == (
        "",
        f"tracesink: {served.url} wants a read token: set TRACESINK_READ_TOKEN\n",
    )
    code, _, err = run(served, "logs", "never-written")
    assert code == 1
    assert err == (
        f"tracesink: {served.url}/logs/never-written answered 404: "
        "no trace never-written: never written, or expired\n"
    )
    for command in ("traces", "tail"):
        process = tracesink(command, env={"TRACESINK_URL": "http://127.0.0.1:9"})
        _, err = process.communicate(timeout=30)
        assert process.returncode == 1
        assert err.startswith("tracesink: cannot reach tracesink at http://127.0.0.1:9")
        assert "tracesink serve" in err
        assert err.count("\n") == 1


def test_doctor_passes_quietly_and_names_each_problem(served: Service) -> None:
    """All well: one ok line, exit 0. An unreachable store and a missing token: one line
    each, exit 1."""
    code, out, err = run(served, "doctor")
    assert (code, err) == (0, "")
    assert out.startswith("ok: configuration, store, server, clock, read token")
    env = {"TRACESINK_URL": served.url, "TRACESINK_STORE": "redis://127.0.0.1:9"}
    process = tracesink("doctor", env=env)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 1
    problems = err.splitlines()
    assert any("store: redis://127.0.0.1:9 is unreachable" in p for p in problems)
    assert any("read token" in p and "TRACESINK_READ_TOKEN" in p for p in problems)
    assert len(problems) == 2


def test_doctor_with_a_url_reports_that_servers_store_not_this_shells(served: Service) -> None:
    """`doctor --url URL` checks the server at URL: the store it reports is the one that
    server's /health names (memory:// here), not the one this shell's TRACESINK_STORE names
    (an unreachable Redis, which would otherwise be a problem)."""
    env = {"TRACESINK_STORE": "redis://:secret-pw@127.0.0.1:9", "TRACESINK_READ_TOKEN": TOKEN}
    process = tracesink("doctor", "--url", served.url, "--json", env=env)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    checks = {c["check"]: c for c in json.loads(out)}
    assert checks["store"]["detail"] == "the server's store memory:// answers"
    assert "configuration" not in checks
    assert "127.0.0.1:9" not in out + err


def read_until(fd: int, wanted: str, timeout: float = 15.0) -> str:
    seen = ""
    deadline = time.monotonic() + timeout
    while wanted not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"{wanted!r} never came; got {seen!r}"
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            try:
                seen += os.read(fd, 65536).decode(errors="replace")
            except OSError:
                break
    return seen


def tail_in_a_terminal(
    service: Service, *args: str, no_color: bool
) -> tuple[subprocess.Popen[bytes], int]:
    main, child = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACESINK_")}
    env.pop("NO_COLOR", None)
    env.pop("FORCE_COLOR", None)
    env.update(TRACESINK_URL=service.url, TRACESINK_READ_TOKEN=TOKEN, TERM="xterm-256color")
    if no_color:
        env["NO_COLOR"] = "1"
    process = subprocess.Popen(
        [sys.executable, "-m", "tracesink", "tail", *args],
        stdin=child,
        stdout=child,
        stderr=child,
        env=env,
        start_new_session=True,
    )
    os.close(child)
    return process, main


@pytest.mark.parametrize("no_color", [False, True])
def test_tail_follows_a_trace_in_a_terminal_until_ctrl_c(served: Service, no_color: bool) -> None:
    """Under a pseudo-terminal `tail` says what it follows, prints each new entry as it
    arrives (in colour unless NO_COLOR), and exits 0 on Ctrl-C."""
    trace = f"cli-tail-{int(no_color)}"
    process, main = tail_in_a_terminal(served, trace, no_color=no_color)
    try:
        read_until(main, f"following trace {trace}")
        run(served, "send", "--trace", trace, "--level", "error", "live one")
        shown = read_until(main, "live one")
        assert "ERROR" in shown
        # Red for an error; NO_COLOR takes colours away and leaves bold and dim (no-color.org).
        assert (RED in shown) is not no_color
        assert ANSI in shown
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(EXIT_TIMEOUT_S) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(main)


def test_tail_of_every_trace_into_a_pipe_is_exact(served: Service) -> None:
    """Into a pipe, `tail --ndjson` writes one JSON entry per line, nothing else."""
    env = {"TRACESINK_URL": served.url, "TRACESINK_READ_TOKEN": TOKEN}
    process = tracesink("tail", "--ndjson", env=env)
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 15
        line = ""
        while not line and time.monotonic() < deadline:
            run(served, "send", "--trace", "cli-piped", "piped entry")
            ready, _, _ = select.select([process.stdout], [], [], 0.5)
            if ready:
                line = process.stdout.readline()
        entry = json.loads(line)
        assert (entry["trace_id"], entry["message"]) == ("cli-piped", "piped entry")
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=EXIT_TIMEOUT_S)
    assert process.returncode == 0


SECRET = "s3cret-pass"  # noqa: S105  # a test credential, not a secret
COMMANDS = [
    ("logs", "cli-story"),
    ("traces",),
    ("stats",),
    ("tail",),
    ("doctor",),
    ("send", "--trace", "not a trace id", "hello"),  # a 400 from the server
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize("tail", ["/?x=y", "?token=" + SECRET, "/#top"])
def test_a_url_with_a_query_is_refused_in_one_line(
    served: Service, command: tuple[str, ...], tail: str
) -> None:
    """A base URL with a ?query or #fragment would send every request to the index page (a
    KeyError traceback once): every command refuses it in one line naming --url, secrets
    masked."""
    process = tracesink(*command, "--url", served.url + tail)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1, (out, err)
    [line] = err.splitlines()
    assert line.startswith("tracesink: --url / TRACESINK_URL http://127.0.0.1:")
    assert "?query or #fragment" in line
    assert "Traceback" not in out + err
    assert SECRET not in out + err


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_no_command_prints_a_password_from_the_url(
    served: Service, command: tuple[str, ...]
) -> None:
    """A URL with a password (http://u:pass@…): every terminal command's error shows it
    masked, whether the server is unreachable or refuses (401 without a read token, 400)."""
    port = served.url.rsplit(":", 1)[1]
    for url in (f"http://u:{SECRET}@127.0.0.1:9", f"http://u:{SECRET}@127.0.0.1:{port}"):
        process = tracesink(*command, "--url", url)
        out, err = process.communicate(timeout=60)
        assert process.returncode == 1, (url, out, err)
        assert SECRET not in out + err, (url, out, err)
        assert "u:****@127.0.0.1" in out + err, (url, out, err)
