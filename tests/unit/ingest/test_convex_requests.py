"""Untagged Convex events join the trace their request's tagged lines named (pure part)."""

from __future__ import annotations

import json

from tests.integration.test_convex_requests import failure
from tests.integration.test_convex_webhook import console
from tracesink.ingest.convex import parse_delivery
from tracesink.ingest.convex_requests import placed, taught, unresolved


def test_one_delivery_places_its_own_failure_and_asks_only_for_what_it_cannot() -> None:
    """A line tagged [trace:t-1] teaches req-1 → t-1, so req-1's failure in the same delivery
    moves to t-1 without a lookup; req-2's failure is left to the store's map (unresolved)
    and stays under req-2 when the store does not know it either."""
    body = json.dumps(
        [console("[trace:t-1] paying", request_id="req-1"), failure("req-1"), failure("req-2")]
    ).encode()
    delivery = parse_delivery(body)
    links = taught(delivery.entries)
    assert links == {"req-1": "t-1"}
    assert unresolved(delivery, links) == ["req-2"]
    placed(delivery, links)
    assert [item.entry.trace_id for item in delivery.entries] == ["t-1", "t-1", "req-2"]
    placed(delivery, {"req-2": "t-2"})
    assert [item.entry.trace_id for item in delivery.entries] == ["t-1", "t-1", "t-2"]
