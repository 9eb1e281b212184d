"""A Redis Cluster (three primaries) against a single primary, same workload, same run (issue 26
item 4): the store alone, driven in-process, so that the figure is the store's path (script
calls, round trips, Redis's CPU), not HTTP's.

W writers (each its own store instance, as W tracesink processes would be) send batches of B
entries, each entry to one of T traces, for D seconds; rounds alternate single, cluster, single,
... Reported per topology: entries admitted per second (the median round), commands per entry
(``usage.commands``: what a hosted Redis bills). Limits are 10^9: nothing is refused, every
entry is appended. Then Redis's own time per entry (SLOWLOG) of a 1,000-entry batch over 1,000
traces, for write_batch.lua, cluster_decide.lua and the appends: the paper limits of
docs/architecture.md ("How far it goes, on paper") are these figures' inverses.

    flock /tmp/tracesink-bench.lock .venv/bin/python bench/cluster.py --save

On this 2-core machine the writers, the single redis-server and the cluster's three share the
same two cores: the figure shows what the cluster's extra step costs per batch, not what three
machines' shards would add (docs/architecture.md does that arithmetic).
``--save`` writes the figures to ``bench/results-committed/cluster-vs-single.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.support.redis_cluster import running_redis_cluster  # noqa: E402
from tests.support.redis_server import running_redis_server  # noqa: E402

from tracesink.limits import Decision, Policy  # noqa: E402
from tracesink.model import PreparedEntry  # noqa: E402
from tracesink.store import open_store  # noqa: E402
from tracesink.store.cluster_scripts import (  # noqa: E402
    append_call,
    append_shares,
    decide_call,
)
from tracesink.store.script_store import ScriptStore  # noqa: E402
from tracesink.store.scripts import ScriptCall, write_batch_call  # noqa: E402

UNLIMITED = 10**9
POLICY = Policy(
    global_limit=UNLIMITED,
    trace_limit=UNLIMITED,
    system_limits={"browser": UNLIMITED},
    window_ms=3_600_000,
    ttl_ms=3_600_000,
)
PAYLOAD_BYTES = 300  # about a browser entry with a short context


def entry(n: int, trace_id: str) -> PreparedEntry:
    body = json.dumps({"id": f"e{n:012d}", "trace_id": trace_id, "message": "x"})
    payload = body.encode().ljust(PAYLOAD_BYTES)
    return PreparedEntry(f"e{n:012d}", trace_id, "browser", payload)


async def round_of(url: str, args: argparse.Namespace, seed: int) -> dict[str, float]:
    """One round: W writers for D seconds; entries/s, commands per entry, calls per batch."""
    stores = [open_store(url, POLICY) for _ in range(args.writers)]
    counter = iter(range(seed, 1 << 62))
    done = [0] * args.writers
    batches = [0] * args.writers

    async def writer(i: int, store: ScriptStore, until: float) -> None:
        while time.monotonic() < until:
            numbers = [next(counter) for _ in range(args.batch)]
            batch = [entry(n, f"t{n % args.traces}") for n in numbers]
            decisions = await store.write_batch(batch, int(time.time() * 1000))
            done[i] += sum(d.admitted for d in decisions)
            batches[i] += 1

    warm = time.monotonic() + args.warmup
    await asyncio.gather(*(writer(i, s, warm) for i, s in enumerate(stores)))  # type: ignore[arg-type]
    done[:] = [0] * args.writers
    batches[:] = [0] * args.writers
    before = sum(s.usage.commands for s in stores)
    started = time.monotonic()
    until = started + args.duration
    await asyncio.gather(*(writer(i, s, until) for i, s in enumerate(stores)))  # type: ignore[arg-type]
    elapsed = time.monotonic() - started
    commands = sum(s.usage.commands for s in stores) - before
    for store in stores:
        await store.close()
    entries = sum(done)
    return {
        "entries_per_s": entries / elapsed,
        "commands_per_entry": commands / entries,
        "batches": sum(batches),
    }


def script_times(url: str, entries: int, repeats: int) -> dict[str, float]:
    """Redis's own time per entry (SLOWLOG, every command logged; the median of ``repeats``)
    of one batch of ``entries`` entries over as many traces: write_batch.lua (a single
    primary's whole step), cluster_decide.lua (what the counters' shard does for every batch
    of a cluster) and cluster_append.lua (the appends, summed over the traces)."""
    client = redis.Redis.from_url(url)

    def timed(calls: list[ScriptCall]) -> float:
        client.flushall()
        client.config_set("slowlog-log-slower-than", 0)
        client.config_set("slowlog-max-len", 100_000)
        client.slowlog_reset()
        for call in calls:
            client.eval(call.script.text, len(call.keys), *call.keys, *call.args)
        logged = client.slowlog_get(100_000)
        return float(sum(e["duration"] for e in logged if e["command"].startswith(b"EVAL ")))

    now = int(time.time() * 1000)
    figures: dict[str, list[float]] = {"write_batch": [], "decide": [], "appends": []}
    for n in range(repeats):
        batch = [entry(n * entries + i, f"t{i}") for i in range(entries)]
        decisions = [_ADMITTED] * entries
        shares = append_shares(POLICY, batch, decisions, now, [])
        figures["write_batch"].append(timed([write_batch_call(POLICY, batch, now, f"b{n}")]))
        figures["decide"].append(timed([decide_call(POLICY, batch, now, f"b{n}", 0)]))
        appends = [append_call(POLICY, now, "w", [share]) for share in shares]
        figures["appends"].append(timed(appends))
    client.config_set("slowlog-log-slower-than", 10_000)
    client.close()
    return {name: statistics.median(us) / entries for name, us in figures.items()}


_ADMITTED = Decision(None, {"global": 1, "trace": 1})


def _flush(url: str) -> None:
    client = redis.Redis.from_url(url)
    client.flushall()
    client.close()


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    with running_redis_server() as single, running_redis_cluster() as cluster:
        urls = {"single": single.url, "cluster": cluster.url}
        # Each round starts empty: lists past TRACESINK_MAX_TRACE_ENTRIES would add the trim's
        # two commands to every later round, whichever topology it is.
        empty = {"single": lambda: _flush(single.url), "cluster": cluster.flush}
        for run in range(args.runs):
            for name in ("single", "cluster") if run % 2 == 0 else ("cluster", "single"):
                empty[name]()
                figures = await round_of(urls[name], args, seed=len(runs) * 10**9)
                runs.append({"topology": name, "run": run, **figures})
                rate, cost = figures["entries_per_s"], figures["commands_per_entry"]
                print(f"{name:8} run {run}: {rate:9.0f} entries/s, {cost:.2f} commands/entry")
    summary: dict[str, Any] = {}
    for name in ("single", "cluster"):
        mine = [r for r in runs if r["topology"] == name]
        summary[name] = {
            "entries_per_s_median": statistics.median(r["entries_per_s"] for r in mine),
            "commands_per_entry": statistics.median(r["commands_per_entry"] for r in mine),
        }
    summary["ratio_cluster_to_single"] = (
        summary["cluster"]["entries_per_s_median"] / summary["single"]["entries_per_s_median"]
    )
    with running_redis_server() as single:
        times = script_times(single.url, args.script_entries, args.script_repeats)
    summary["redis_us_per_entry"] = times
    print("Redis time per entry, us:", {k: round(v, 2) for k, v in times.items()})
    return {"summary": summary, "runs": runs}


def meta(args: argparse.Namespace) -> dict[str, Any]:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    redis_version = subprocess.run(
        ["redis-server", "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "commit": commit,
        "command": "bench/cluster.py " + " ".join(sys.argv[1:]),
        "workload": {k: v for k, v in vars(args).items() if k != "save"},
        "redis": redis_version,
        "loadavg_before": os.getloadavg(),
        "cpus": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=4, help="store instances writing at once")
    parser.add_argument("--batch", type=int, default=20, help="entries per batch")
    parser.add_argument("--traces", type=int, default=1000, help="distinct trace ids")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per round")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds per round")
    parser.add_argument("--runs", type=int, default=3, help="rounds per topology")
    parser.add_argument(
        "--script-entries", type=int, default=1000, help="entries of the scripts' timed batch"
    )
    parser.add_argument("--script-repeats", type=int, default=9, help="timed batches per script")
    parser.add_argument("--save", action="store_true", help="write the committed results file")
    args = parser.parse_args()
    document = {"kind": "cluster-vs-single", "meta": meta(args), **asyncio.run(measure(args))}
    document["meta"]["loadavg_after"] = os.getloadavg()
    print(json.dumps(document["summary"], indent=2))
    if args.save:
        path = ROOT / "bench" / "results-committed" / "cluster-vs-single.json"
        path.write_text(json.dumps(document, indent=2) + "\n")
        print(f"written: {path}")


if __name__ == "__main__":
    main()
