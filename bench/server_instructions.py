"""Instructions per entry through the server as ``tracesink serve`` runs it, and through the floor
(a bare ASGI app on plain uvicorn), counted by callgrind: what each tree adds above the floor,
in a figure other load on this shared machine does not move.

What ``bench/compare_trees.py`` measures in CPU seconds, here in instructions, in this process:
each tree's own protocol (``guarded_protocol``, configured as ``server/run.py`` configures
uvicorn) and app (``app_from_environment``, its collector tuned as in ``serve``) on uvloop, fed
whole requests as wrk sends them, over ``--connections`` connections at once (one request on
each per round, so the writer's group commit batches them as under load), on a redis-server
this harness starts (``--store memory``: no store process at all). The floor is
bench/frameworks.py's bare ASGI app on uvicorn's own httptools protocol, fed the same requests.

Not counted: the kernel (the socket reads and writes: the same number per request for every
server here, one read and one write) and the redis-server process. So the figure says what
the Python side costs, the part this project's code can change.

    .venv/bin/python bench/server_instructions.py --base f217fd6 [--head .] [--store redis]

Each figure is the difference of two runs of different round counts (start-up cancels out)
over the entries in between.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import subprocess
import sys
import tempfile
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from types import FrameType
from typing import Any

import app_instructions
import compare_trees

BENCH = Path(__file__).resolve().parent
LOW, HIGH = 3, 13  # rounds of the two runs whose difference is measured


class Connection(asyncio.Transport):
    """A connection's socket as the protocol sees it: it counts the answers written to it."""

    def __init__(self, answered: Any) -> None:
        super().__init__()
        self._answered = answered
        self._closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._answered()

    def writelines(self, list_of_data: Any) -> None:
        self._answered()

    def close(self) -> None:
        self._closed = True

    def is_closing(self) -> bool:
        return self._closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name in ("peername", "sockname") else default

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def wire_request(path: str, body: bytes) -> bytes:
    """A request as bench/wrk's scripts send it."""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:8787\r\nContent-Type: application/json\r\n"
    return f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body


async def drive(
    server: str, workload: str, rounds: int, connections: int, bytecodes: Counter[str] | None
) -> int:
    """Send ``rounds`` rounds of requests; the entries they carried. ``bytecodes``: count in it
    the bytecodes each function runs in the rounds after the first three."""
    import uvicorn
    from uvicorn.server import ServerState

    app: Any
    if server == "floor":
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        from frameworks import bare_asgi

        # As bench/frameworks.py serves it: uvicorn's defaults (its proxy-headers wrapper too).
        app, protocol_class, inner = bare_asgi, HttpToolsProtocol, None
        config = uvicorn.Config(app, access_log=False, log_level="warning", server_header=False)
    else:
        from tracesink.app.main import app_from_environment
        from tracesink.server.protocol import guarded_protocol

        app = app_from_environment()
        inner = app.app
        await inner.startup()
        protocol_class = guarded_protocol(32 * 1024, 10.0, 60.0)
        config = uvicorn.Config(  # as server/run.py configures it
            app,
            ws="none",
            proxy_headers=False,
            access_log=False,
            log_level="warning",
            server_header=False,
        )
    config.load()
    state = ServerState()
    requests = [app_instructions.make_body(workload, n) for n in range(app_instructions.BODIES)]
    wire = [(wire_request(path, body), count) for path, body, count in requests]
    pending = 0
    done = asyncio.Event()

    def answered() -> None:
        nonlocal pending
        pending -= 1
        if pending == 0:
            done.set()

    protocols = []
    for _ in range(connections):
        protocol = protocol_class(config=config, server_state=state, app_state={})
        protocol.connection_made(Connection(answered))
        protocols.append(protocol)
    entries, n = 0, 0
    for round_ in range(rounds):
        if bytecodes is not None and round_ == LOW:
            entries = 0
            sys.settrace(_bytecode_counter(bytecodes))
        pending = connections
        done.clear()
        for protocol in protocols:
            data, count = wire[n % len(wire)]
            n += 1
            entries += count
            protocol.data_received(data)
        await done.wait()
    sys.settrace(None)
    for protocol in protocols:
        protocol.connection_lost(None)
    if inner is not None:
        await inner.shutdown()
    return entries


def _bytecode_counter(counts: Counter[str]) -> Any:
    """A trace function counting the bytecodes run per function (``file:function``): the Python
    work of a request, step by step, in a figure that does not move between runs."""

    def calls(frame: FrameType, event: str, arg: object) -> Any:
        frame.f_trace_opcodes = True
        code = frame.f_code
        where = f"{Path(code.co_filename).name}:{code.co_name}"

        def steps(frame: FrameType, event: str, arg: object) -> Any:
            if event == "opcode":
                counts[where] += 1
            return steps

        return steps

    return calls


