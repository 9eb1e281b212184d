"""The contract a first-time user expects, over real HTTP to a real ``tracesink serve``: trace ids
from headers, the levels and systems people send, answers whose parts agree with each other, and
an OpenAPI document that covers every route."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.support.service import Service, serving, stored

pytestmark = pytest.mark.slow

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture(scope="module")
def served() -> Iterator[Service]:
    """One service for the module: python is a configured system, a trace holds 5 entries."""
    env = {
        "TRACESINK_SYSTEM_SHARES": "browser=30,worker=30,convex=20,python=20",
        "TRACESINK_TRACE_LIMIT": "5",
    }
    with serving(env) as service:
        yield service


# --- item 2: the trace id from the request --------------------------------------------------


def test_x_trace_id_supplies_the_trace_of_an_entry_without_one(http: httpx.Client) -> None:
    """POST /log without trace_id lands in the X-Trace-Id trace, and the entry says so."""
    response = http.post("/log", json={"message": "m"}, headers={"x-trace-id": "hdr-1"})
    assert response.status_code == 200, response.text
    assert response.json()["trace_id"] == "hdr-1"
    [entry] = stored(http, "hdr-1")
    assert entry["trace_id_from"] == "x-trace-id"


def test_traceparent_supplies_the_trace_when_there_is_no_x_trace_id(http: httpx.Client) -> None:
    """A W3C traceparent's 32-hex trace id becomes the trace id."""
    response = http.post("/log", json={"message": "m"}, headers={"traceparent": TRACEPARENT})
    assert response.status_code == 200, response.text
    [entry] = stored(http, "4bf92f3577b34da6a3ce929d0e0e4736")
    assert entry["trace_id_from"] == "traceparent"


def test_the_body_wins_over_headers_and_x_trace_id_over_traceparent(http: httpx.Client) -> None:
    """Precedence: the entry's own trace_id, then X-Trace-Id, then traceparent; in a batch each
    item without its own id takes the header's."""
    headers = {"x-trace-id": "hdr-2", "traceparent": TRACEPARENT}
    batch = [{"message": "a", "trace_id": "own-2"}, {"message": "b"}]
    response = http.post("/logs", json=batch, headers=headers)
    assert response.json()["accepted"] == 2
    [own] = stored(http, "own-2")
    [from_header] = stored(http, "hdr-2")
    assert "trace_id_from" not in own
    assert (from_header["message"], from_header["trace_id_from"]) == ("b", "x-trace-id")


@pytest.mark.parametrize(
    ("headers", "field"),
    [
        ({}, "trace_id"),
        ({"x-trace-id": "has space"}, "X-Trace-Id"),
        ({"traceparent": "00-" + "0" * 32 + "-00f067aa0ba902b7-01"}, "traceparent"),
        ({"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-" + "0" * 16 + "-01"}, "traceparent"),
        ({"traceparent": "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}, "traceparent"),
        ({"traceparent": TRACEPARENT.upper()}, "traceparent"),
        ({"traceparent": TRACEPARENT + "-extra"}, "traceparent"),
    ],
)
def test_a_missing_or_invalid_trace_id_header_is_a_400_naming_it(
    http: httpx.Client, headers: dict[str, str], field: str
) -> None:
    """No trace id anywhere, or a malformed header, is refused naming the field or header;
    uppercase hex, all-zero ids and version ff are not valid traceparents."""
    response = http.post("/log", json={"message": "m"}, headers=headers)
    assert response.status_code == 400
    assert response.json()["field"] == field


def test_a_malformed_header_is_ignored_when_every_entry_has_its_own_id(
    http: httpx.Client,
) -> None:
    """Headers are read only for entries that need them."""
    response = http.post(
        "/log", json={"message": "m", "trace_id": "own-3"}, headers={"traceparent": "junk"}
    )
    assert response.status_code == 200


# --- item 3: the levels users send ----------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("CRITICAL", "error"),
        ("critical", "error"),
        ("WARNING", "warn"),
        ("fatal", "error"),
        ("DEBUG", "log"),
        (10, "log"),
        (20, "info"),
        (25, "info"),
        (30, "warn"),
        (40, "error"),
        (50, "error"),
    ],
)
def test_python_and_numeric_levels_are_stored_as_what_they_mean(
    http: httpx.Client, sent: str | int, kept: str
) -> None:
    """Python's level names (any case) and its numbers map onto the four stored levels."""
    trace_id = f"level-{sent}"
    response = http.post("/log", json={"trace_id": trace_id, "message": "m", "level": sent})
    assert response.status_code == 200, response.text
    assert [e["level"] for e in stored(http, trace_id)] == [kept]


