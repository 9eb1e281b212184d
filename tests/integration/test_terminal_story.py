"""`tracesink logs` tells a trace as the API does (event order, the sender's clock corrected,
relative times on request); `tracesink traces` never cuts a trace id, into a pipe or in a
40-column terminal. Against a real `tracesink serve`."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.service import Service, serving

pytestmark = pytest.mark.slow
LONG_ID = "4bf92f3577b34da6a3ce929d0e0e4736-checkout-retry"


@pytest.fixture(scope="module")
def served() -> Iterator[Service]:
    with serving({}) as service:
        yield service


def run(service: Service, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACESINK_")}
    env.update(TRACESINK_URL=service.url, NO_COLOR="1")
    done = subprocess.run(
        [sys.executable, "-m", "tracesink", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=True,
    )
    return done.stdout


def messages(out: str) -> list[str]:
    return [line.split()[3] for line in out.splitlines()[:-1] if not line.startswith(" ")]


def test_logs_reads_in_event_order_with_the_clock_correction_shown(served: Service) -> None:
    """Entries stored late with early times print by event time (--order arrival: as stored),
    each at its own time, and their receive time when it is a second or more away;
    --relative counts from the first (+0.000s); a corrected entry says by how much and what
    time its sender stamped."""
    now_ms = round(time.time() * 1000)
    for message, at in [("third", now_ms - 1000), ("first", now_ms - 3000)]:
        body = {"trace_id": "cli-order", "message": message, "timestamp": at}
        assert httpx.post(f"{served.url}/log", json=body).status_code == 200
    # A sender whose clock runs 10 s ahead stamped "second" 2 s before "third".
    ahead = {"trace_id": "cli-order", "message": "second", "timestamp": now_ms + 8000}
    clock = str(round(time.time() * 1000) + 10_000)
    assert httpx.post(f"{served.url}/log?clock={clock}", json=ahead).status_code == 200

    out = run(served, "logs", "cli-order")
    assert messages(out) == ["first", "second", "third"]
    # The offset measured includes the request's transit: a little less than 10 s.
    clock = r"\(clock -(9|10)\.\d{3}s, sent \d\d:\d\d:\d\d\.\d{3}\)"
    assert re.search(clock, out.splitlines()[1])
    # Received seconds after it happened: both times shown.
    assert re.search(r"first  \(received \d\d:\d\d:\d\d\.\d{3}\)$", out.splitlines()[0])
    assert messages(run(served, "logs", "cli-order", "--order", "arrival")) == [
        "third",
        "first",
        "second",
    ]
    relative = run(served, "logs", "cli-order", "--relative").splitlines()
    assert relative[0].split()[0] == "+0.000s"
    assert relative[2].split()[0] == "+2.000s"


def in_a_terminal(service: Service, columns: int, *args: str) -> str:
    """What a command prints under a pseudo-terminal ``columns`` wide."""
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACESINK_")}
    env.update(TRACESINK_URL=service.url, NO_COLOR="1", COLUMNS=str(columns), TERM="xterm")
    process = subprocess.Popen(
        [sys.executable, "-m", "tracesink", *args], stdout=child, stderr=child, env=env
    )
    os.close(child)
    seen = b""
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 1)
            if ready:
                try:
                    chunk = os.read(main, 65536)
                except OSError:  # the child side closed: everything was read
                    break
                if not chunk:
                    break
                seen += chunk
            elif process.poll() is not None:
                break
        assert process.wait(15) == 0, seen
    finally:
        os.close(main)
    text = seen.decode(errors="replace").replace("\r\n", "\n")
    return re.sub(r"\x1b\[[0-9;]*m", "", text)  # bold and dim stay under NO_COLOR


def test_traces_never_cuts_an_id(served: Service) -> None:
    """A 48-character id is printed whole into a pipe (one plain line per trace) and in a
    40-column terminal (the id on its own line, its details below); a wide terminal gets the
    table."""
    body = {"trace_id": LONG_ID, "message": "long", "system": "browser"}
    assert httpx.post(f"{served.url}/log", json=body).status_code == 200

    piped = [line for line in run(served, "traces").splitlines() if LONG_ID in line]
    assert len(piped) == 1
    assert piped[0].split()[0] == LONG_ID
    assert piped[0].split()[2:] == ["1", "0", "browser"]

    narrow = in_a_terminal(served, 40, "traces").splitlines()
    assert LONG_ID in narrow
    assert "1 entry" in narrow[narrow.index(LONG_ID) + 1]

    wide = in_a_terminal(served, 160, "traces").splitlines()
    assert wide[0].split()[:2] == ["trace", "last"]
    assert any(line.startswith(LONG_ID + " ") for line in wide)