def run_env(tree: Path | None, args: Any) -> dict[str, str]:
    """The environment of one run: the tree's code first, the settings bench/run.py gives."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACESINK_")}
    env.update(
        {
            "PYTHONHASHSEED": "0",
            "PYTHONPATH": os.pathsep.join([*([str(tree / "src")] if tree else []), str(BENCH)]),
            "TRACESINK_STORE": args.store_url,
            "TRACESINK_GLOBAL_LIMIT": app_instructions.HUGE,
            "TRACESINK_TRACE_LIMIT": app_instructions.HUGE,
            "TRACESINK_MAX_TRACE_ENTRIES": app_instructions.HUGE,
            "TRACESINK_SPOOL_DIR": args.spool_dir,
        }
    )
    return env


def counted(
    server: str, tree: Path | None, workload: str, rounds: int, args: Any
) -> tuple[int, int]:
    """(instructions, entries) of one run under callgrind."""
    argv = [__file__, "--run", server, "--workload", workload, "--rounds", str(rounds)]
    argv += ["--connections", str(args.connections)]
    count, printed = app_instructions.under_callgrind(argv, run_env(tree, args))
    return count, int(printed.split()[0])


def per_entry(server: str, tree: Path | None, workload: str, args: Any) -> float:
    if args.store_url.startswith("redis"):
        import redis

        with redis.Redis(port=args.redis_port) as client:
            client.flushall()
    low = counted(server, tree, workload, LOW, args)
    high = counted(server, tree, workload, HIGH, args)
    return (high[0] - low[0]) / (high[1] - low[1])


def run_here(args: Any) -> None:
    """One run in this process (under callgrind, or counting bytecodes)."""
    import uvloop  # the loop `tracesink serve` runs on

    counts: Counter[str] | None = Counter() if args.bytecodes else None
    gc.collect()
    run = drive(args.run, args.workload, args.rounds, args.connections, counts)
    entries = uvloop.run(run)
    print(entries)
    if counts is not None:
        total = sum(counts.values())
        print(f"({args.workload}) {total / entries:,.0f} bytecodes per entry; the most:")
        for where, count in counts.most_common(args.bytecodes):
            print(f"  {count / entries:8,.1f}  {where}")


def compare(args: Any, trees: dict[str, tuple[Path, str]]) -> None:
    for workload in args.workloads.split(","):
        floor = per_entry("floor", None, workload, args)
        figures = {
            name: per_entry("tracesink", tree, workload, args) for name, (tree, _) in trees.items()
        }
        above = {name: figure - floor for name, figure in figures.items()}
        print(
            f"({workload}) floor {floor:,.0f}; base {figures['base']:,.0f} "
            f"({above['base']:,.0f} above); head {figures['head']:,.0f} "
            f"({above['head']:,.0f} above): above the floor base / head "
            f"{above['base'] / above['head']:.2f}x",
            flush=True,
        )


def profile(args: Any, head: Path) -> None:
    """The head tree's bytecodes per entry, by function (no valgrind: a trace function)."""
    for workload in args.workloads.split(","):
        argv = [sys.executable, __file__, "--run", "tracesink", "--workload", workload]
        argv += ["--rounds", str(HIGH), "--connections", str(args.connections)]
        argv += ["--bytecodes", str(args.bytecodes)]
        done = subprocess.run(argv, capture_output=True, text=True, env=run_env(head, args))
        if done.returncode != 0:
            raise SystemExit(f"profile run failed:\n{done.stdout}\n{done.stderr[-3000:]}")
        print(done.stdout.split("\n", 1)[1], end="", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="a directory with src/, or a git revision")
    parser.add_argument("--head", default=".", help="the same (default: this checkout)")
    parser.add_argument("--workloads", default="a,b")
    parser.add_argument("--store", choices=("memory", "redis"), default="redis")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--bytecodes",
        type=int,
        metavar="N",
        help="instead: list the N functions of the head tree that run the most bytecodes per "
        "entry (a trace function, no valgrind): where its Python work goes",
    )
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--workload", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        run_here(args)
        return
    if not args.base and not args.bytecodes:
        parser.error("--base is required (or --bytecodes)")
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="server-instr-")))
        names = ("head",) if args.bytecodes else ("base", "head")
        trees = {
            name: compare_trees.export_tree(getattr(args, name), scratch, name) for name in names
        }
        args.spool_dir = str(scratch / "spool")
        args.store_url, args.redis_port = "memory://", 0
        if args.store == "redis":
            from run import redis_server

            args.redis_port, _ = stack.enter_context(redis_server())
            args.store_url = f"redis://127.0.0.1:{args.redis_port}/0"
        described = ", ".join(f"{name} {commit}" for name, (_, commit) in trees.items())
        print(f"{described}, store {args.store}", flush=True)
        if args.bytecodes:
            profile(args, trees["head"][0])
        else:
            compare(args, trees)


if __name__ == "__main__":
    main()
