"""Instructions per entry of tracesink's app (routes, pipeline, writer, store), counted by
callgrind: a figure that other load on this shared machine does not move.

The app runs in this process (no HTTP server, no socket: the floor is left out by
construction) on the ``memory://`` store, or with ``--store redis`` on a redis-server this
harness starts (bench/run.py's, pinned to the load core; flushed before each run, and not
under callgrind: only the app's side of the store step is counted), limits checked on every
entry and never reached; each
round sends ``--concurrency`` requests at once, so the writer's group commit batches them as it
does under load. Workloads as bench/run.py's: (a) one ``POST /log`` entry of ~213 bytes, 1000
traces, eight variants; (b) ``POST /logs`` of 20 such entries of one trace.

    .venv/bin/python bench/app_instructions.py --tree /path/to/base --tree .   # under callgrind
    .venv/bin/python bench/app_instructions.py --run a --rounds 200            # one plain run
    .venv/bin/python bench/app_instructions.py --store redis --tree /path/to/base --tree .

Each tree's ``src/`` is put first on PYTHONPATH; the figure is the difference of two runs of
different round counts (start-up cancels out) over the entries in between.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HUGE = "1000000000"
TRACES = [f"{i:08x}-7c1e-4b5a-9d0e-{i * 7919:012x}" for i in range(1000)]
VARIANTS = [
    ("info", "browser", "fetch /api/cart/items -> 200 in 143 ms", '{"url":"/cart","sid":"a81f"}'),
    ("warn", "browser", "retrying POST /api/orders after 503", '{"attempt":2,"online":true}'),
    ("error", "browser", "TypeError: cannot read 'id' of undefined", '{"line":118,"col":22}'),
    ("info", "convex", "mutation orders:create committed in 12 ms", '{"function":"orders:create"}'),
    ("log", "convex", "action payments:charge called provider", '{"retry":0,"sid":"b6c9"}'),
    ("info", "worker", "edge cache miss for /api/catalog, origin 88 ms", '{"colo":"FRA"}'),
    ("warn", "worker", "upstream slow: /api/search took 930 ms", '{"colo":"AMS","status":200}'),
    ("log", "browser", "render Dashboard took 38 ms, 212 rows", '{"route":"dashboard.index"}'),
]
# Callgrind counts the instructions of the whole run: twice, with these round counts, and the
# difference is what the rounds in between cost.
COLLECTED = re.compile(r"Collected : (\d+)")


def entry(n: int, trace: str, system: str | None = None) -> str:
    level, sent_system, message, context = VARIANTS[n % len(VARIANTS)]
    return (
        f'{{"trace_id":"{trace}","message":"{message} (seq 1-{n})","level":"{level}",'
        f'"system":"{system or sent_system}","context":{context}}}'
    )


def make_body(workload: str, n: int) -> tuple[str, bytes, int]:
    trace = TRACES[(n * 7) % len(TRACES)]
    if workload == "a":
        return "/log", entry(n, trace).encode(), 1
    items = ",".join(entry(n * 20 + i, trace, "browser") for i in range(20))
    return "/logs", f"[{items}]".encode(), 20


BODIES = 1024  # made before the first round, so that making them is no part of the difference


async def request(app: Any, path: str, payload: bytes) -> int:
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8787),
        "scheme": "http",
    }
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": payload, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])

    await app(scope, receive, send)
    return status


async def drive(
    workload: str, rounds: int, concurrency: int, redis_port: int = 0
) -> tuple[int, float]:
    from tracesink.app.application import TraceSinkApp
    from tracesink.config import load_settings

    store = "memory://"
    if redis_port:
        import redis

        with redis.Redis(port=redis_port) as client:
            client.flushall()
        store = f"redis://127.0.0.1:{redis_port}/0"
    env = {
        "TRACESINK_STORE": store,
        "TRACESINK_GLOBAL_LIMIT": HUGE,
        "TRACESINK_TRACE_LIMIT": HUGE,
        "TRACESINK_MAX_TRACE_ENTRIES": HUGE,
        "TRACESINK_SPOOL_DIR": "off",
    }
    app = TraceSinkApp(load_settings(env))
    bodies = [make_body(workload, n) for n in range(BODIES)]
    stored, n = 0, 0
    async with app.running():
        started = time.perf_counter()
        for _ in range(rounds):
            calls = []
            for _ in range(concurrency):
                path, payload, entries = bodies[n % BODIES]
                calls.append((request(app, path, payload), entries))
                n += 1
            statuses = await asyncio.gather(*(call for call, _ in calls))
            stored += sum(e for (_, e), s in zip(calls, statuses, strict=True) if s == 200)
        seconds = time.perf_counter() - started
    return stored, seconds


def under_callgrind(script_argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run ``python *script_argv`` under callgrind: (instructions counted, what it printed)."""
    argv = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable]
    done = subprocess.run([*argv, *script_argv], capture_output=True, text=True, env=env)
    found = COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"the run under callgrind failed:\n{done.stdout}\n{done.stderr[-3000:]}")
    return int(found.group(1)), done.stdout


def instructions(
    tree: Path, workload: str, rounds: int, concurrency: int, redis_port: int
) -> tuple[int, int]:
    """(instructions, entries stored) of one run under callgrind."""
    argv = [__file__, "--run", workload, "--rounds", str(rounds)]
    argv += ["--concurrency", str(concurrency), "--redis-port", str(redis_port)]
    env = {**os.environ, "PYTHONPATH": str(tree / "src"), "PYTHONHASHSEED": "0"}
    count, printed = under_callgrind(argv, env)
    return count, int(printed.split()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", type=Path, help="a checkout (repeatable)")
    parser.add_argument("--workloads", default="a,b")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=10, help="with --run: rounds to send")
    parser.add_argument("--store", choices=("memory", "redis"), default="memory")
    parser.add_argument("--run", choices=("a", "b"), help=argparse.SUPPRESS)
    parser.add_argument("--redis-port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        import uvloop  # the loop `tracesink serve` runs on: asyncio's own would be counted too

        run = drive(args.run, args.rounds, args.concurrency, args.redis_port)
        stored, seconds = uvloop.run(run)
        print(stored, f"{seconds / max(1, stored) * 1e6:.1f} us/entry")
        return
    with ExitStack() as stack:
        redis_port = 0
        if args.store == "redis":
            sys.path.insert(0, str(ROOT / "bench"))
            from run import redis_server

            redis_port, _ = stack.enter_context(redis_server())
        for workload in args.workloads.split(","):
            for tree in args.tree or [ROOT]:
                low = instructions(tree.resolve(), workload, 3, args.concurrency, redis_port)
                high = instructions(tree.resolve(), workload, 13, args.concurrency, redis_port)
                per_entry = (high[0] - low[0]) / (high[1] - low[1])
                print(
                    f"({workload}, {args.store}) {tree}: {per_entry:,.0f} instructions per entry",
                    flush=True,
                )


if __name__ == "__main__":
    main()
