"""Hostile bodies against a real ``tracesink serve`` (memory and Redis stores): invalid batches
are not retained in memory, an overlong batch is refused for its count, deep nesting anywhere is
a 400 naming the place."""

from __future__ import annotations

import httpx
import pytest

from tests.support.service import Service, rss_bytes

pytestmark = pytest.mark.slow

# Measured on this machine: five 512k-item batches grew the process by ~2.9 GB before, and each
# 1,000-item invalid batch by ~2.4 MB (its error's traceback kept the body alive); now the whole
# flood grows it by 3-5 MB (allocator pools kept for reuse). 16 MiB leaves room for that noise
# and is far below what one leaked body per request would add (~25 MB).
RSS_GROWTH_BOUND = 16 * 1024 * 1024
DEEP_ARRAY = "[" * 5000 + "]" * 5000
DEEP_OBJECT = '{"a":' * 5000 + "1" + "}" * 5000
OK = '{"trace_id":"t-ok","message":"m"}'


def entry_with(field: str, value: str) -> str:
    return '{"trace_id":"t","message":"m","' + field + '":' + value + "}"


def test_a_flood_of_invalid_batches_is_not_retained(service: Service) -> None:
    """Five ~1 MiB batches of 500k invalid items (413 for their count) and twenty batches of
    1,000 invalid ~1 KiB items (400 each, every item's error listed): the process grows by less
    than RSS_GROWTH_BOUND, and /health answers between them."""
    count_flood = "[" + ",".join(["0"] * 500_000) + "]"
    bad_item = '{"trace_id":"!","message":"' + "x" * 1000 + '"}'
    item_flood = "[" + ",".join([bad_item] * 1000) + "]"
    with httpx.Client(base_url=service.url, timeout=30) as client:
        client.post("/logs", content=item_flood)  # warm-up: first-use allocations are not a leak
        before = rss_bytes(service.process.pid)
        for _ in range(5):
            response = client.post("/logs", content=count_flood)
            assert response.status_code == 413
            assert "TRACESINK_MAX_BATCH_ITEMS" in response.json()["error"]
        for _ in range(20):
            response = client.post("/logs", content=item_flood)
            assert response.status_code == 400
            assert len(response.json()["rejected"]) == 1000
        assert client.get("/health", timeout=2).status_code == 200
        grown = rss_bytes(service.process.pid) - before
    assert grown < RSS_GROWTH_BOUND, f"grew {grown / 1e6:.1f} MB"


@pytest.mark.parametrize(
    ("path", "body", "field", "place"),
    [
        ("/log", entry_with("context", DEEP_OBJECT), "context", "field `context`"),
        ("/log", entry_with("unknown", DEEP_ARRAY), "unknown", "field `unknown`"),
        ("/logs", DEEP_ARRAY, "body", "item 0"),
        ("/logs", f"[{OK},{entry_with('context', DEEP_OBJECT)}]", "context", "item 1"),
        ("/logs", f"[{OK},{entry_with('extra', DEEP_ARRAY)}]", "extra", "item 1"),
    ],
)
def test_deep_nesting_anywhere_is_a_400_naming_the_place(
    service: Service, path: str, body: str, field: str, place: str
) -> None:
    """Nesting past msgspec's recursion guard, in an entry's context, an unknown field, a batch's
    top level or one of its items: 400 with the place in `field` and the message, never a 500."""
    response = httpx.post(f"{service.url}{path}", content=body, timeout=10)
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert response.json()["error"].startswith(place)


def test_a_deep_ndjson_line_rejects_that_line_only(service: Service) -> None:
    """NDJSON with one deep line: the other lines are stored, the deep one is rejected by name."""
    body = "\n".join([OK, entry_with("context", DEEP_OBJECT), OK])
    response = httpx.post(
        f"{service.url}/logs", content=body, headers={"content-type": "application/x-ndjson"}
    )
    assert response.status_code == 200
    content = response.json()
    assert content["accepted"] == 2
    [rejected] = content["rejected"]
    assert (rejected["index"], rejected["field"]) == (1, "context")
