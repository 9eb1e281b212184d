"""A small process group for ``tracesink dev``: start named children, show their output line by
line behind a coloured name, and stop them all, in reverse order, when asked or when one dies.

Plain asyncio subprocesses rather than a Procfile runner (honcho, overmind): the dev stack is a
handful of processes whose start order matters (redis before tracesink before the apps, each
waited for), which a Procfile cannot say, and asyncio needs no dependency.

Each child runs in a session of its own, so a Ctrl-C in the terminal reaches only ``tracesink
dev``, which then stops the children in the order that loses nothing: the apps first, then
tracesink (which drains its writer), then redis. A child is stopped with SIGTERM to its whole
process group, then SIGKILL if it has not exited within ``STOP_TIMEOUT_S``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.text import Text

STOP_TIMEOUT_S = 10.0
# Colours that read on dark and light terminals alike; children take them in turn.
COLOURS = ("cyan", "magenta", "green", "yellow", "blue", "bright_red")
DEV_COLOUR = "bold"
LINE_LIMIT = 1 << 20  # a longer line than asyncio's 64 KiB default must not end the relay


@dataclass(frozen=True)
class Command:
    """What to run: ``argv`` under ``name`` (the output prefix), with ``env`` added to ours."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None


@dataclass
class Child:
    command: Command
    process: asyncio.subprocess.Process
    output: asyncio.Task[None]  # relays its output; done once the child closed it


class ChildExited(Exception):
    """A child ended while the group was running."""

    def __init__(self, name: str, returncode: int) -> None:
        super().__init__(f"{name} exited with status {returncode}")
        self.name = name
        self.returncode = returncode


class ProcessGroup:
    """Children started one by one, watched together, stopped together (newest first)."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(highlight=False, soft_wrap=True)
        self.children: list[Child] = []
        self.width = len("tracesink")  # the longest usual name: prefixes line up from the start

    def say(self, message: str, name: str = "dev", colour: str = DEV_COLOUR) -> None:
        """One line of output behind a name (``dev`` for the group's own lines)."""
        line = Text(f"{name:<{self.width}} │ ", style=colour)
        line.append(message)  # a Text, never markup: children print what they like
        self.console.print(line)

    async def start(self, command: Command) -> Child:
        self.width = max(self.width, len(command.name))
        process = await asyncio.create_subprocess_exec(
            *command.argv,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **command.env},
            cwd=command.cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
            limit=LINE_LIMIT,
        )
        colour = COLOURS[len(self.children) % len(COLOURS)]
        relay = asyncio.create_task(self._relay(command.name, colour, process))
        child = Child(command, process, relay)
        self.children.append(child)
        return child

    async def _relay(self, name: str, colour: str, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        while line := await process.stdout.readline():
            self.say(line.decode(errors="replace").rstrip(), name, colour)

    async def wait_for_exit(self) -> ChildExited:
        """Wait until any child ends; which one, and how."""
        waits = {
            asyncio.create_task(child.process.wait()): child.command.name for child in self.children
        }
        try:
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()
        finished = done.pop()
        return ChildExited(waits[finished], finished.result())

    async def stop(self) -> None:
        """Stop every child, newest first; each is reaped before the next is signalled."""
        for child in reversed(self.children):
            await _stop_child(child)
            with contextlib.suppress(asyncio.CancelledError):
                await child.output  # the last lines it printed
        self.children.clear()


async def _stop_child(child: Child) -> None:
    process = child.process
    if process.returncode is None:
        _signal_group(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            _signal_group(process.pid, signal.SIGKILL)
            await process.wait()
    # Anything the child left behind in its group (a grandchild) goes too.
    _signal_group(process.pid, signal.SIGKILL)


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)
