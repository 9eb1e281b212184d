"""Cost benchmark: Redis commands per entry, as a hosted Redis bills them, for every workload of
issue 10, counted by the server itself (``INFO commandstats`` counts each command a Lua script
runs and the script call itself).

Runs a real ``tracesink serve`` on its own redis-server for each workload, from this tree or from
another checkout (``--tree /tmp/base``: that tree's ``src/`` goes first on ``PYTHONPATH``), so a
before/after comparison runs the same workloads with the same client on the same machine.

    flock /tmp/tracesink-bench.lock .venv/bin/python bench/cost.py [--tree PATH] [--label NAME]

Workloads (defaults: global limit 1000, trace limit 100, as in the original plan):

- lone: one entry every 100 ms to one active trace (after one warm-up entry), 50 entries;
- runaway: a trace past its limit, one client posting in a tight loop for ``--loop-s`` seconds
  (sequentially, one connection); then ``--settle-s`` seconds for drop markers to be written;
  per refused entry; also checks that the marker counts every refusal;
- new-ids: with the global limit spent, 10,000 entries each of a new trace id (``POST /logs`` of
  100 at a time), then ``--settle-s``; commands and keys created;
- load-single / load-batch: ``wrk`` with bench/wrk/log_single.lua (1000 traces) and
  logs_batch.lua (20 entries of one trace per request), 64 connections, ``--duration`` s, limits
  too high to refuse anything: per stored entry.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import redis

from tracesink.store.keys import trace_key

sys.path.insert(0, str(Path(__file__).resolve().parent))
# bench/ is not a package: run.py's helpers are imported by path.
from run import (
    BENCH,
    LOAD_CORE,
    SERVER_CORE,
    VENV_BIN,
    free_port,
    redis_server,
    stop,
)

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ("config|resetstat", "info", "dbsize", "flushall", "lindex", "llen", "keys", "scan")
HUGE = 1_000_000_000


def billed(client: redis.Redis) -> int:
    stats: dict[str, dict[str, int]] = client.info("commandstats")
    return sum(v["calls"] for k, v in stats.items() if k.removeprefix("cmdstat_") not in HARNESS)


@contextmanager
def tracesink(tree: Path, redis_port: int, env: dict[str, str]) -> Iterator[str]:
    """A ``tracesink serve`` of ``tree`` on core 0, its URL while it runs."""
    port = free_port()
    with tempfile.TemporaryDirectory() as scratch:
        full = {k: v for k, v in os.environ.items() if not k.startswith("TRACESINK_")}
        if "max_trace_entries" not in (tree / "src/tracesink/config.py").read_text():
            # A tree before issue 21 has no cap on a trace's list, and refuses the variable.
            env = {k: v for k, v in env.items() if k != "TRACESINK_MAX_TRACE_ENTRIES"}
        full |= env | {"TRACESINK_SPOOL_DIR": str(Path(scratch) / "spool")}
        full["PYTHONPATH"] = str(tree / "src")
        argv = ["taskset", "-c", SERVER_CORE, str(VENV_BIN / "python"), "-m", "tracesink"]
        argv += ["serve", "--port", str(port), "--store", f"redis://127.0.0.1:{redis_port}/0"]
        proc = subprocess.Popen(argv, env=full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"tracesink did not start: {proc.stderr!r}")
                time.sleep(0.1)
            yield url
        finally:
            stop(proc)


def body(trace_id: str, n: int) -> dict[str, Any]:
    return {"trace_id": trace_id, "message": f"step {n} of the loop", "system": "browser"}


async def lone(url: str, client: redis.Redis) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url) as http:
        await http.post("/log", json=body("lone", 0))
        client.config_resetstat()
        start = time.monotonic()
        for n in range(1, 51):
            assert (await http.post("/log", json=body("lone", n))).status_code == 200
            await asyncio.sleep(max(0.0, start + n * 0.1 - time.monotonic()))
    return {"entries": 50, "commands": billed(client)}


async def runaway(url: str, client: redis.Redis, loop_s: float, settle_s: float) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url) as http:
        for n in range(100):
            assert (await http.post("/log", json=body("loop", n))).status_code == 200
        client.config_resetstat()
        refused, end = 0, time.monotonic() + loop_s
        while time.monotonic() < end:
            assert (await http.post("/log", json=body("loop", refused))).status_code == 429
            refused += 1
        await asyncio.sleep(settle_s)
    commands = billed(client)
    # A tree before issue 21 wrote logs:loop, without the braces.
    head = client.lindex(trace_key("", "loop"), 0) or client.lindex("logs:loop", 0)
    marked = json.loads(head).get("count", 0) if head else 0
    return {"entries": refused, "commands": commands, "marked": marked, "rate": refused / loop_s}


async def new_ids(url: str, client: redis.Redis, settle_s: float) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        for t in range(10):  # spend the global limit: 10 traces of 100
            batch = [body(f"fill-{t}", n) | {"system": "manual"} for n in range(100)]
            assert (await http.post("/logs", json=batch)).status_code == 200
        client.config_resetstat()
        keys_before = client.dbsize()
        for start in range(0, 10_000, 100):
            batch = [body(f"new-{i}", 0) | {"system": "manual"} for i in range(start, start + 100)]
            assert (await http.post("/logs", json=batch)).status_code == 429
        await asyncio.sleep(settle_s)
    commands = billed(client)
    return {"entries": 10_000, "commands": commands, "new_keys": client.dbsize() - keys_before}


def under_load(url: str, client: redis.Redis, script: str, duration: int) -> dict[str, Any]:
    argv = ["taskset", "-c", LOAD_CORE, "wrk", "-t1", "-c64", f"-d{duration}s", "--timeout", "10s"]
    argv += ["-s", str(BENCH / "wrk" / script), f"{url}{'/log' if 'single' in script else '/logs'}"]
    warm = [*argv[:4], "-d2s", *argv[5:]]
    subprocess.run(warm, capture_output=True, check=True)
    time.sleep(1)
    client.config_resetstat()
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    time.sleep(1)  # requests wrk cut off finish
    line = next(x for x in done.stdout.splitlines() if x.startswith("BENCH_RESULT "))
    result = json.loads(line.removeprefix("BENCH_RESULT "))
    entries = (result["requests"] - result["non2xx"]) * result["entries_per_request"]
    return {"entries": entries, "commands": billed(client)}


def measure(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    plan = {"TRACESINK_GLOBAL_LIMIT": "1000", "TRACESINK_TRACE_LIMIT": "100"}
    huge = {"TRACESINK_GLOBAL_LIMIT": str(HUGE), "TRACESINK_TRACE_LIMIT": str(HUGE)}
    huge["TRACESINK_MAX_TRACE_ENTRIES"] = str(HUGE)  # no trim: every entry stored is counted
    Row = tuple[str, dict[str, str], Callable[[str, redis.Redis], dict[str, Any]]]
    rows: list[Row] = [
        ("lone", plan, lambda u, c: asyncio.run(lone(u, c))),
        ("runaway", plan, lambda u, c: asyncio.run(runaway(u, c, args.loop_s, args.settle_s))),
        ("new-ids", plan, lambda u, c: asyncio.run(new_ids(u, c, args.settle_s))),
        ("load-single", huge, lambda u, c: under_load(u, c, "log_single.lua", args.duration)),
        ("load-batch", huge, lambda u, c: under_load(u, c, "logs_batch.lua", args.duration)),
    ]
    for name, env, run in rows:
        if args.only and name not in args.only.split(","):
            continue
        with redis_server() as (redis_port, _):
            client = redis.Redis(port=redis_port)
            with tracesink(args.tree, redis_port, env) as url:
                result = run(url, client)
            result["per_entry"] = result["commands"] / max(1, result["entries"])
            results[name] = result
            print(name, json.dumps(result), flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="checkout whose src/ to run")
    parser.add_argument("--label", default="", help="name for the results file")
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk per load row")
    parser.add_argument("--loop-s", type=float, default=5.0, help="seconds of the runaway loop")
    parser.add_argument("--settle-s", type=float, default=3.0, help="wait for deferred markers")
    parser.add_argument("--runs", type=int, default=1, help="repeat and report the median")
    parser.add_argument("--only", default="", help="comma-separated rows")
    args = parser.parse_args()
    runs = [measure(args) for _ in range(args.runs)]
    summary = {
        row: {
            key: statistics.median(run[row][key] for run in runs)
            for key in runs[0][row]
            if isinstance(runs[0][row][key], int | float)
        }
        for row in runs[0]
    }
    out = BENCH / "results" / f"cost-{args.label or args.tree.name}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"tree": str(args.tree), "runs": runs, "median": summary}, indent=1))
    for row, figures in summary.items():
        print(f"{row:<12} {figures['per_entry']:.4f} commands/entry  {json.dumps(figures)}")


if __name__ == "__main__":
    main()
