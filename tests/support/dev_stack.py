"""``tracesink dev`` as a real process, its output read as it comes, and every process under it
found through /proc, so that a test can check that stopping it leaves none behind."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.service import end

READY_LINE = "Ctrl-C stops everything"


@dataclass
class DevStack:
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    _incoming: queue.Queue[str | None] = field(default_factory=queue.Queue)

    def wait_for(self, pattern: str, timeout: float = 60.0) -> re.Match[str]:
        """The first output line (so far or to come) that matches ``pattern``."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for line in self.lines[seen:]:
                found = re.search(pattern, line)
                if found:
                    return found
            seen = len(self.lines)
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                line_or_end = self._incoming.get(timeout=left)
            except queue.Empty:
                break
            if line_or_end is None:
                break  # the process closed its output
            self.lines.append(line_or_end)
        output = "\n".join(self.lines)
        raise AssertionError(f"no line matching {pattern!r}; tracesink dev said:\n{output}")

    def read_rest(self) -> str:
        """All it printed, once it has exited."""
        while (line := self._incoming.get(timeout=30)) is not None:
            self.lines.append(line)
        return "\n".join(self.lines)

    def stop(self, signum: int = signal.SIGINT, timeout: float = 30.0) -> int:
        self.process.send_signal(signum)
        return self.process.wait(timeout)


@contextmanager
def dev_stack(*args: str, env: dict[str, str] | None = None) -> Iterator[DevStack]:
    """``python -m tracesink dev ARGS`` with no TRACESINK_* variable but those in ``env``;
    ended by SIGTERM if the test leaves it running (it stops its parts; SIGKILL, with everything
    under it, if it has not exited by a deadline)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TRACESINK_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "tracesink", "dev", *args],
        env={**clean, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    stack = DevStack(process)

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            stack._incoming.put(line.rstrip("\n"))
        stack._incoming.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        yield stack
    finally:
        if process.poll() is None:
            leftovers = descendants(process.pid)
            end(process, drain=False)  # the pump thread reads its output
            for pid in leftovers:
                _kill_quietly(pid)
        reader.join(timeout=10)
        assert process.stdout is not None
        process.stdout.close()


def descendants(pid: int) -> set[int]:
    """Every process under ``pid`` (children, theirs, …), read from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # it ended meanwhile
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(parent, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (a zombie waiting to be reaped is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _kill_quietly(pid: int) -> None:
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
