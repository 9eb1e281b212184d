"""POST /ingest/convex on a real `tracesink serve`: signatures, console events into the trace,
repeated and concurrent deliveries stored once, malformed deliveries, the route off without a
secret."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.support.service import Service, entries_if_any, serving

pytestmark = pytest.mark.slow
SECRET = "convex-webhook-secret-0123456789"  # noqa: S105 - a test credential


@pytest.fixture(scope="module")
def sink() -> Iterator[Service]:
    with serving({"TRACESINK_CONVEX_WEBHOOK_SECRET": SECRET}) as running:
        yield running


def console(
    message: str, request_id: str = "d064ef901f7ec0b7", ts: int = 1715879172882
) -> dict[str, Any]:
    return {
        "topic": "console",
        "timestamp": ts,
        "function": {"path": "messages:send", "request_id": request_id, "type": "mutation"},
        "log_level": "LOG",
        "message": message,
    }


def deliver(service: Service, body: bytes, signature: str | None = "sign") -> httpx.Response:
    headers = {"content-type": "application/json"}
    if signature == "sign":
        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    if signature is not None:
        headers["x-webhook-signature"] = signature
    return httpx.post(f"{service.url}/ingest/convex", content=body, headers=headers)


def test_a_signed_delivery_lands_in_the_traces_it_names(sink: Service) -> None:
    """A tagged console event goes to its tag's trace without the tag; an untagged one to its
    request id; other topics are counted; every entry is system convex."""
    body = json.dumps(
        [
            {"topic": "verification", "timestamp": 1, "message": "Convex connection test"},
            console("'[trace:cx-good] charged card'"),
            console("'no tag'", request_id="cx-request-1"),
        ]
    ).encode()
    response = deliver(sink, body)
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "accepted": 2,
        "duplicates": 0,
        "ignored": {"verification": 1},
        "rejected": [],
    }
    [tagged] = entries_if_any(sink, "cx-good")
    assert (tagged["message"], tagged["system"], tagged["level"]) == (
        "'charged card'",
        "convex",
        "log",
    )
    assert tagged["timestamp"] == "2024-05-16T17:06:12.882Z"
    [untagged] = entries_if_any(sink, "cx-request-1")
    assert untagged["context"]["function_path"] == "messages:send"


@pytest.mark.parametrize(
    ("signature", "field"),
    [
        (None, "x-webhook-signature"),
        ("sha256=" + "0" * 64, "x-webhook-signature"),
        ("not a signature", "x-webhook-signature"),
    ],
)
def test_missing_or_bad_signatures_are_refused_and_store_nothing(
    sink: Service, signature: str | None, field: str
) -> None:
    """401 naming the header; nothing is stored."""
    body = json.dumps([console("'[trace:cx-forged] evil'")]).encode()
    response = deliver(sink, body, signature)
    assert response.status_code == 401
    assert response.json()["field"] == field
    assert entries_if_any(sink, "cx-forged") == []


def test_a_signature_for_another_body_is_refused(sink: Service) -> None:
    """The signature covers the raw body: one byte changed after signing is a 401."""
    body = json.dumps([console("'[trace:cx-tampered] a'")]).encode()
    good = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    refused = deliver(sink, body.replace(b" a", b" b"), good)
    assert (refused.status_code, refused.json()["field"]) == (401, "x-webhook-signature")
    assert entries_if_any(sink, "cx-tampered") == []


def test_a_repeated_delivery_is_stored_once(sink: Service) -> None:
    """Convex resends a batch (same events, JSONL this time, one new event added): the events
    already stored are counted as duplicates, only the new one is stored."""
    events = [console(f"'[trace:cx-repeat] step {i}'", ts=1715879172882 + i) for i in range(3)]
    first = deliver(sink, json.dumps(events).encode())
    assert first.json()["accepted"] == 3
    resent = [*events, console("'[trace:cx-repeat] step 3'", ts=1715879172999)]
    jsonl = b"\n".join(json.dumps(e).encode() for e in resent)
    again = deliver(sink, jsonl)
    assert (again.json()["accepted"], again.json()["duplicates"]) == (1, 3)
    messages = [e["message"] for e in entries_if_any(sink, "cx-repeat")]
    assert messages == [f"'step {i}'" for i in range(4)]


def test_concurrent_copies_of_one_delivery_are_stored_once(sink: Service) -> None:
    """Eight copies of a delivery at once: each event is stored exactly once."""
    body = json.dumps([console(f"'[trace:cx-race] {i}'", ts=i) for i in range(5)]).encode()
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: deliver(sink, body), range(8)))
    assert {a.status_code for a in answers} == {200}
    assert sum(a.json()["accepted"] for a in answers) == 5
    assert len(entries_if_any(sink, "cx-race")) == 5


@pytest.mark.parametrize("body", [b"", b"  \n ", b"[not json", b'[{"topic": "console"}'])
def test_a_malformed_delivery_is_a_400(sink: Service, body: bytes) -> None:
    """A correctly signed body that is empty or a broken JSON array: 400 naming the body."""
    response = deliver(sink, body)
    assert response.status_code == 400
    assert response.json()["field"] == "body"


def test_a_broken_jsonl_line_is_counted_not_fatal(sink: Service) -> None:
    """In JSONL each line stands alone: a broken one is counted as malformed, the rest stored."""
    body = b'{"topic": "console"\n' + json.dumps(console("'[trace:cx-jsonl] ok'")).encode()
    response = deliver(sink, body)
    assert response.status_code == 200
    assert (response.json()["accepted"], response.json()["ignored"]) == (1, {"malformed": 1})


def test_without_a_secret_the_route_is_off() -> None:
    """No TRACESINK_CONVEX_WEBHOOK_SECRET: 403 naming it, whatever is sent."""
    with serving() as plain:
        response = deliver(plain, b"[]", "sha256=00")
        assert response.status_code == 403
        assert response.json()["field"] == "TRACESINK_CONVEX_WEBHOOK_SECRET"
