"""Instructions per entry of the Redis store's step alone, counted by callgrind:
``RedisStore.write_batch`` as the writer calls it, then what the pipeline does with the decisions
(``Telemetry.record_decisions``), on a real redis-server that this harness starts (bench/run.py's,
pinned to the load core, flushed before each run, not under callgrind).

Three batches, as the group-commit writer makes them: under bench/run.py's workloads, (a) 64
entries of 64 traces (64 concurrent single-entry requests), (b) 20 entries of one trace (one
``POST /logs``); and (c) one entry, as requests that come one at a time make them (a developer's
laptop), where the cost of a call is the cost of an entry. Limits are checked on every entry
and never reached.

    .venv/bin/python bench/store_step.py --tree /path/to/base --tree .   # under callgrind
    .venv/bin/python bench/store_step.py --run a --steps 2000 --redis-port 6379   # CPU time, plain

Each tree's ``src/`` is put first on PYTHONPATH; the figure is the difference of two runs of
different step counts (start-up cancels out) over the entries in between.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from app_instructions import HUGE, TRACES, VARIANTS, under_callgrind

if TYPE_CHECKING:
    from tracesink.model import PreparedEntry

ROOT = Path(__file__).resolve().parent.parent
SHAPES = {"a": (64, 64), "b": (20, 1), "c": (1, 1)}  # entries per batch, traces among them
STEPS = {"a": (20, 120), "b": (50, 350), "c": (100, 1100)}  # the two runs' step counts


def batch(workload: str, step: int) -> list[PreparedEntry]:
    from tracesink.config import load_settings
    from tracesink.ingest.sender import Sender
    from tracesink.ingest.validate import decode_entry, prepare_entry
    from tracesink.pipeline import rules_from

    rules = rules_from(load_settings({"TRACESINK_STORE": "memory://"}))
    sender = Sender({}, pinned=None, clock_ms=None)
    size, traces = SHAPES[workload]
    entries: list[PreparedEntry] = []
    for i in range(size):
        level, system, message, context = VARIANTS[i % len(VARIANTS)]
        trace = TRACES[(step * traces + i % traces) % len(TRACES)]
        body = (
            f'{{"trace_id":"{trace}","message":"{message} (seq {step}-{i})","level":"{level}",'
            f'"system":"{system}","context":{context}}}'
        )
        entries.append(prepare_entry(decode_entry(body.encode()), rules, sender, 0))
    return entries


async def drive(workload: str, steps: int, redis_port: int) -> tuple[int, float]:
    import redis

    from tracesink.accounting.telemetry import Telemetry
    from tracesink.config import load_settings
    from tracesink.pipeline import policy_from
    from tracesink.store.base import new_batch_id
    from tracesink.store.redis import RedisStore

    with redis.Redis(port=redis_port) as client:
        client.flushall()
    settings = load_settings(
        {
            "TRACESINK_STORE": "memory://",
            "TRACESINK_GLOBAL_LIMIT": HUGE,
            "TRACESINK_TRACE_LIMIT": HUGE,
            "TRACESINK_MAX_TRACE_ENTRIES": HUGE,
        }
    )
    store = RedisStore(f"redis://127.0.0.1:{redis_port}/0", policy_from(settings))
    telemetry = Telemetry(lambda: store.usage)
    batches = [batch(workload, step) for step in range(16)]  # made before the steps are counted
    stored = 0
    try:
        started = time.process_time()
        for step in range(steps):
            entries = batches[step % len(batches)]
            decisions = await store.write_batch(entries, int(time.time() * 1000), new_batch_id())
            telemetry.record_decisions(entries, decisions)
            stored += sum(d.limited_by is None for d in decisions)
        seconds = time.process_time() - started  # this process only, not the server
    finally:
        await store.close()
    return stored, seconds


def instructions(tree: Path, workload: str, steps: int, redis_port: int) -> tuple[int, int]:
    """(instructions, entries stored) of one run under callgrind."""
    argv = [__file__, "--run", workload, "--steps", str(steps), "--redis-port", str(redis_port)]
    env = {**os.environ, "PYTHONPATH": str(tree / "src"), "PYTHONHASHSEED": "0"}
    count, printed = under_callgrind(argv, env)
    return count, int(printed.split()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", type=Path, help="a checkout (repeatable)")
    parser.add_argument("--workloads", default="a,b,c")
    parser.add_argument("--steps", type=int, default=0, help="with --run: steps to take")
    parser.add_argument("--run", choices=tuple(SHAPES), help=argparse.SUPPRESS)
    parser.add_argument("--redis-port", type=int, default=0, help="with --run: a running server")
    args = parser.parse_args()
    if args.run:
        import uvloop  # the loop `tracesink serve` runs on

        stored, seconds = uvloop.run(drive(args.run, args.steps or 100, args.redis_port))
        print(stored, f"{seconds / max(1, stored) * 1e6:.2f} us/entry")
        return
    with ExitStack() as stack:
        sys.path.insert(0, str(ROOT / "bench"))
        from run import redis_server

        redis_port, _ = stack.enter_context(redis_server())
        for workload in args.workloads.split(","):
            low, high = STEPS[workload]
            for tree in args.tree or [ROOT]:
                first = instructions(tree.resolve(), workload, low, redis_port)
                second = instructions(tree.resolve(), workload, high, redis_port)
                per_entry = (second[0] - first[0]) / (second[1] - first[1])
                print(f"({workload}) {tree}: {per_entry:,.0f} instructions per entry", flush=True)


if __name__ == "__main__":
    main()
