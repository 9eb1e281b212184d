"""Benchmark tracesink against the naive baseline in one run, on one machine, and print a table.

Starts its own redis-server (a free port, no persistence), the servers under test pinned to core 0
and wrk pinned to core 1 (next to redis-server), then for each workload runs the servers in
alternating order, ``--runs`` times each, and reports the median of the runs: entries/s, req/s,
p50/p99 latency, server CPU ms per 1000 entries, Redis commands per stored entry (from
``INFO commandstats``, which counts the commands a Lua script runs as well as the script call
itself; checked at start-up) and the non-2xx count, then the ratios of tracesink to each
baseline both ways and the targets. Two baselines: ``naive`` as written, and ``naive-gc``, the
same app with the garbage-collector settings ``tracesink serve`` applies, so that tuning is on
both sides. The markdown goes to stdout and to bench/results/latest.md, the raw runs to
bench/results/latest.json, and with ``--save NAME`` to bench/results-committed/NAME.json, from
which bench/report.py renders BENCHMARKS.md's tables.

    .venv/bin/python bench/run.py [--duration 10] [--runs 3] [--workloads a,b]
                                  [--only tracesink|naive|naive-gc] [--ceiling] [--save NAME]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import redis

import provenance
import report

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
VENV_BIN = ROOT / ".venv" / "bin"
TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")
SERVER_CORE, LOAD_CORE = "0", "1"
# Large enough that nothing is refused in any run, small enough that limit * window_ms stays an
# exact integer in the Lua script's doubles (< 2**53): the limits are checked, never hit.
HUGE_LIMIT = 1_000_000_000
# Redis commands the harness itself sends between CONFIG RESETSTAT and reading the stats.
HARNESS_COMMANDS = ("config|resetstat", "info", "flushall")
SEQ = re.compile(rb"\(seq (\d+-\d+)\)")  # the unique part of every message the wrk scripts send


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    path: str
    script: str
    entries_per_request: int


WORKLOADS = {
    "a": Workload("a", "POST /log, 1 entry/request, 1000 traces", "/log", "log_single.lua", 1),
    "b": Workload(
        "b", "POST /logs, JSON array of 20 entries of 1 trace", "/logs", "logs_batch.lua", 20
    ),
}
PACKAGES = ("uvicorn", "uvloop", "httptools", "msgspec", "redis", "hiredis", "fastapi", "pydantic")


@dataclass
class Run:
    server: str
    workload: str
    run: int
    requests: int
    non2xx: int
    socket_errors: int
    duration_s: float
    acked_entries: int
    stored_entries: int
    duplicates: int
    entries_per_s: float
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_ms_per_1k: float
    redis_cpu_ms_per_1k: float
    redis_commands: int
    commands_per_entry: float
    commands: dict[str, int]
    background_pct: float
    core0_other_pct: float
    core1_busy_pct: float
    core1_other_pct: float
    wrk_cpu_pct: float


# --- processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port if port != 6379 else free_port()


def cpu_ticks(pid: int) -> int:
    """utime + stime of a process (all its threads), in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12])


def core_ticks() -> dict[str, tuple[int, int]]:
    """(busy, total) clock ticks per core from /proc/stat."""
    ticks = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *values = line.split()
        if name.startswith("cpu") and name != "cpu":
            numbers = [int(v) for v in values]
            idle = numbers[3] + numbers[4]
            ticks[name[3:]] = (sum(numbers[:8]) - idle, sum(numbers[:8]))
    return ticks


def busy_pct(seconds: float) -> float:
    """The busiest core's busy share over ``seconds``, in percent."""
    before = core_ticks()
    time.sleep(seconds)
    after = core_ticks()
    return max(
        100 * (after[c][0] - before[c][0]) / max(1, after[c][1] - before[c][1]) for c in after
    )


def wait_quiet(threshold: float, max_wait: float) -> float:
    """Wait (up to ``max_wait`` s) for a second in which no core is busier than ``threshold`` %.

    Other work on this 2-core machine (a teammate's test suite) skews every figure; the runs
    still go ahead after ``max_wait``, and each run's background load is reported.
    """
    deadline = time.monotonic() + max_wait
    busy = busy_pct(1.0)
    while busy > threshold and time.monotonic() < deadline:
        busy = busy_pct(1.0)
    return busy


