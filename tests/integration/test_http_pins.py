"""Pinning over real HTTP, against a real ``tracesink serve`` (memory and Redis stores): a pinned
trace is still read, listed and counted after its TTL, an unpinned one is not; the bounds and
the read guard refuse what they must; ``tracesink pin`` / ``unpin`` drive the same routes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.poll import wait_until
from tests.support.redis_server import RedisServer
from tests.support.service import Service, serving

pytestmark = pytest.mark.slow

TOKEN = "pin-test-read-token-0123456789abcdef"  # noqa: S105
INGEST_KEY = "pk_pin_test_key"
AUTH = {"authorization": f"Bearer {TOKEN}"}


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def store_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    server: RedisServer = request.getfixturevalue("redis_server")
    return server.url


def serve(store: str, **env: str) -> Iterator[Service]:
    base = {
        "TRACESINK_STORE": store,
        "TRACESINK_TTL_S": "2",
        "TRACESINK_READ_TOKEN": TOKEN,
        "TRACESINK_INGEST_KEYS": f"{INGEST_KEY}=*",
    }
    with serving({**base, **env}) as service:
        yield service


@pytest.fixture
def service(store_url: str) -> Iterator[Service]:
    yield from serve(store_url)


def send(service: Service, trace_id: str, message: str = "hello") -> None:
    response = httpx.post(
        f"{service.url}/log",
        json={"trace_id": trace_id, "message": message},
        headers={"x-tracesink-key": INGEST_KEY},
    )
    assert response.status_code == 200, response.text


def wait_gone(service: Service, trace_id: str) -> None:
    """Until the unpinned ``trace_id`` has expired (polled; its TTL is 2 s)."""
    wait_until(
        lambda: httpx.get(f"{service.url}/logs/{trace_id}", headers=AUTH).status_code == 404,
        f"{trace_id}'s expiry",
    )


def cli(service: Service, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACESINK_")}
    env |= {"TRACESINK_URL": service.url, "TRACESINK_READ_TOKEN": TOKEN}
    return subprocess.run(
        [sys.executable, "-m", "tracesink", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_pinned_trace_outlives_its_ttl_and_an_unpinned_one_does_not(service: Service) -> None:
    """Pinned by the CLI, a trace is read (with pinned_until), listed by /traces after its hour
    and counted in /stats once a trace written beside it has expired; a write to it keeps the
    pin; unpinned, it goes at once (its TTL has passed)."""
    for trace_id in ("kept", "gone"):
        send(service, trace_id)
    pinned = cli(service, "pin", "kept", "--for", "1h")
    assert pinned.returncode == 0, pinned.stderr
    assert "pinned kept until " in pinned.stdout
    time.sleep(0.5)  # past the slack (0.2 s): this write sets the list's expiry
    send(service, "kept", "after the pin")
    send(service, "gone")
    wait_gone(service, "gone")

    trace = httpx.get(f"{service.url}/logs/kept", headers=AUTH).json()
    assert [e["message"] for e in trace["entries"]] == ["hello", "after the pin"]
    assert trace["pinned_until"] is not None
    listed = httpx.get(f"{service.url}/traces", headers=AUTH).json()["traces"]
    assert [(t["trace_id"], t["pinned_until"]) for t in listed] == [("kept", trace["pinned_until"])]
    pins = httpx.get(f"{service.url}/stats", headers=AUTH).json()["pins"]
    assert (pins["count"], pins["max_pins"]) == (1, 100)
    assert pins["bytes"] > 0
    assert [p["trace_id"] for p in pins["traces"]] == ["kept"]

    unpinned = cli(service, "unpin", "kept")
    assert unpinned.returncode == 0, unpinned.stderr
    assert httpx.get(f"{service.url}/logs/kept", headers=AUTH).status_code == 404
    again = httpx.delete(f"{service.url}/logs/kept/pin", headers=AUTH)
    assert again.status_code == 404
    assert again.json()["field"] == "trace_id"


def test_pinning_needs_the_read_token(service: Service) -> None:
    """No token, a wrong one, or an ingest key: 401, and nothing is pinned."""
    send(service, "a")
    url = f"{service.url}/logs/a/pin"
    for headers in ({}, {"authorization": "Bearer nope"}, {"x-tracesink-key": INGEST_KEY}):
        assert httpx.post(url, headers=headers).status_code == 401
        assert httpx.delete(url, headers=headers).status_code == 401
    pins = httpx.get(f"{service.url}/stats", headers=AUTH).json()["pins"]
    assert pins["count"] == 0


@pytest.fixture
def bounded() -> Iterator[Service]:
    yield from serve("memory://", TRACESINK_MAX_PINS="1", TRACESINK_MAX_PIN_BYTES="2000")


def test_pins_past_their_bounds_are_refused_naming_the_limit(bounded: Service) -> None:
    """The count, the bytes and the duration are bounded; each refusal names its limit, and an
    unknown trace or a malformed duration says which field is wrong."""
    send(bounded, "a")
    send(bounded, "b")
    send(bounded, "big", "x" * 3000)
    http = httpx.Client(base_url=bounded.url, headers=AUTH)
    assert http.post("/logs/a/pin", json={"for": "2h"}).status_code == 200
    refused = http.post("/logs/b/pin")
    assert refused.status_code == 409
    assert refused.json()["field"] == "TRACESINK_MAX_PINS"
    assert http.delete("/logs/a/pin").status_code == 200
    too_large = http.post("/logs/big/pin")
    assert too_large.status_code == 409
    assert too_large.json()["field"] == "TRACESINK_MAX_PIN_BYTES"
    too_long = http.post("/logs/b/pin", params={"for": "31d"})
    assert too_long.status_code == 400
    assert "TRACESINK_MAX_PIN_S" in too_long.json()["error"]
    for bad in ("soon", "0", "7w"):
        assert http.post("/logs/b/pin", params={"for": bad}).json()["field"] == "for"
    assert http.post("/logs/never/pin").status_code == 404
    assert http.get("/logs/b/pin").status_code == 405
    http.close()
