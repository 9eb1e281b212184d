"""What the request-head cap and deadline cost on the ingest hot path, against the alternatives.

Serves tracesink (memory store, limits out of the way) three ways and loads each with wrk's
workload (a), `POST /log`, taking turns, same machine, same run:

- ``plain``: uvicorn's httptools protocol as it comes (no head cap, no head deadline);
- ``guarded``: ``tracesink.app.protocol``, what ``tracesink serve`` uses;
- ``h11``: uvicorn's h11 protocol, which has a cap (``h11_max_incomplete_event_size``) but
  parses in Python and has no head deadline either.

    flock /tmp/tracesink-bench.lock .venv/bin/python bench/head_guard.py --runs 3 --duration 8

Servers run on core 0, wrk on core 1 (taskset). Prints req/s, p99 and the server's CPU time per
request (utime + stime from /proc, the figure least disturbed by other load on a shared machine)
per run, then the medians and their ratios to ``plain``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
MODES = ("plain", "guarded", "h11")
SERVER_CORE, LOAD_CORE = "0", "1"
HUGE_LIMIT = 10**9


def serve(mode: str, port: int) -> None:
    """Run tracesink the way ``tracesink serve`` does, with the protocol of ``mode``."""
    import uvicorn

    from tracesink.app import create_app
    from tracesink.app.inflight import InFlightLimit
    from tracesink.app.protocol import guarded_protocol
    from tracesink.app.services import policy_from
    from tracesink.config import load_settings
    from tracesink.store import open_store

    settings = load_settings(
        {"TRACESINK_GLOBAL_LIMIT": str(HUGE_LIMIT), "TRACESINK_TRACE_LIMIT": str(HUGE_LIMIT)}
    )
    app = create_app(settings, store=open_store("memory://", policy_from(settings)))
    http: Any = {
        "plain": "httptools",
        "guarded": guarded_protocol(settings.max_header_bytes, settings.header_timeout_s),
        "h11": "h11",
    }[mode]
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    uvicorn.run(
        InFlightLimit(app, settings.max_concurrency),
        host="127.0.0.1",
        port=port,
        http=http,
        ws="none",
        access_log=False,
        log_level="warning",
        server_header=False,
        h11_max_incomplete_event_size=settings.max_header_bytes,
    )


def run_wrk(port: int, duration: int) -> dict[str, Any]:
    argv = ["taskset", "-c", LOAD_CORE, "wrk", "-t1", "-c64", f"-d{duration}s", "--latency"]
    argv += ["-s", str(BENCH / "wrk" / "log_single.lua"), f"http://127.0.0.1:{port}"]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_RESULT "))
    result: dict[str, Any] = json.loads(line.removeprefix("BENCH_RESULT "))
    if result["non2xx"] or result["read_errors"] or result["timeouts"]:
        raise SystemExit(f"wrk saw errors: {result}")
    return result


def cpu_s(pid: int) -> float:
    """utime + stime of a process, in seconds (taskset execs the server: the pid is its own)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start(mode: str, port: int) -> subprocess.Popen[bytes]:
    argv = ["taskset", "-c", SERVER_CORE, sys.executable, __file__, "--serve", mode, str(port)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACESINK_")}
    proc = subprocess.Popen(argv, env=env)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{mode} server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--serve", nargs=2, metavar=("MODE", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return
    ports = {mode: 18_700 + i for i, mode in enumerate(MODES)}
    servers = {mode: start(mode, port) for mode, port in ports.items()}
    figures: dict[str, list[tuple[float, float, float]]] = {mode: [] for mode in MODES}
    try:
        for port in ports.values():  # warm-up, not measured
            run_wrk(port, 2)
        for run in range(args.runs):
            order = MODES if run % 2 == 0 else MODES[::-1]
            for mode in order:
                before = cpu_s(servers[mode].pid)
                result = run_wrk(ports[mode], args.duration)
                cpu_us = (cpu_s(servers[mode].pid) - before) * 1e6 / result["requests"]
                rps = result["requests"] / (result["duration_us"] / 1e6)
                p99 = result["p99_us"] / 1000
                figures[mode].append((rps, p99, cpu_us))
                print(
                    f"run {run + 1} {mode:8} {rps:9.0f} req/s  p99 {p99:6.2f} ms  "
                    f"CPU {cpu_us:6.1f} us/request",
                    flush=True,
                )
    finally:
        for proc in servers.values():
            proc.kill()
            proc.wait()

    def medians(mode: str) -> tuple[float, float, float]:
        runs = figures[mode]
        return tuple(statistics.median(run[i] for run in runs) for i in range(3))  # type: ignore[return-value]

    plain_rps, _, plain_cpu = medians("plain")
    for mode in MODES:
        rps, p99, cpu_us = medians(mode)
        print(
            f"median {mode:8} {rps:9.0f} req/s  p99 {p99:6.2f} ms  CPU {cpu_us:6.1f} us/request"
            f"  (req/s x{rps / plain_rps:.3f}, CPU x{cpu_us / plain_cpu:.3f} of plain)"
        )


if __name__ == "__main__":
    main()
