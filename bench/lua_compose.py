"""The scripts composed from fragments (store/lua/lib/, --#include) against the same scripts as
single files before (git show REV:...), on one redis-server, same calls, same run: Redis's own
time per call (SLOWLOG) and the replies, which must be equal.

    flock /tmp/tracesink-bench.lock .venv/bin/python bench/lua_compose.py --save

Workloads, each a sequence of calls on an emptied database, rounds alternating before, after,
after, before, ...: write_batch.lua with one entry (a POST /log), 20 entries of one trace, and
1,000 entries over 1,000 traces; cluster_decide.lua with 20 entries. Limits are tight enough that
some entries are refused (the decision's every branch runs). ``--save`` writes the figures to
``bench/results-committed/lua-compose.json``. The composition happens once, when a script is
loaded; what this measures is whether the composed text runs as fast, call by call.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.support.redis_server import running_redis_server  # noqa: E402

from tracesink.limits import Policy  # noqa: E402
from tracesink.model import PreparedEntry  # noqa: E402
from tracesink.store.cluster_scripts import decide_call  # noqa: E402
from tracesink.store.scripts import LuaScript, ScriptCall, write_batch_call  # noqa: E402

BASE = "d3d84c0"  # main before the fragments (the cluster store merged)
POLICY = Policy(
    global_limit=100_000,
    trace_limit=400,
    system_limits={"browser": 40_000, "worker": 30_000},
    window_ms=3_600_000,
    ttl_ms=3_600_000,
)
PAYLOAD_BYTES = 300


def entry(n: int, trace_id: str) -> PreparedEntry:
    body = json.dumps({"id": f"e{n:012d}", "trace_id": trace_id, "message": "x"})
    system = ("browser", "worker", "convex")[n % 3]
    return PreparedEntry(f"e{n:012d}", trace_id, system, body.encode().ljust(PAYLOAD_BYTES))


def single_file(rev: str, name: str) -> LuaScript:
    text = subprocess.run(
        ["git", "show", f"{rev}:src/tracesink/store/lua/{name}.lua"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return LuaScript(name, text, hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest())


Workload = Callable[[int, int], ScriptCall]  # (call number, now_ms) -> the call


def workloads() -> dict[str, tuple[str, Workload]]:
    def batch(size: int, traces: int) -> Callable[[int], list[PreparedEntry]]:
        return lambda n: [entry(n * size + i, f"t{(n * size + i) % traces}") for i in range(size)]

    one, twenty, thousand = batch(1, 50), batch(20, 1), batch(1000, 1000)
    return {
        "write_batch, 1 entry": (
            "write_batch",
            lambda n, now: write_batch_call(POLICY, one(n), now, f"b{n}"),
        ),
        "write_batch, 20 entries of 1 trace": (
            "write_batch",
            lambda n, now: write_batch_call(POLICY, twenty(n), now, f"b{n}"),
        ),
        "write_batch, 1000 entries over 1000 traces": (
            "write_batch",
            lambda n, now: write_batch_call(POLICY, thousand(n), now, f"b{n}"),
        ),
        "cluster_decide, 20 entries of 1 trace": (
            "cluster_decide",
            lambda n, now: decide_call(POLICY, twenty(n), now, f"b{n}", 0),
        ),
    }


def round_of(
    client: redis.Redis, script: LuaScript, make: Workload, calls: int, now: int
) -> tuple[float, list[Any]]:
    """``calls`` calls of ``script`` on an emptied database: Redis's microseconds for them (the
    EVALSHAs' SLOWLOG durations, summed) and their replies."""
    client.flushall()
    client.script_load(script.text)
    client.slowlog_reset()
    replies = []
    for n in range(calls):
        call = make(n, now + n)
        replies.append(client.evalsha(script.sha, len(call.keys), *call.keys, *call.args))
    logged = client.slowlog_get(100_000)
    return float(sum(e["duration"] for e in logged if e["command"].startswith(b"EVALSHA"))), replies


def measure(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    now = int(time.time() * 1000)
    with running_redis_server() as server:
        client = redis.Redis.from_url(server.url)
        client.config_set("slowlog-log-slower-than", 0)
        client.config_set("slowlog-max-len", 100_000)
        for label, (name, make) in workloads().items():
            scripts = {"before": single_file(args.base, name), "after": LuaScript.load(name)}
            calls = 3 if "1000" in label else args.calls
            times: dict[str, list[float]] = {"before": [], "after": []}
            replies: dict[str, list[Any]] = {}
            for run in range(args.runs):
                for which in ("before", "after") if run % 2 == 0 else ("after", "before"):
                    us, got = round_of(client, scripts[which], make, calls, now)
                    times[which].append(us / calls)
                    replies[which] = got
            if replies["before"] != replies["after"]:
                raise SystemExit(f"{label}: the replies differ before and after")
            before, after = (statistics.median(times[w]) for w in ("before", "after"))
            results[label] = {
                "us_per_call_before": before,
                "us_per_call_after": after,
                "ratio_after_to_before": after / before,
                "rounds_before": times["before"],
                "rounds_after": times["after"],
                "calls_per_round": calls,
            }
            print(
                f"{label:45} before {before:8.1f} us  after {after:8.1f} us  "
                f"ratio {after / before:.3f}"
            )
        client.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=BASE, help="the revision of the single-file scripts")
    parser.add_argument("--runs", type=int, default=9, help="rounds per version and workload")
    parser.add_argument("--calls", type=int, default=200, help="calls per round (1000-entry: 3)")
    parser.add_argument("--save", action="store_true", help="write lua-compose.json")
    args = parser.parse_args()
    load_before = os.getloadavg()
    results = measure(args)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    out = {
        "meta": {
            "commit": commit,
            "base": args.base,
            "command": "bench/lua_compose.py " + " ".join(sys.argv[1:]),
            "loadavg_before": load_before,
            "loadavg_after": os.getloadavg(),
            "cpus": os.cpu_count(),
        },
        "results": results,
    }
    if args.save:
        path = ROOT / "bench" / "results-committed" / "lua-compose.json"
        path.write_text(json.dumps(out, indent=2) + "\n", "utf-8")
        print(f"saved {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
