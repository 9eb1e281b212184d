"""The edge Worker in workerd beside the Python service, both on the same Upstash REST emulator.

Same machine, same run, same redis-server and REST server (tracesink.dev.rest_emulator, as its
own process next to redis-server on the load core), same wrk workloads as bench/run.py; the two
ingesters take turns on the server core:

- ``python``: ``tracesink serve --store upstash+http://…`` (the Python service's REST store, whose
  writer group-commits the entries of many concurrent requests into one script call);
- ``edge``: ``node edge/scripts/serve.mjs`` (Miniflare running the Worker in workerd, one script
  call per request: the platform's limit, docs/edge.md).

Two phases. ``admit``: limits of 10^9, nothing is refused (entries/s, p50/p99, server CPU per 1000
entries, Redis commands per entry from ``INFO commandstats``, which counts a script's own calls).
``refuse``: ``TRACESINK_GLOBAL_LIMIT=1000``, spent by the warm-up, so every measured request is
refused: Redis commands per refused entry show what the refusal memory saves on
each side (Python's process, the Worker's isolate).

    flock /tmp/tracesink-bench.lock .venv/bin/python bench/edge.py [--duration 10] [--runs 3]

Prints a markdown table; the raw runs go to bench/results/edge.json (git-ignored) and, with
``--save NAME``, to bench/results-committed/NAME.json.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis

import provenance
from run import (
    HARNESS_COMMANDS,
    HUGE_LIMIT,
    RESULTS,
    ROOT,
    TICK_MS,
    VENV_BIN,
    WORKLOADS,
    Workload,
    commandstats,
    cpu_ticks,
    free_port,
    redis_server,
    rest_emulator,
    run_wrk,
    started,
    stored_entries,
    wait_idle,
    wait_quiet,
)

SERVERS = ("python", "edge")
# TRACESINK_GLOBAL_LIMIT of each phase: never reached, or spent by the warm-up's first 1000.
PHASES = {"admit": str(HUGE_LIMIT), "refuse": "1000"}


def tree_ticks(pid: int) -> int:
    """CPU ticks of a process and its descendants (node runs workerd as a child process)."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        with suppress(FileNotFoundError, ProcessLookupError):
            total += cpu_ticks(current)
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
            pending += [int(child) for child in children]
    return total


