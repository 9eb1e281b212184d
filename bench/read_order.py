"""Reading a trace in event order: store commands and time per ``GET /logs/{trace_id}`` of a
1,000-entry trace whose entries arrived out of time order, counted by redis-server itself
(``INFO commandstats``), for this tree's ``order=event`` (the default) and ``order=arrival``, and
for another checkout's plain read (``--base PATH``: that tree's ``src/`` goes first on
``PYTHONPATH``, e.g. ``/work/main`` for the read as it was before the sort).

    flock /tmp/tracesink-bench.lock .venv/bin/python bench/read_order.py [--base PATH] [--reads 50]

Each target gets its own redis-server and ``tracesink serve`` (bench/cost.py's helpers), the same
1,000 entries (10 batches of 100, their timestamps a shuffled second apart each), then ``--reads``
reads; prints one JSON document with commands per read and the median read time.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import redis

from tracesink.read_order import event_order
from tracesink.times import iso_ms

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cost import HUGE, ROOT, billed, tracesink  # bench/ is not a package
from run import redis_server

TRACE = "bench-read-order"
ENTRIES = 1000


def fill(url: str) -> None:
    start = round(time.time() * 1000) - 3_600_000 // 2
    times = [start + 1000 * i for i in range(ENTRIES)]
    random.Random(23).shuffle(times)  # arrival order is not time order
    for first in range(0, ENTRIES, 100):
        batch = [
            {"trace_id": TRACE, "message": f"step {i}", "system": "browser", "timestamp": times[i]}
            for i in range(first, first + 100)
        ]
        response = httpx.post(f"{url}/logs", json=batch, timeout=30)
        assert response.json()["accepted"] == 100, response.text


def reads(url: str, client: redis.Redis, query: str, n: int) -> dict[str, Any]:
    httpx.get(f"{url}/logs/{TRACE}{query}", timeout=30)  # warm-up, not counted
    client.config_resetstat()
    spent = []
    for _ in range(n):
        began = time.perf_counter()
        document = httpx.get(f"{url}/logs/{TRACE}{query}", timeout=30).json()
        spent.append(time.perf_counter() - began)
        assert document["count"] == ENTRIES, document.get("count")
    return {
        "query": query or "(none)",
        "commands_per_read": billed(client) / n,
        "median_read_ms": round(statistics.median(spent) * 1000, 2),
        "ordered_by_time": [e["timestamp"] for e in document["entries"]]
        == sorted(e["timestamp"] for e in document["entries"]),
    }


def measure(tree: Path, queries: list[str], n: int) -> list[dict[str, Any]]:
    env = {"TRACESINK_GLOBAL_LIMIT": str(HUGE), "TRACESINK_TRACE_LIMIT": str(HUGE)}
    with redis_server() as (redis_port, _), tracesink(tree, redis_port, env) as url:
        client = redis.Redis(port=redis_port)
        fill(url)
        return [{"tree": str(tree), **reads(url, client, q, n)} for q in queries]


def sort_ms() -> float:
    """The sort alone, in this process: event_order over 1,000 decoded entries (median of 20)."""
    shuffled = random.Random(23).sample(range(ENTRIES), ENTRIES)
    items = [
        {"id": f"{i:028x}", "timestamp": iso_ms(1_800_000_000_000 + t)}
        for i, t in enumerate(shuffled)
    ]
    spent = []
    for _ in range(20):
        began = time.perf_counter()
        event_order(items)
        spent.append(time.perf_counter() - began)
    return round(statistics.median(spent) * 1000, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=Path, help="another checkout, read as it reads")
    parser.add_argument("--reads", type=int, default=50)
    args = parser.parse_args()
    results = measure(ROOT, ["", "?order=arrival"], args.reads)
    if args.base is not None:
        results += measure(args.base.resolve(), [""], args.reads)
    document = {"entries": ENTRIES, "reads": args.reads, "sort_ms": sort_ms(), "results": results}
    print(json.dumps(document, indent=1))


if __name__ == "__main__":
    main()
