"""The per-entry floor of the ingest path in Python: decode a 20-entry batch and validate each
entry into its stored JSON, with no HTTP and no store, as a share of the 10 us per entry that
100,000 entries/s on one core allows.

    .venv/bin/python bench/prepare_entry.py

Instructions instead of seconds, unmoved by other load on the machine (the difference of two
round counts is the cost of 100 batches, start-up cancelled out):

    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        .venv/bin/python bench/prepare_entry.py --rounds 20    # then --rounds 120
"""

from __future__ import annotations

import argparse
import json
import time

from tracesink.ingest.model import IncomingEntry
from tracesink.ingest.sender import Sender
from tracesink.ingest.validate import EntryRules, decode_batch, prepare_entry

BUDGET_US = 10.0  # 100,000 entries/s on one core
ROUNDS = 5000
RULES = EntryRules(max_message_bytes=16384, max_context_bytes=16384, max_context_depth=8)
NOW_MS = 1_795_946_400_000
SENDER = Sender({})


def batch_body() -> bytes:
    entry = {
        "trace_id": "t-1",
        "message": "fetch /api/cart/items -> 200 in 143 ms",
        "level": "info",
        "system": "browser",
        "context": {"url": "/checkout", "component": "CartSummary", "sid": "a81f"},
    }
    return json.dumps([{**entry, "timestamp": NOW_MS + i} for i in range(20)]).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="20-entry batches to run")
    rounds = parser.parse_args().rounds
    body = batch_body()
    started = time.perf_counter()
    for _ in range(rounds):
        items = decode_batch(body)
    decoded = time.perf_counter()
    entries = [item for item in items if isinstance(item, IncomingEntry)]
    for i in range(rounds):
        for item in entries:
            prepare_entry(item, RULES, SENDER, NOW_MS + i)
    prepared = time.perf_counter()
    n = rounds * len(entries)
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
