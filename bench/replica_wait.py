"""What the replica wait costs a write batch: the Redis store's ``write_batch`` on a real
primary with one real replica (``redis-server --replicaof``, tests/support/sentinel.py), with
``TRACESINK_REDIS_WAIT_REPLICAS`` off (the baseline) and at 1, in the same run, rounds
alternating so that the machine's drift hits both alike.

    flock /tmp/tracesink-bench.lock .venv/bin/python bench/replica_wait.py [--rounds 3] \
        [--batches 2000] [--entries 10] [--save]

Each round sends ``--batches`` batches of ``--entries`` entries (distinct traces, limits out of
the way) one after another, as the writer does when each batch waits for the last, and times
each. Prints one JSON document: per mode, batches per second and the p50/p99 batch time of each
round, their medians, and the ratios wait/off. ``--save`` writes it to
``bench/results-committed/replica-wait.json`` with the commit it was measured on.
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

from tracesink.limits import Policy
from tracesink.model import PreparedEntry
from tracesink.store import open_store
from tracesink.store.replica_wait import ReplicaWait

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.support.sentinel import running_replicated  # noqa: E402

HUGE = 10**9
POLICY = Policy(
    global_limit=HUGE, trace_limit=HUGE, system_limits={}, window_ms=3_600_000, ttl_ms=3_600_000
)
MODES = {"off": None, "wait-1": ReplicaWait(1, 1000)}


async def one_round(
    url: str, wait: ReplicaWait | None, batches: int, entries: int
) -> dict[str, Any]:
    store = open_store(url, POLICY, wait=wait)
    spent: list[float] = []
    try:
        for b in range(batches):
            batch = [
                PreparedEntry(
                    f"e{b}-{i}", f"t{i}", "manual", json.dumps({"id": f"e{b}-{i}"}).encode()
                )
                for i in range(entries)
            ]
            began = time.perf_counter()
            decisions = await store.write_batch(batch, int(time.time() * 1000))
            spent.append(time.perf_counter() - began)
            assert all(d.admitted and not d.queued for d in decisions)
    finally:
        await store.close()
    spent.sort()
    return {
        "batches_per_s": round(batches / sum(spent), 1),
        "p50_ms": round(spent[len(spent) // 2] * 1000, 3),
        "p99_ms": round(spent[int(len(spent) * 0.99)] * 1000, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batches", type=int, default=2000)
    parser.add_argument("--entries", type=int, default=10)
    parser.add_argument("--save", action="store_true")
    args = parser.parse_args()
    rounds: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
    with running_replicated(1, sentinels=False) as topology:
        for _ in range(args.rounds):
            for mode, wait in MODES.items():
                redis.Redis(port=topology.primary.port).flushall()
                rounds[mode].append(
                    asyncio.run(one_round(topology.primary.url, wait, args.batches, args.entries))
                )
    medians = {
        mode: {key: statistics.median(r[key] for r in results) for key in results[0]}
        for mode, results in rounds.items()
    }
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    document = {
        "commit": commit,
        "command": " ".join(["bench/replica_wait.py", *sys.argv[1:]]),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "rounds": rounds,
        "medians": medians,
        "ratio_wait_to_off": {
            key: round(medians["wait-1"][key] / medians["off"][key], 2) for key in medians["off"]
        },
    }
    text = json.dumps(document, indent=2)
    print(text)
    if args.save:
        (ROOT / "bench" / "results-committed" / "replica-wait.json").write_text(text + "\n")


if __name__ == "__main__":
    main()
