"""`tracesink serve --workers 1` against `--workers 2`, same workload, same run, on Redis.

Starts its own redis-server (pinned to core 1, as bench/run.py does), then runs workload (a) of
bench/run.py (POST /log, one ~210-byte entry per request, 1000 traces) with wrk against each
worker count in alternating order, ``--runs`` times each, and reports the medians and the ratio
(2 workers / 1 worker): entries/s, p50/p99, the non-2xx count, what Redis holds afterwards, and
how the entries split between the workers (from the workers' own published counters). The
servers are NOT pinned: with two workers they use both cores, which wrk and redis-server share,
so the figure is what a 2-core machine that also runs its load generator gets, not a server's
ceiling. Raw runs go to bench/results/workers.json (and with ``--save NAME`` to
bench/results-committed/NAME.json), the table to stdout.

    flock /tmp/tracesink-bench.lock .venv/bin/python bench/workers.py [--duration 10] [--runs 3]
        [--connections 64] [--save NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

import provenance
from run import (
    HUGE_LIMIT,
    RESULTS,
    VENV_BIN,
    WORKLOADS,
    free_port,
    redis_server,
    run_wrk,
    stop,
    stored_entries,
    wait_healthy,
)

WORKER_COUNTS = (1, 2)
WARMUP_S = 2


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--save", help="also write bench/results-committed/NAME.json")
    return parser.parse_args()


def serve(workers: int, redis_port: int, scratch: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACESINK_")}
    env |= {
        "TRACESINK_GLOBAL_LIMIT": str(HUGE_LIMIT),
        "TRACESINK_TRACE_LIMIT": str(HUGE_LIMIT),
        "TRACESINK_MAX_TRACE_ENTRIES": str(HUGE_LIMIT),
        "TRACESINK_SPOOL_DIR": str(scratch / "spool"),
        "TRACESINK_WORKERS": str(workers),
        "TMPDIR": str(scratch),  # where the workers publish their counters: read for the split
    }
    argv = [str(VENV_BIN / "tracesink"), "serve", "--port", str(port)]
    argv += ["--store", f"redis://127.0.0.1:{redis_port}/0"]
    RESULTS.mkdir(exist_ok=True)
    name = f"workers-{workers}"
    with (RESULTS / f"{name}.log").open("wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
    wait_healthy(port, proc, name)
    return proc, port


def split(scratch: Path) -> list[int]:
    """Entries each worker accepted, from the counters the workers publish every second."""
    time.sleep(1.5)
    counts = []
    for path in sorted(scratch.glob("tracesink-workers-*/worker-*.json")):
        counts.append(sum(json.loads(path.read_text())["accepted"].values()))
    return counts


def one_run(workers: int, redis_port: int, args: argparse.Namespace) -> dict[str, Any]:
    """One server started, warmed up, measured and stopped; ``stored`` counts what Redis holds
    after, which may pass what was acknowledged by the requests wrk cut off at its end."""
    client = redis.Redis(port=redis_port)
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as folder:
        scratch = Path(folder)
        proc, port = serve(workers, redis_port, scratch)
        try:
            run_wrk(WORKLOADS["a"], port, WARMUP_S, args.connections)
            time.sleep(1.0)  # let requests wrk cut off finish before the count starts
            client.flushall()
            result = run_wrk(WORKLOADS["a"], port, args.duration, args.connections)
            time.sleep(1.0)
            stored = stored_entries(client)
            per_worker = split(scratch) if workers > 1 else []
        finally:
            stop(proc)
    seconds = result["duration_us"] / 1e6
    ok = result["requests"] - result["non2xx"]
    return {
        "workers": workers,
        "requests_per_s": result["requests"] / seconds,
        "entries_per_s": ok / seconds,
        "p50_ms": result["p50_us"] / 1000,
        "p99_ms": result["p99_us"] / 1000,
        "non2xx": result["non2xx"],
        "errors": result["connect_errors"] + result["read_errors"] + result["timeouts"],
        "acknowledged": ok,
        "stored": stored,
        "per_worker_accepted_since_start": per_worker,
    }


def table(runs: list[dict[str, Any]]) -> str:
    def median(workers: int, key: str) -> float:
        return float(statistics.median(r[key] for r in runs if r["workers"] == workers))

    lines = [
        "| workers | entries/s | p50 ms | p99 ms | non-2xx | stored >= acknowledged |",
        "|---|---|---|---|---|---|",
    ]
    for n in WORKER_COUNTS:
        same = all(r["stored"] >= r["acknowledged"] for r in runs if r["workers"] == n)
        lines.append(
            f"| {n} | {median(n, 'entries_per_s'):,.0f} | {median(n, 'p50_ms'):.1f} | "
            f"{median(n, 'p99_ms'):.1f} | {sum(r['non2xx'] for r in runs if r['workers'] == n)} | "
            f"{'yes' if same else 'NO'} |"
        )
    ratio = median(2, "entries_per_s") / median(1, "entries_per_s")
    p99 = median(2, "p99_ms") / median(1, "p99_ms")
    rounds = [runs[i : i + len(WORKER_COUNTS)] for i in range(0, len(runs), len(WORKER_COUNTS))]
    paired = [
        next(r for r in pair if r["workers"] == 2)["entries_per_s"]
        / next(r for r in pair if r["workers"] == 1)["entries_per_s"]
        for pair in rounds
    ]
    lines.append("")
    lines.append(f"2 workers / 1 worker: entries/s x{ratio:.2f}, p99 x{p99:.2f} (medians)")
    lines.append(f"entries/s, 2 / 1 within each round: {', '.join(f'x{r:.2f}' for r in paired)}")
    splits = [r["per_worker_accepted_since_start"] for r in runs if r["workers"] == 2]
    lines.append(f"entries per worker with 2 (warm-up included): {splits}")
    return "\n".join(lines)


def main() -> None:
    args = parse_args()
    commit = provenance.measured_commit(args.save)
    loadavg_at_start = os.getloadavg()  # the machine is shared: say how busy it was
    runs: list[dict[str, Any]] = []
    with redis_server() as (redis_port, _):
        for n in range(args.runs):
            order = WORKER_COUNTS if n % 2 == 0 else WORKER_COUNTS[::-1]
            for workers in order:
                run = one_run(workers, redis_port, args)
                print(json.dumps(run), file=sys.stderr, flush=True)
                runs.append(run)
    document = {
        "kind": "workers-runs",
        "meta": {
            "commit": commit,
            "command": " ".join(["bench/workers.py", *sys.argv[1:]]),
            "cores": os.cpu_count(),
            "duration_s": args.duration,
            "connections": args.connections,
            "loadavg_at_start": loadavg_at_start,
            "loadavg_at_end": os.getloadavg(),
        },
        "runs": runs,
    }
    provenance.write_results(document, "workers", args.save)
    print(table(runs))


if __name__ == "__main__":
    main()