def calibrate() -> float:
    """Seconds for 10 million additions in a Python loop on the server core: machine speed."""
    code = "import time\nt=time.perf_counter()\ns=0\nfor i in range(10_000_000): s+=i\n"
    code += "print(time.perf_counter()-t)"
    out = subprocess.run(
        ["taskset", "-c", SERVER_CORE, sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def started(
    argv: list[str], log_name: str, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``argv`` pinned to the server core (taskset execs it, so the pid is the server's)."""
    RESULTS.mkdir(exist_ok=True)
    with (RESULTS / f"{log_name}.log").open("wb") as log:
        proc = subprocess.Popen(
            ["taskset", "-c", SERVER_CORE, *argv], stdout=log, stderr=subprocess.STDOUT, env=env
        )
        try:
            yield proc
        finally:
            stop(proc)


@contextmanager
def redis_server() -> Iterator[tuple[int, int]]:
    port = free_port()
    argv = ["taskset", "-c", LOAD_CORE, "redis-server", "--port", str(port)]
    argv += ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "warning"]
    RESULTS.mkdir(exist_ok=True)
    with (RESULTS / "redis-server.log").open("wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        try:
            client = redis.Redis(port=port)
            for _ in range(100):
                with suppress(redis.ConnectionError):
                    client.ping()
                    break
                time.sleep(0.05)
            client.close()
            yield port, proc.pid
        finally:
            stop(proc)


def server_argv(name: str, port: int, redis_port: int, store: str, rest_url: str = "") -> list[str]:
    python = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
    if name == "tracesink":
        url = "memory://" if store == "memory" else f"redis://127.0.0.1:{redis_port}/0"
        return [str(VENV_BIN / "tracesink"), "serve", "--port", str(port), "--store", url]
    if name == "upstash":  # tracesink on the REST emulator (tracesink.dev.rest_emulator)
        return [str(VENV_BIN / "tracesink"), "serve", "--port", str(port), "--store", rest_url]
    if name in ("naive", "naive-gc"):
        limits = ["--global-limit", str(HUGE_LIMIT), "--trace-limit", str(HUGE_LIMIT)]
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        argv = [python, str(BENCH / "naive_app.py"), "--port", str(port), "--redis", redis_url]
        # naive-gc: the collector tuned as `tracesink serve` tunes it, so both sides get it.
        return [*argv, *limits, *(["--gc-tuned"] if name == "naive-gc" else [])]
    return [python, str(Path(__file__).resolve()), "--serve-null", str(port)]


def server_env(name: str, scratch: Path) -> dict[str, str]:
    env = dict(os.environ)
    if name in ("tracesink", "upstash"):
        # tracesink refuses unknown TRACESINK_* variables: pass exactly these, nothing else.
        env = {k: v for k, v in env.items() if not k.startswith("TRACESINK_")}
        env["TRACESINK_GLOBAL_LIMIT"] = env["TRACESINK_TRACE_LIMIT"] = str(HUGE_LIMIT)
        # No trim either: every entry answered 2xx is counted in Redis afterwards.
        env["TRACESINK_MAX_TRACE_ENTRIES"] = str(HUGE_LIMIT)
        # Where an outage would spool batches (never used while Redis answers): a scratch
        # directory removed afterwards, instead of one left per random port in ~/.local/state.
        env["TRACESINK_SPOOL_DIR"] = str(scratch / "spool")
    return env


def wait_idle(pid: int, max_wait: float = 10, ticks: Callable[[int], int] = cpu_ticks) -> None:
    """Wait until a server has used no CPU for 0.3 s: requests that wrk cut off have finished.

    Otherwise a request still running after one wrk process stops could store its entries after
    the next FLUSHALL and be counted in the next run.
    """
    deadline = time.monotonic() + max_wait
    before = ticks(pid)
    while time.monotonic() < deadline:
        time.sleep(0.3)
        after = ticks(pid)
        if after == before:
            return
        before = after


def wait_healthy(port: int, proc: subprocess.Popen[bytes], name: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log = (RESULTS / f"{name}.log").read_text(errors="replace")
            raise SystemExit(f"{name} exited with {proc.returncode} at start-up:\n{log}")
        url = f"http://127.0.0.1:{port}/health"
        with suppress(OSError, urllib.error.URLError), urllib.request.urlopen(url, timeout=2) as r:
            if r.status == 200:
                return
        time.sleep(0.1)
    raise SystemExit(f"{name} did not answer GET /health with 200 within 30 s")


# --- measuring ------------------------------------------------------------------------------


def run_wrk(workload: Workload, port: int, duration: int, connections: int) -> dict[str, Any]:
    argv = ["taskset", "-c", LOAD_CORE, "wrk", "-t1", f"-c{connections}", f"-d{duration}s"]
    argv += ["--timeout", "10s", "--latency", "-s", str(BENCH / "wrk" / workload.script)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [*argv, f"http://127.0.0.1:{port}{workload.path}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or "BENCH_RESULT " not in done.stdout:
        raise SystemExit(f"wrk failed ({done.returncode}): {done.stdout}\n{done.stderr}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next(x for x in done.stdout.splitlines() if x.startswith("BENCH_RESULT "))
    result: dict[str, Any] = json.loads(line.removeprefix("BENCH_RESULT "))
    used = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    result["wrk_cpu_s"] = used
    return result


def commandstats(client: redis.Redis) -> dict[str, int]:
    stats: dict[str, dict[str, int]] = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): value["calls"] for name, value in stats.items()}


def stored_entries(client: redis.Redis) -> int:
    """Elements of every ``logs:*`` list: what Redis holds, to cross-check the 2xx count."""
    total, keys = 0, []
    for key in client.scan_iter(match="logs:*", count=1000, _type="list"):
        keys.append(key)
        if len(keys) == 1000:
            total += sum(_llen_all(client, keys))
            keys = []
    return total + sum(_llen_all(client, keys))


def duplicate_entries(client: redis.Redis) -> int:
    """Stored entries whose unique message was stored before: each would be a double write."""
    seen: set[bytes] = set()
    duplicates = 0
    for key in client.scan_iter(match="logs:*", count=1000, _type="list"):
        for item in client.lrange(key, 0, -1):
            found = SEQ.search(item) if isinstance(item, bytes) else None
            if found is None:
                continue
            duplicates += found.group(1) in seen
            seen.add(found.group(1))
    return duplicates


def _llen_all(client: redis.Redis, keys: list[Any]) -> list[int]:
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.llen(key)
    return list(pipe.execute())


def verify_script_counting(client: redis.Redis) -> str:
    """Check that commandstats counts the commands run inside a Lua script, not just EVAL."""
    client.flushall()
    client.config_resetstat()
    script = "redis.call('LPUSH', KEYS[1], 'x') return redis.call('EXPIRE', KEYS[1], 10)"
    client.eval(script, 1, "bench:probe")
    stats = commandstats(client)
    client.flushall()
    seen = {name: stats.get(name, 0) for name in ("eval", "lpush", "expire")}
    if seen != {"eval": 1, "lpush": 1, "expire": 1}:
        raise SystemExit(f"INFO commandstats does not count script commands as assumed: {stats}")
    return (
        "verified at start-up: one EVAL running LPUSH + EXPIRE shows as eval=1, lpush=1, "
        "expire=1 in INFO commandstats, so commands inside Lua scripts are counted, and so is "
        "the script call itself"
    )


def one_run(
    server: str,
    workload: Workload,
    index: int,
    pids: tuple[int, int],
    port: int,
    client: redis.Redis,
    args: argparse.Namespace,
) -> Run:
    server_pid, redis_pid = pids
    client.flushall()
    background = wait_quiet(args.quiet, args.quiet_wait)
    client.config_resetstat()
    cpu0, rcpu0, cores0 = cpu_ticks(server_pid), cpu_ticks(redis_pid), core_ticks()
    result = run_wrk(workload, port, args.duration, args.connections)
    cpu1, rcpu1, cores1 = cpu_ticks(server_pid), cpu_ticks(redis_pid), core_ticks()
    wait_idle(server_pid)  # requests cut off by wrk's stop finish; count what they stored too
    stats = commandstats(client)
    stored = stored_entries(client)
    duplicates = duplicate_entries(client) if args.verify else -1
    commands = {k: v for k, v in stats.items() if k not in HARNESS_COMMANDS}
    ok = result["requests"] - result["non2xx"]
    acked = ok * workload.entries_per_request
    seconds = result["duration_us"] / 1e6
    per_1k = 1000 / acked if acked else float("nan")
    busy0 = cores1[SERVER_CORE][0] - cores0[SERVER_CORE][0]
    total0 = cores1[SERVER_CORE][1] - cores0[SERVER_CORE][1]
    busy1 = cores1[LOAD_CORE][0] - cores0[LOAD_CORE][0]
    total1 = cores1[LOAD_CORE][1] - cores0[LOAD_CORE][1]
    errors = sum(result[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
    return Run(
        server=server,
        workload=workload.name,
        run=index + 1,
        requests=result["requests"],
        non2xx=result["non2xx"],
        socket_errors=errors,
        duration_s=seconds,
        acked_entries=acked,
        stored_entries=stored,
        duplicates=duplicates,
        entries_per_s=acked / seconds,
        requests_per_s=result["requests"] / seconds,
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        max_ms=result["max_us"] / 1000,
        server_cpu_ms_per_1k=(cpu1 - cpu0) * TICK_MS * per_1k,
        redis_cpu_ms_per_1k=(rcpu1 - rcpu0) * TICK_MS * per_1k,
        redis_commands=sum(commands.values()),
        commands_per_entry=sum(commands.values()) * per_1k / 1000,
        commands=commands,
        background_pct=background,
        core0_other_pct=100 * max(0, busy0 - (cpu1 - cpu0)) / max(1, total0),
        core1_busy_pct=100 * busy1 / max(1, total1),
        core1_other_pct=max(
            0.0,
            100 * (busy1 - (rcpu1 - rcpu0)) / max(1, total1) - 100 * result["wrk_cpu_s"] / seconds,
        ),
        wrk_cpu_pct=100 * result["wrk_cpu_s"] / seconds,
    )


# --- the Upstash REST emulator, as its own process ------------------------------------------


@contextmanager
def rest_emulator(redis_port: int) -> Iterator[str]:
    """``python -m tracesink.dev.rest_emulator`` on the load core (next to redis-server, as a
    hosted REST front end would sit next to its Redis); yields the store URL tracesink takes."""
    RESULTS.mkdir(exist_ok=True)
    argv = ["taskset", "-c", LOAD_CORE, sys.executable, "-m", "tracesink.dev.rest_emulator"]
    argv += ["--redis", f"redis://127.0.0.1:{redis_port}/0"]
    with (RESULTS / "upstash-rest.log").open("wb") as log:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, cwd=ROOT)
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().decode().strip()
            if not line.startswith("upstash+http://"):
                raise SystemExit(f"the REST emulator did not start: {line!r}")
            yield line
        finally:
            stop(proc)


# --- the null server: a wrk-only ceiling ------------------------------------------------------


class NullHttp(asyncio.Protocol):
    """Answers every HTTP/1.1 request with 200 ``{}`` after reading its body; nothing else."""

    def __init__(self) -> None:
        self.buffer = b""
        self.transport: Any = None  # uvloop's TCPTransport is not an asyncio.Transport subclass

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].lower()
            start = head.find(b"content-length:")
            length = int(head[start + 15 :].split(b"\r\n", 1)[0]) if start >= 0 else 0
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")


def serve_null(port: int) -> None:
    import uvloop

    async def serve() -> None:
        server = await asyncio.get_running_loop().create_server(NullHttp, "127.0.0.1", port)
        await server.serve_forever()

    uvloop.run(serve())


# --- report ---------------------------------------------------------------------------------


def machine(calibration: float) -> str:
    """The cores, CPU model, kernel, load and speed of this machine, in one line."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    return (
        f"{os.cpu_count()} cores, {model}; {platform.system()} {platform.release()}; "
        f"load average at start {os.getloadavg()[0]:.2f}; a 10-million-step Python loop takes "
        f"{calibration:.2f} s on core {SERVER_CORE} (to compare machines)"
    )


def machine_notes(args: argparse.Namespace, script_note: str) -> list[str]:
    redis_version = subprocess.run(
        ["redis-server", "--version"], capture_output=True, text=True, check=False
    ).stdout.split()
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    packages = ", ".join(f"{name} {version(name)}" for name in PACKAGES)
    return [
        f"- machine: {machine(args.calibration)}",
        f"- software: Python {platform.python_version()}; "
        f"{' '.join(redis_version[:3])}; {wrk_version.stdout.splitlines()[0].split(' [')[0]}; "
        f"{packages}",
        f"- setup: servers pinned to core {SERVER_CORE} (`taskset -c {SERVER_CORE}`), wrk "
        f"(`-t1 -c{args.connections} --timeout 10s`) and redis-server (`--save '' --appendonly "
        f"no`) to core {LOAD_CORE}; tracesink store `{args.store}`, global and trace limits "
        f"{HUGE_LIMIT:,} (checked on every entry, never reached); {args.runs} runs of "
        f"{args.duration:g} s per server and workload after a {args.warmup:g} s warm-up, servers "
        "alternating; FLUSHALL + CONFIG RESETSTAT before each run",
        "- entries/s counts entries acknowledged with a 2xx; CPU is utime+stime from "
        "/proc/PID/stat around the wrk window; Redis commands are the sum of calls in INFO "
        f"commandstats less the harness's own ({', '.join(HARNESS_COMMANDS)}); {script_note}",
    ]


def document_of(runs: list[Run], args: argparse.Namespace, script_note: str) -> dict[str, Any]:
    """The raw runs and what they were measured on: what bench/report.py renders."""
    meta = {
        "commit": args.commit,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": " ".join([".venv/bin/python", "bench/run.py", *sys.argv[1:]]),
        "runs": args.runs,
        "duration": args.duration,
        "notes": machine_notes(args, script_note),
    }
    return {"kind": "wrk-runs", "meta": meta, "runs": [asdict(run) for run in runs]}


def render(runs: list[Run], document: dict[str, Any], args: argparse.Namespace) -> str:
    out = [
        f"# tracesink benchmark — medians of {args.runs} runs of {args.duration:g} s",
        "",
        report.wrk_runs_tables(document),
    ]
    out += [
        "",
        "## Every run",
        "",
        "Noise columns: *bg* is the busiest core's load in the second before the run (each run "
        f"waits up to {args.quiet_wait:g} s for it to drop under {args.quiet:g} %); "
        "*core0 other* is CPU time on the server core not used by the server (other processes); "
        "*core1 busy* is wrk + "
        "redis-server + anything else on the load core, *core1 other* that anything else. wrk "
        "near 100 % of core 1 means the load generator, not the server, set the pace.",
        "",
        "| workload | server | run | entries/s | p50 ms | p99 ms | max ms | CPU ms/1k | cmds/entry "
        "| stored | acked | bg % | core0 other % | core1 busy % | wrk CPU % | core1 other % |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for run in sorted(runs, key=lambda r: (r.workload, r.server, r.run)):
        out.append(
            f"| {run.workload} | {run.server} | {run.run} | {run.entries_per_s:,.0f} "
            f"| {run.p50_ms:.2f} | {run.p99_ms:.2f} | {run.max_ms:.1f} "
            f"| {run.server_cpu_ms_per_1k:.1f} | {run.commands_per_entry:.3f} "
            f"| {run.stored_entries:,} | {run.acked_entries:,} | {run.background_pct:.0f} "
            f"| {run.core0_other_pct:.1f} "
            f"| {run.core1_busy_pct:.0f} | {run.wrk_cpu_pct:.0f} | {run.core1_other_pct:.0f} |"
        )
    out += ["", "## Redis commands per stored entry, by command (last run)", ""]
    last_runs: dict[tuple[str, str], Run] = {}
    for run in runs:
        last_runs[(run.workload, run.server)] = run
    for (workload, server), last in last_runs.items():
        if last.acked_entries and last.commands:
            parts = sorted(last.commands.items(), key=lambda kv: -kv[1])
            shown = ", ".join(f"{name} {calls / last.acked_entries:.3f}" for name, calls in parts)
            out.append(f"- {workload} / {server}: {shown}")
    return "\n".join(out) + "\n"


# --- main -----------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per run")
    parser.add_argument("--runs", type=int, default=3, help="runs per server and workload")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of unmeasured load")
    parser.add_argument("--workloads", default="a,b", help="comma-separated: a, b")
    parser.add_argument(
        "--only", choices=("tracesink", "naive", "naive-gc"), help="measure one server"
    )
    parser.add_argument(
        "--upstash",
        action="store_true",
        help="also tracesink over the Upstash REST emulator (on the load core, beside Redis)",
    )
    parser.add_argument("--ceiling", action="store_true", help="also load a null server")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--store", choices=("redis", "memory"), default="redis", help="tracesink's store"
    )
    parser.add_argument(
        "--quiet", type=float, default=15, help="wait for the busiest core to be under this %%"
    )
    parser.add_argument(
        "--verify", action="store_true", help="read every stored entry back to find duplicates"
    )
    parser.add_argument(
        "--quiet-wait", type=float, default=60, help="longest wait for --quiet, in seconds"
    )
    parser.add_argument(
        "--save", metavar="NAME", help="also write bench/results-committed/NAME.json"
    )
    parser.add_argument("--serve-null", type=int, metavar="PORT", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    # Stop the servers, wrk and redis-server on SIGTERM too, not only on Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.serve_null:
        serve_null(args.serve_null)
        return
    for tool in ("redis-server", "wrk", "taskset"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not on PATH (apt-get install redis-server wrk)")
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("needs two cores: one for the server, one for wrk and redis-server")
    args.commit = provenance.measured_commit(args.save)
    servers = [args.only] if args.only else ["tracesink", "naive", "naive-gc"]
    servers += ["upstash"] if args.upstash else []
    servers += ["null"] if args.ceiling else []
    workloads = [WORKLOADS[name.strip()] for name in args.workloads.split(",")]
    runs: list[Run] = []
    with redis_server() as (redis_port, redis_pid):
        client = redis.Redis(port=redis_port)
        script_note = verify_script_counting(client)
        wait_quiet(args.quiet, args.quiet_wait)
        args.calibration = calibrate()
        for workload in workloads:
            running: dict[str, tuple[int, int]] = {}
            with ExitStack() as stack:
                scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
                rest_url = stack.enter_context(rest_emulator(redis_port)) if args.upstash else ""
                for server in servers:
                    port = free_port()
                    argv = server_argv(server, port, redis_port, args.store, rest_url)
                    env = server_env(server, scratch)
                    proc = stack.enter_context(started(argv, server, env))
                    wait_healthy(port, proc, server)
                    running[server] = (port, proc.pid)
                for server in servers:
                    run_wrk(workload, running[server][0], args.warmup, args.connections)
                    wait_idle(running[server][1])
                for index in range(args.runs):
                    for server in servers if index % 2 == 0 else servers[::-1]:
                        port, pid = running[server]
                        run = one_run(server, workload, index, (pid, redis_pid), port, client, args)
                        runs.append(run)
                        print(
                            f"{workload.name} {server:9} run {index + 1}: "
                            f"{run.entries_per_s:9,.0f} entries/s  p50 {run.p50_ms:6.2f} ms  "
                            f"p99 {run.p99_ms:6.2f} ms  {run.commands_per_entry:.3f} cmds/entry",
                            file=sys.stderr,
                            flush=True,
                        )
        client.close()
    document = document_of(runs, args, script_note)
    markdown = render(runs, document, args)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.md").write_text(markdown)
    paths = provenance.write_results(document, "latest", args.save)
    print(markdown)
    print(f"raw runs: {', '.join(str(path.relative_to(ROOT)) for path in paths)}")


if __name__ == "__main__":
    main()
