"""Two trees of tracesink side by side in one run: what each adds above the HTTP floor, per entry.

The successor of ``compare_trees.sh`` (issue 27). It serves two checkouts' ``src/`` (``--base``,
``--head``: a directory, or a git revision this script exports with ``git archive``) with the same
Python and packages, a bare ASGI app (the floor: what uvicorn + uvloop + httptools alone spend on
a request, bench/frameworks.py's ``asgi``) and the naive design (bench/naive_app.py), all started
once per workload beside one redis-server on a free port, and loads them in alternating turns
(round 1 floor, base, head, naive; round 2 the other way round; …), so that a slow minute of
this shared machine falls on every server alike. Workloads are bench/run.py's: (a) single
``POST /log`` over 1000 traces, (b) 20-entry ``POST /logs`` batches; every limit is checked on
every entry and set too high to be reached.

For each tree and workload it reports the server's CPU per entry (utime + stime from
/proc/PID/stat around the wrk window), the floor's in the same round, the CPU above the floor and
its ratio base / head (per round, then the median of the rounds: the pair measured next to each
other in time), entries/s, p50/p99, Redis commands per entry (INFO commandstats, script calls
counted as bench/run.py checks) and the ratios to the naive design.

    flock /tmp/tracesink-bench.lock .venv/bin/python bench/compare_trees.py --base main \\
        [--head .] [--runs 3] [--duration 8] [--workloads a,b] [--save NAME]

Raw runs go to bench/results/compare-trees.json (with ``--save NAME`` also to
bench/results-committed/NAME.json, rendered into BENCHMARKS.md by bench/report.py, kind
``tree-compare``) and the table to stdout.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path

import redis

import provenance
import run
import tree_report

SERVERS = ("floor", "base", "head", "naive")


def export_tree(spec: str, scratch: Path, name: str) -> tuple[Path, str]:
    """A tree to serve and the commit it names: ``spec`` as a directory holding ``src/``, or as
    a git revision of this repository, exported to ``scratch`` (its ``src/`` only)."""
    path = Path(spec)
    if (path / "src" / "tracesink").is_dir():
        path = path.resolve()
        described = subprocess.run(
            ["git", "-C", str(path), "describe", "--always", "--dirty", "--abbrev=7"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        return path, described or str(path)
    commit = subprocess.run(
        ["git", "-C", str(run.ROOT), "rev-parse", "--short=7", f"{spec}^{{commit}}"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if not commit:
        raise SystemExit(f"--{name} {spec}: neither a directory holding src/tracesink nor a commit")
    target = scratch / name
    target.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(run.ROOT), "archive", commit, "src"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target, commit


def server_argv(name: str, port: int, redis_port: int) -> list[str]:
    python = str(run.VENV_BIN / "python") if (run.VENV_BIN / "python").exists() else sys.executable
    if name in ("base", "head"):
        store = f"redis://127.0.0.1:{redis_port}/0"
        return [python, "-m", "tracesink", "serve", "--port", str(port), "--store", store]
    if name == "floor":
        return [python, str(run.BENCH / "frameworks.py"), "--serve", "asgi", "--port", str(port)]
    return run.server_argv(name, port, redis_port, "redis")


def server_env(name: str, trees: dict[str, Path], scratch: Path) -> dict[str, str]:
    if name not in trees:
        return dict(os.environ)
    # Each tree's own package, ahead of the one installed in the venv (an editable install of
    # this checkout); the settings bench/run.py gives tracesink, and a spool directory per tree.
    env = run.server_env("tracesink", scratch / f"spool-{name}")
    env["PYTHONPATH"] = str(trees[name] / "src")
    return env


def check_imports(trees: dict[str, Path], scratch: Path) -> None:
    """Each tree's server must import its own ``tracesink``, not the venv's: fail otherwise."""
    for name, tree in trees.items():
        argv = [server_argv(name, 0, 0)[0], "-c", "import tracesink; print(tracesink.__file__)"]
        env = server_env(name, trees, scratch)
        found = subprocess.run(argv, capture_output=True, text=True, env=env, check=True).stdout
        if not Path(found.strip()).is_relative_to(tree):
            raise SystemExit(f"the {name} server would import {found.strip()}, not {tree}'s")


def measure(args: argparse.Namespace, trees: dict[str, Path], scratch: Path) -> list[run.Run]:
    servers = [s for s in SERVERS if s != "naive" or args.naive]
    workloads = [run.WORKLOADS[name.strip()] for name in args.workloads.split(",")]
    runs: list[run.Run] = []
    with run.redis_server() as (redis_port, redis_pid):
        client = redis.Redis(port=redis_port)
        args.script_note = run.verify_script_counting(client)
        run.wait_quiet(args.quiet, args.quiet_wait)
        args.calibration = run.calibrate()
        for workload in workloads:
            running: dict[str, tuple[int, int]] = {}
            with ExitStack() as stack:
                for server in servers:
                    port = run.free_port()
                    argv = server_argv(server, port, redis_port)
                    env = server_env(server, trees, scratch)
                    proc = stack.enter_context(run.started(argv, f"compare-{server}", env))
                    run.wait_healthy(port, proc, f"compare-{server}")
                    running[server] = (port, proc.pid)
                for server in servers:
                    run.run_wrk(workload, running[server][0], args.warmup, args.connections)
                    run.wait_idle(running[server][1])
                for index in range(args.runs):
                    for server in servers if index % 2 == 0 else servers[::-1]:
                        port, pid = running[server]
                        one = run.one_run(
                            server, workload, index, (pid, redis_pid), port, client, args
                        )
                        runs.append(one)
                        print(
                            f"{workload.name} {server:6} run {index + 1}: "
                            f"{one.entries_per_s:9,.0f} entries/s  "
                            f"{one.server_cpu_ms_per_1k:6.1f} us CPU/entry  "
                            f"p99 {one.p99_ms:6.2f} ms  {one.commands_per_entry:.3f} cmds/entry",
                            file=sys.stderr,
                            flush=True,
                        )
        client.close()
    return runs


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="a directory with src/, or a git revision")
    parser.add_argument("--head", default=str(run.ROOT), help="the same (default: this checkout)")
    parser.add_argument("--duration", type=int, default=8, help="seconds of load per run")
    parser.add_argument("--runs", type=int, default=3, help="rounds (each server once a round)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of unmeasured load")
    parser.add_argument("--workloads", default="a,b", help="comma-separated: a, b")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--no-naive", dest="naive", action="store_false", help="skip naive")
    parser.add_argument("--quiet", type=float, default=15, help="wait for cores under this %%")
    parser.add_argument("--quiet-wait", type=float, default=20, help="longest wait, seconds")
    parser.add_argument("--save", metavar="NAME", help="also bench/results-committed/NAME.json")
    args = parser.parse_args()
    args.verify = False  # run.one_run's option: duplicates are bench/run.py's business
    args.store = "redis"  # run.machine_notes names tracesink's store
    return args


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    commit = provenance.measured_commit(args.save)
    with tempfile.TemporaryDirectory(prefix="compare-trees-") as scratch_dir:
        scratch = Path(scratch_dir)
        base, base_commit = export_tree(args.base, scratch, "base")
        head, head_commit = export_tree(args.head, scratch, "head")
        trees = {"base": base, "head": head}
        check_imports(trees, scratch)
        runs = measure(args, trees, scratch)
    notes = run.machine_notes(args, args.script_note)
    notes[2] = (
        f"- setup: every server pinned to core {run.SERVER_CORE}, wrk (`-t1 -c{args.connections}"
        f"`) and redis-server to core {run.LOAD_CORE}; {args.runs} rounds of {args.duration} s "
        f"after a {args.warmup} s warm-up each, servers in alternating order; the floor is "
        "bench/frameworks.py's bare ASGI app on uvicorn (uvloop, httptools); global and trace "
        f"limits {run.HUGE_LIMIT:,} (checked on every entry, never reached); FLUSHALL + CONFIG "
        "RESETSTAT before each run"
    )
    document = {
        "kind": "tree-compare",
        "meta": {
            "commit": commit,
            "base": base_commit,
            "head": head_commit,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "command": " ".join([".venv/bin/python", "bench/compare_trees.py", *sys.argv[1:]]),
            "runs": args.runs,
            "duration": args.duration,
            "notes": notes,
        },
        "runs": [asdict(one) for one in runs],
    }
    paths = provenance.write_results(document, "compare-trees", args.save)
    print(tree_report.tree_compare_tables(document))
    print(f"raw runs: {', '.join(str(path.relative_to(run.ROOT)) for path in paths)}")


if __name__ == "__main__":
    main()
