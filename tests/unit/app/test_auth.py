"""Who may read (a bearer token) and who may send (public ingest keys bound to origins)."""

from __future__ import annotations

import pytest

from tracesink.app.auth import IngestGuard, ReadGuard
from tracesink.app.http import Request
from tracesink.app.locality import Locality
from tracesink.errors import AccessDenied

TOKEN = "read-token-0123456789"  # noqa: S105 - a test credential


def request(headers: dict[str, str], query: str = "") -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "query_string": query.encode(),
        "client": ("127.0.0.1", 5000),
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
    }

    async def receive() -> dict[str, object]:
        return {"type": "http.disconnect"}

    return Request(scope, receive)


def test_reads_need_the_exact_bearer_token_when_one_is_set() -> None:
    local = Locality(True, [])
    ReadGuard(None, False, local).check(request({"host": "127.0.0.1"}))  # no token: local open
    with pytest.raises(AccessDenied):
        ReadGuard(None, False, local).check(request({"host": "evil.example"}))
    ReadGuard(TOKEN, False, local).check(request({"authorization": f"Bearer {TOKEN}"}))
    for given in ({}, {"authorization": TOKEN}, {"authorization": f"Bearer {TOKEN}x"}):
        with pytest.raises(AccessDenied) as caught:
            ReadGuard(TOKEN, False, local).check(request(given))
        assert (caught.value.status, caught.value.field) == (401, "Authorization")


def test_an_ingest_key_comes_as_a_header_or_a_query_parameter() -> None:
    guard = IngestGuard({"pk_web_123": ("https://app.example",)})
    guard.check(request({"x-tracesink-key": "pk_web_123"}))
    guard.check(request({}, "key=pk_web_123"))  # sendBeacon cannot set headers
    with pytest.raises(AccessDenied) as caught:
        guard.check(request({"x-tracesink-key": "pk_other_1"}))
    assert (caught.value.status, caught.value.field) == (401, "key")


def test_an_ingest_key_is_refused_from_an_origin_it_does_not_list() -> None:
    """A key copied onto another site is refused there (403); a key for * works anywhere."""
    guard = IngestGuard({"pk_web_123": ("https://app.example",), "pk_any_123": ("*",)})
    guard.check(request({"x-tracesink-key": "pk_web_123", "origin": "https://app.example/"}))
    with pytest.raises(AccessDenied) as caught:
        guard.check(request({"x-tracesink-key": "pk_web_123", "origin": "https://evil.example"}))
    assert (caught.value.status, caught.value.field) == (403, "Origin")
    guard.check(request({"x-tracesink-key": "pk_any_123", "origin": "https://evil.example"}))
