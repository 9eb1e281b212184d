"""The per-entry floor of the ingest path in Python: decode a 20-entry batch and validate each
entry into its stored JSON, with no HTTP and no store, as a share of the 10 us per entry that
100,000 entries/s on one core allows.

    .venv/bin/python bench/prepare_entry.py                # the entry of issue 27's first figures
    .venv/bin/python bench/prepare_entry.py --workload b   # bench/wrk/logs_batch.lua's entries

Instructions instead of seconds, unmoved by other load on the machine (the difference of two
round counts is the cost of 100 batches, start-up cancelled out):

    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        .venv/bin/python bench/prepare_entry.py --rounds 20    # then --rounds 120

The entries are prepared as ``POST /logs`` does: by ``prepare_batch`` where the tree on the path
has one, else by the route's loop of ``prepare_entry`` calls it replaced (so that an older tree
is measured the way its route ran).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from tracesink.errors import ValidationError
from tracesink.ingest.sender import Sender
from tracesink.ingest.validate import EntryRules, decode_batch, prepare_entry

BUDGET_US = 10.0  # 100,000 entries/s on one core
ROUNDS = 5000
RULES = EntryRules(max_message_bytes=16384, max_context_bytes=16384, max_context_depth=8)
NOW_MS = 1_795_946_400_000
SENDER = Sender({})
# Workload (b) of bench/run.py (bench/wrk/logs_batch.lua): six kinds of line of a browser
# session, one trace per batch, a unique message each, no timestamp of their own.
VARIANTS = [
    (
        "info",
        "fetch /api/cart/items -> 200 in 143 ms",
        '{"url":"/checkout","component":"CartSummary","sid":"a81f"}',
    ),
    (
        "log",
        "render Dashboard took 38 ms, 212 rows",
        '{"url":"/dashboard","route":"dashboard.index","sid":"c07e"}',
    ),
    (
        "warn",
        "retrying POST /api/orders after 503",
        '{"url":"/checkout","attempt":2,"online":true,"sid":"19bd"}',
    ),
    (
        "error",
        "TypeError: cannot read 'id' of undefined",
        '{"url":"/orders/view","line":118,"col":22,"sid":"e4a2"}',
    ),
    (
        "info",
        "navigation /orders -> /orders/view in 61 ms",
        '{"url":"/orders/view","route":"orders.view","sid":"5f30"}',
    ),
    (
        "log",
        "websocket heartbeat ok, rtt 24 ms, queue 0",
        '{"url":"/dashboard","socket":"live-updates","sid":"b6c9"}',
    ),
]
BODIES = 64  # workload (b): distinct bodies, made before the rounds


def batch_body() -> bytes:
    entry = {
        "trace_id": "t-1",
        "message": "fetch /api/cart/items -> 200 in 143 ms",
        "level": "info",
        "system": "browser",
        "context": {"url": "/checkout", "component": "CartSummary", "sid": "a81f"},
    }
    return json.dumps([{**entry, "timestamp": NOW_MS + i} for i in range(20)]).encode()


def workload_b_body(n: int) -> bytes:
    trace = f"{n:08x}-7c1e-4b5a-9d0e-{n * 7919:012x}"
    items = []
    for seq in range(n * 20, n * 20 + 20):
        level, message, context = VARIANTS[seq % len(VARIANTS)]
        items.append(
            f'{{"trace_id":"{trace}","message":"{message} (seq 1-{seq})","level":"{level}",'
            f'"system":"browser","context":{context}}}'
        )
    return f"[{','.join(items)}]".encode()


def route_loop(items: list[Any], rules: EntryRules, sender: Sender, now_ms: int) -> Any:
    """What ``post_logs`` ran per entry before ``prepare_batch`` (an older tree's route)."""
    rejected: list[dict[str, Any]] = []
    prepared = []
    for index, item in enumerate(items):
        if isinstance(item, ValidationError):
            reason, field = item.message, item.field
        else:
            try:
                prepared.append((index, prepare_entry(item, rules, sender, now_ms)))
                continue
            except ValidationError as exc:
                reason, field = exc.message, exc.field
        rejected.append({"index": index, "reason": reason, "field": field, "retryable": False})
    return prepared, rejected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="20-entry batches to run")
    parser.add_argument("--workload", choices=("first", "b"), default="first")
    args = parser.parse_args()
    rounds = args.rounds
    first = args.workload == "first"
    bodies = [batch_body()] if first else [workload_b_body(n) for n in range(BODIES)]
    try:
        from tracesink.ingest.batch import prepare_batch as prepare
    except ImportError:  # a tree from before it
        prepare = route_loop
    decoded_bodies = [decode_batch(body) for body in bodies]
    started = time.perf_counter()
    for i in range(rounds):
        decode_batch(bodies[i % len(bodies)])
    decoded = time.perf_counter()
    for i in range(rounds):
        prepare(decoded_bodies[i % len(bodies)], RULES, SENDER, NOW_MS + i)
    prepared = time.perf_counter()
    n = rounds * len(decoded_bodies[0])
    decode_us = (decoded - started) / n * 1e6
    prepare_us = (prepared - decoded) / n * 1e6
    total = decode_us + prepare_us
    print(
        f"decode {decode_us:.2f} us/entry, prepare {prepare_us:.2f} us/entry, "
        f"{total / BUDGET_US:.0%} of the {BUDGET_US:g} us budget of 100,000 entries/s, "
        f"ceiling {1e6 / total:,.0f} entries/s on one core with nothing else to do"
    )


if __name__ == "__main__":
    main()