@pytest.mark.parametrize("level", ["verbose", -1, True])
def test_an_unknown_level_is_a_400_naming_the_field(http: httpx.Client, level: object) -> None:
    response = http.post("/log", json={"trace_id": "t", "message": "m", "level": level})
    assert response.status_code == 400
    assert response.json()["field"] == "level"


# --- item 4: systems --------------------------------------------------------------------------


def test_a_system_added_to_the_shares_gets_its_own_quota(http: httpx.Client) -> None:
    """python=20 makes python a system: it is stored as itself and limited by its share."""
    response = http.post("/log", json={"message": "m"}, headers={"x-trace-id": "py-1", **PY})
    assert response.status_code == 200
    assert '"system";q=200;w=3600' in response.headers["ratelimit-policy"]
    assert "warnings" not in response.json()
    [entry] = stored(http, "py-1")
    assert (entry["system"], entry["detected_by"]) == ("python", "x-log-system")
    assert "counted_as" not in entry


PY = {"x-log-system": "python"}


def test_an_unknown_system_is_kept_counted_as_manual_and_the_client_is_told(
    http: httpx.Client,
) -> None:
    """An entry naming a system that is not configured is stored under its label, counted as
    manual (no system quota), and the response carries a warning."""
    response = http.post("/log", json={"trace_id": "ruby-1", "message": "m", "system": "ruby"})
    assert response.status_code == 200
    assert "ruby" in response.json()["warnings"][0]
    assert '"system"' not in response.headers["ratelimit-policy"]
    [entry] = stored(http, "ruby-1")
    assert (entry["system"], entry["counted_as"]) == ("ruby", "manual")
    batch = http.post("/logs", json=[{"trace_id": "ruby-1", "message": "b", "system": "ruby"}])
    assert batch.json()["warnings"][0]["index"] == 0


# --- item 5: answers that agree with themselves ---------------------------------------------


def test_a_partly_accepted_batch_says_success_as_its_status_does(http: httpx.Client) -> None:
    """A 200 batch with a rejected item says success: true (something was stored) and lists
    what was not; a batch where nothing was valid is a 400 with success: false."""
    partly = http.post("/logs", json=[{"trace_id": "part", "message": "ok"}, {"message": 5}])
    assert (partly.status_code, partly.json()["success"]) == (200, True)
    assert [r["index"] for r in partly.json()["rejected"]] == [1]
    nothing = http.post("/logs", json=[{"message": 5}])
    assert (nothing.status_code, nothing.json()["success"]) == (400, False)


def level_fields(header: str) -> dict[str, dict[str, int]]:
    """``"global";r=1;t=2, ...`` → {"global": {"r": 1, "t": 2}, ...}."""
    found = re.findall(r'"(\w+)";r=(\d+);t=(\d+)', header)
    return {name: {"r": int(r), "t": int(t)} for name, r, t in found}


def test_the_ratelimit_t_of_the_refusing_level_equals_retry_after(http: httpx.Client) -> None:
    """When the trace quota (5) is spent, the trace level's t is the Retry-After: when the
    sliding window admits again, not when the fixed window ends."""
    for i in range(5):
        assert http.post("/log", json={"trace_id": "full", "message": str(i)}).status_code == 200
    refused = http.post("/log", json={"trace_id": "full", "message": "one too many"})
    assert refused.status_code == 429
    levels = level_fields(refused.headers["ratelimit"])
    assert levels["trace"]["r"] == 0
    assert levels["trace"]["t"] == int(refused.headers["retry-after"])
    assert refused.json()["limited_by"] == "trace"


# --- item 7: the OpenAPI document covers what is served -------------------------------------


def test_openapi_describes_every_route_and_the_ingest_headers(http: httpx.Client) -> None:
    """Every route the index lists is in /openapi.json, and the ingest routes document the
    ingest key (header and query), X-Log-System, X-Trace-Id and traceparent."""
    document = http.get("/openapi.json").json()
    for route in http.get("/").json()["routes"]:
        method, path = route.split(" ", 1)
        assert method.lower() in document["paths"][path], route
    for path in ("/log", "/logs"):
        parameters = {(p["in"], p["name"]) for p in document["paths"][path]["post"]["parameters"]}
        assert {
            ("header", "X-Tracesink-Key"),
            ("query", "key"),
            ("header", "X-Log-System"),
            ("header", "X-Trace-Id"),
            ("header", "traceparent"),
        } <= parameters


def test_json_sent_by_curl_d_is_stored(http: httpx.Client) -> None:
    """`curl -d '{…}'` labels its body application/x-www-form-urlencoded: a JSON object under
    that label is read as JSON (only a real form is read as logging's HTTPHandler form)."""
    response = http.post(
        "/log",
        content=b'{"trace_id": "curl-1", "message": "from curl"}',
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200, response.text
    assert [e["message"] for e in stored(http, "curl-1")] == ["from curl"]
