"""``tracesink dev [--example]``: the whole development stack in one terminal.

Without ``--example``: a private ``redis-server`` on a free port when one is on PATH (else the
embedded ``memory://`` store) and ``tracesink serve`` on it, the way several instances would share
one store in production, with nothing left behind (no spool in the home directory, no Redis data
on disk). With ``--example``: also the full-stack example (examples/fullstack), a web page, its
Python backend and a Node worker logging into one trace, whose viewer URL is printed.

Ctrl-C or SIGTERM stops everything and exits 0; a child that dies on its own stops the rest and
exits 1, naming it.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import signal
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tracesink.client.context import new_trace_id
from tracesink.dev import stack
from tracesink.dev.processes import Child, ChildExited, ProcessGroup

READY_TIMEOUT_S = 30.0


class DevError(Exception):
    """The stack cannot be started as asked (a missing tool); said in one line, exit 2."""


def add(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "dev",
        help="run tracesink for development (with a private redis-server), "
        "and with --example the full-stack example",
    )
    parser.add_argument("--port", type=int, default=8787, help="tracesink's port (default 8787)")
    parser.add_argument(
        "--store",
        help="use this store rather than a private redis-server (memory:// for the embedded one; "
        "default: TRACESINK_STORE, else a private redis-server when one is on PATH)",
    )
    parser.add_argument(
        "--example",
        action="store_true",
        help="also run the full-stack example: a page, a Python backend and a Node worker",
    )


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    group = ProcessGroup()
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    # SIGHUP too: a closed terminal must not leave the children (in sessions of their own) running.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(signum, stopped.set)
    with tempfile.TemporaryDirectory(prefix="tracesink-dev-") as scratch:
        work = asyncio.create_task(_start_and_watch(group, args, Path(scratch)))
        stop = asyncio.create_task(stopped.wait())
        try:
            await asyncio.wait({work, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (work, stop):
                task.cancel()
            await asyncio.gather(work, stop, return_exceptions=True)
            if group.children:
                group.say("stopping")
            await group.stop()
    return _status(group, work)


def _status(group: ProcessGroup, work: asyncio.Task[None]) -> int:
    failure = None if work.cancelled() else work.exception()
    if failure is None:
        return 0
    group.say(f"tracesink dev: {failure}")
    if isinstance(failure, DevError | OSError):  # OSError: a program that cannot be started
        return 2
    if isinstance(failure, ChildExited):
        return 1
    raise failure


async def _start_and_watch(group: ProcessGroup, args: argparse.Namespace, scratch: Path) -> None:
    """Start the stack in order, each part once it can be used, then watch it; returns only
    by raising (a child exited, or something is missing)."""
    node = stack.node_binary()
    if args.example and node is None:
        raise DevError("--example needs node (18 or newer) on PATH for its worker")
    ports = stack.Ports(args.port, stack.free_port(), stack.free_port())
    store = stack.store_from(args.store)
    if store is None:
        store = await _private_store(group, scratch)
    sink = await group.start(
        stack.sink_command(ports.sink, store, scratch, os.environ, args.example)
    )
    await _until(sink, functools.partial(stack.sink_healthy, ports.sink_url))
    lines = [f"tracesink: {ports.sink_url}/  (the viewer)"]
    if args.example and node is not None:
        trace_id = new_trace_id()
        for command, port in stack.example_commands(ports, trace_id, node):
            child = await group.start(command)
            await _until(child, functools.partial(stack.port_open, port))
        lines += [
            f"example page: http://127.0.0.1:{ports.backend}/  (open it: the page, the backend "
            "and the worker log into one trace)",
            f"demo trace: {ports.sink_url}/#/trace/{trace_id}",
        ]
    for line in [*lines, "Ctrl-C stops everything"]:
        group.say(line)
    raise await group.wait_for_exit()


async def _private_store(group: ProcessGroup, scratch: Path) -> str:
    """A redis-server of this run's own when one is on PATH, else the embedded store."""
    binary = stack.redis_binary()
    if binary is None:
        group.say("no redis-server on PATH: using the embedded memory:// store")
        return "memory://"
    port = stack.free_port()
    redis = await group.start(stack.redis_command(binary, port, scratch))
    await _until(redis, functools.partial(stack.port_open, port))
    return f"redis://127.0.0.1:{port}/0"


async def _until(child: Child, ready: Callable[[], Awaitable[bool]]) -> None:
    """Wait until ``ready()``; ChildExited if the child ends first, DevError after a while."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT_S
    while not await ready():
        if child.process.returncode is not None:
            raise ChildExited(child.command.name, child.process.returncode)
        if loop.time() > deadline:
            raise DevError(f"{child.command.name} was not ready within {READY_TIMEOUT_S:.0f}s")
        await asyncio.sleep(0.05)
