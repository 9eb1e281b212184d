"""The process group behind ``tracesink dev``: output behind each child's name, a child's exit
noticed, children stopped newest first, one that ignores SIGTERM killed."""

from __future__ import annotations

import asyncio
import io
import sys

import pytest
from rich.console import Console

from tracesink.dev import processes
from tracesink.dev.processes import Command, ProcessGroup


def group_with_output() -> tuple[ProcessGroup, io.StringIO]:
    out = io.StringIO()
    return ProcessGroup(Console(file=out, highlight=False, width=200)), out


def python(name: str, code: str) -> Command:
    return Command(name, [sys.executable, "-c", code])


async def until_up(out: io.StringIO, children: int) -> None:
    """Until ``children`` children have printed "up" (their signal handlers are then set)."""
    for _ in range(400):
        if out.getvalue().count("│ up") == children:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not every child came up: {out.getvalue()}")


async def test_each_line_shows_behind_its_childs_name_and_an_exit_is_noticed() -> None:
    """Both streams of a child come out line by line behind its name; its exit is reported
    with its status."""
    group, out = group_with_output()
    await group.start(
        python("chatty", "import sys; print('one'); print('two', file=sys.stderr); sys.exit(3)")
    )
    exited = await group.wait_for_exit()
    await group.stop()
    assert (exited.name, exited.returncode) == ("chatty", 3)
    assert str(exited) == "chatty exited with status 3"
    lines = out.getvalue().splitlines()
    assert sorted(lines) == ["chatty    │ one", "chatty    │ two"]


async def test_stop_ends_children_newest_first() -> None:
    """The newest child is stopped (and its last words shown) before an older one is signalled."""
    group, out = group_with_output()
    on_term = (
        "import signal, sys, time\n"
        "def bye(*_): print('bye from {0}', flush=True); sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, bye)\n"
        "print('up', flush=True)\n"
        "time.sleep(60)\n"
    )
    for name in ("first", "second"):
        await group.start(python(name, on_term.format(name)))
    await until_up(out, 2)
    await group.stop()
    farewells = [line for line in out.getvalue().splitlines() if "bye" in line]
    assert farewells == ["second    │ bye from second", "first     │ bye from first"]
    assert group.children == []


async def test_a_child_that_ignores_sigterm_is_killed(monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGTERM ignored: SIGKILL after the stop timeout."""
    monkeypatch.setattr(processes, "STOP_TIMEOUT_S", 0.5)
    group, out = group_with_output()
    child = await group.start(
        python(
            "stubborn",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('up', flush=True); time.sleep(60)",
        )
    )
    await until_up(out, 1)
    await group.stop()
    assert child.process.returncode == -9
