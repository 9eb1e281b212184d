"""What the request-head cap and deadline cost on the ingest hot path, against the alternatives.

Serves tracesink (memory store, limits out of the way) three ways and loads each with wrk's
workload (a), `POST /log`, taking turns, same machine, same run:

- ``plain``: uvicorn's httptools protocol as it comes (no head cap, no head deadline);
- ``guarded``: ``tracesink.server.protocol``, what ``tracesink serve`` uses;
- ``h11``: uvicorn's h11 protocol, which has a cap (``h11_max_incomplete_event_size``) but
  parses in Python and has no head deadline either.

    flock /tmp/tracesink-bench.lock .venv/bin/python bench/head_guard.py --runs 5 --duration 8
    flock /tmp/tracesink-bench.lock .venv/bin/python bench/head_guard.py --micro

``--micro`` times the protocol alone in-process (one connection, a trivial app, plain and guarded
in turn): the difference without wrk, the app or other load in the way.

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
    from tracesink.config import load_settings
    from tracesink.pipeline import policy_from
    from tracesink.server.protocol import guarded_protocol
    from tracesink.store import open_store

    settings = load_settings(
        {"TRACESINK_GLOBAL_LIMIT": str(HUGE_LIMIT), "TRACESINK_TRACE_LIMIT": str(HUGE_LIMIT)}
    )
    app = create_app(settings, store=open_store("memory://", policy_from(settings)))
    http: Any = {
        "plain": "httptools",
        "guarded": guarded_protocol(
            settings.max_header_bytes, settings.header_timeout_s, settings.send_timeout_s
        ),
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


class NullTransport:
    """Enough of an asyncio transport for uvicorn's protocol: writes go nowhere."""

    def __init__(self) -> None:
        self.closing = False

    def write(self, data: bytes) -> None:
        return None

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def pause_reading(self) -> None:
        return None

    def resume_reading(self) -> None:
        return None

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 8787) if name in ("sockname", "peername") else default


async def _answer(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def micro(rounds: int, requests: int) -> None:
    """The protocol alone, in-process: one keep-alive connection, ``requests`` requests of
    workload (a)'s shape per round through a trivial app, plain and guarded in turn."""
    import asyncio

    import uvicorn
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    from uvicorn.server import ServerState

    from tracesink.server.protocol import guarded_protocol

    body = (
        b'{"trace_id":"7f3a9c2e-1b4d-4e8f-9a6b-3c5d7e9f1a2b","message":"fetch /api/cart/items'
        b' -> 200 in 143 ms (seq 1-1)","level":"info","system":"browser","context":{"url":'
        b'"/checkout","component":"CartSummary","sid":"a81f"}}'
    )
    request = (
        b"POST /log HTTP/1.1\r\nHost: 127.0.0.1:8787\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    classes = {"plain": HttpToolsProtocol, "guarded": guarded_protocol(32 * 1024, 10.0, 60.0)}

    async def one_round(cls: Any) -> float:
        loop = asyncio.get_running_loop()
        config = uvicorn.Config(_answer, ws="none", proxy_headers=False, log_level="warning")
        protocol = cls(config=config, server_state=ServerState(), app_state={}, _loop=loop)
        protocol.connection_made(NullTransport())
        started = time.perf_counter()
        for _ in range(requests):
            protocol.data_received(request)
            await asyncio.sleep(0)  # the request's task runs and answers
        elapsed = time.perf_counter() - started
        protocol.connection_lost(None)
        return elapsed * 1e6 / requests

    async def run() -> dict[str, list[float]]:
        timings: dict[str, list[float]] = {name: [] for name in classes}
        for _ in range(rounds):
            for name, cls in classes.items():
                timings[name].append(await one_round(cls))
        return timings

    import uvloop

    timings = uvloop.run(run())
    # The minimum too: on a shared machine other load only ever adds time to a round.
    plain_min, plain_median = min(timings["plain"]), statistics.median(timings["plain"])
    for name, runs in timings.items():
        low, median = min(runs), statistics.median(runs)
        print(
            f"micro {name:8} min {low:6.2f} us/request (x{low / plain_min:.3f}), "
            f"median {median:6.2f} (x{median / plain_median:.3f}), {len(runs)} rounds"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--serve", nargs=2, metavar=("MODE", "PORT"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--micro", action="store_true", help="time the protocol alone, in-process, instead"
    )
    args = parser.parse_args()
    if args.micro:
        micro(rounds=max(args.runs, 15), requests=5_000)
        return
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