def listener_pid(port: int) -> int:
    """The pid of the process listening on a loopback port (``ss -ltnp``)."""
    out = subprocess.run(
        ["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout
    found = re.search(r"pid=(\d+)", out)
    if found is None:
        raise SystemExit(f"no process listens on port {port}")
    return int(found.group(1))


def server_argv(name: str, port: int, rest_url: str) -> list[str]:
    if name == "python":
        return [str(VENV_BIN / "tracesink"), "serve", "--port", str(port), "--store", rest_url]
    return ["node", str(ROOT / "edge" / "scripts" / "serve.mjs"), "--port", str(port)]


def server_env(name: str, rest_url: str, global_limit: str, scratch: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACESINK_")}
    env["TRACESINK_GLOBAL_LIMIT"] = global_limit
    env["TRACESINK_TRACE_LIMIT"] = str(HUGE_LIMIT)
    env["TRACESINK_MAX_TRACE_ENTRIES"] = str(HUGE_LIMIT)  # no trim: commands per entry as stored
    if name == "python":
        env["TRACESINK_SPOOL_DIR"] = str(scratch / "spool")
    else:
        parts = urlsplit(rest_url.removeprefix("upstash+"))
        env["UPSTASH_REDIS_REST_URL"] = f"{parts.scheme}://{parts.hostname}:{parts.port}"
        env["UPSTASH_REDIS_REST_TOKEN"] = parts.password or ""
    return env


def wait_serving(port: int, name: str, proc: subprocess.Popen[bytes]) -> None:
    """Until the server answers anything over HTTP (the Worker has no /health: a GET is a 405)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited with {proc.returncode} at start-up (see {RESULTS})")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/log", timeout=2)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{name} did not answer within 30 s")


@contextmanager
def serving(
    name: str, rest_url: str, global_limit: str, scratch: Path
) -> Iterator[tuple[int, int]]:
    port = free_port()
    env = server_env(name, rest_url, global_limit, scratch)
    with started(server_argv(name, port, rest_url), f"edge-bench-{name}", env) as proc:
        wait_serving(port, name, proc)
        yield port, proc.pid


def one_run(
    name: str,
    workload: Workload,
    port: int,
    pids: tuple[int, int],
    client: redis.Redis,
    args: argparse.Namespace,
) -> dict[str, Any]:
    pid, rest_pid = pids  # the ingester's, the REST server's
    background = wait_quiet(args.quiet, args.quiet_wait)
    client.config_resetstat()
    cpu0, rest0 = tree_ticks(pid), cpu_ticks(rest_pid)
    result = run_wrk(workload, port, args.duration, args.connections)
    cpu1, rest1 = tree_ticks(pid), cpu_ticks(rest_pid)
    wait_idle(pid, ticks=tree_ticks)
    commands = {k: v for k, v in commandstats(client).items() if k not in HARNESS_COMMANDS}
    seconds = result["duration_us"] / 1e6
    entries = result["requests"] * workload.entries_per_request
    ok_entries = (result["requests"] - result["non2xx"]) * workload.entries_per_request
    return {
        "server": name,
        "workload": workload.name,
        "requests": result["requests"],
        "non2xx": result["non2xx"],
        "entries_per_s": entries / seconds,
        "stored_per_s": ok_entries / seconds,
        "p50_ms": result["p50_us"] / 1000,
        "p99_ms": result["p99_us"] / 1000,
        "server_cpu_ms_per_1k": (cpu1 - cpu0) * TICK_MS * 1000 / max(1, entries),
        "rest_cpu_ms_per_1k": (rest1 - rest0) * TICK_MS * 1000 / max(1, entries),
        "commands_per_entry": sum(commands.values()) / max(1, entries),
        "commands": commands,
        "stored_entries": stored_entries(client),
        "background_pct": background,
    }


def phase(
    global_limit: str, rest_url: str, client: redis.Redis, args: argparse.Namespace, scratch: Path
) -> list[dict[str, Any]]:
    runs = []
    rest_pid = listener_pid(urlsplit(rest_url.removeprefix("upstash+")).port or 80)
    for key in args.workloads.split(","):
        workload = WORKLOADS[key]
        for index in range(args.runs):
            order = SERVERS if index % 2 == 0 else SERVERS[::-1]
            for name in order:
                client.flushall()
                with serving(name, rest_url, global_limit, scratch) as (port, pid):
                    run_wrk(workload, port, args.warmup, args.connections)
                    wait_idle(pid, ticks=tree_ticks)
                    if global_limit == PHASES["admit"]:
                        client.flushall()  # else the warm-up spent the limit: all is refused now
                    measured = one_run(name, workload, port, (pid, rest_pid), client, args)
                    runs.append(measured | {"run": index + 1})
    return runs


def median(runs: list[dict[str, Any]], server: str, workload: str, key: str) -> float:
    values = [float(r[key]) for r in runs if r["server"] == server and r["workload"] == workload]
    return statistics.median(values)


def render(results: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> str:
    lines = [
        "| phase | workload | ingester | entries/s | p50 ms | p99 ms "
        "| server CPU ms / 1000 entries | REST server CPU ms / 1000 entries "
        "| Redis commands / entry | non-2xx |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for phase_name, runs in results.items():
        for key in args.workloads.split(","):
            for server in SERVERS:
                row = [
                    median(runs, server, key, k)
                    for k in (
                        "entries_per_s",
                        "p50_ms",
                        "p99_ms",
                        "server_cpu_ms_per_1k",
                        "rest_cpu_ms_per_1k",
                        "commands_per_entry",
                    )
                ]
                non2xx = sum(
                    r["non2xx"] for r in runs if r["server"] == server and r["workload"] == key
                )
                lines.append(
                    f"| {phase_name} | {key} | {server} | {row[0]:,.0f} | {row[1]:.1f} "
                    f"| {row[2]:.1f} | {row[3]:.1f} | {row[4]:.1f} | {row[5]:.3f} | {non2xx} |"
                )
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workloads", default="a,b")
    parser.add_argument("--phases", default="admit,refuse")
    parser.add_argument("--quiet", type=float, default=15)
    parser.add_argument("--quiet-wait", type=float, default=30)
    parser.add_argument("--save", metavar="NAME", help="also bench/results-committed/NAME.json")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    commit = provenance.measured_commit(args.save)
    results: dict[str, list[dict[str, Any]]] = {}
    with ExitStack() as stack:
        redis_port, _ = stack.enter_context(redis_server())
        rest_url = stack.enter_context(rest_emulator(redis_port))
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="edge-bench-")))
        client = redis.Redis(port=redis_port)
        for name in args.phases.split(","):
            results[name] = phase(PHASES[name], rest_url, client, args, scratch)
    table = render(results, args)
    print(table)
    meta = {"commit": commit, "args": vars(args), "table": table}
    for path in provenance.write_results(
        {"kind": "edge", "meta": meta, "results": results}, "edge", args.save
    ):
        print(f"raw runs: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
