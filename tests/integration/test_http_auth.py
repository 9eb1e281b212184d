"""Who may read and who may send: the read token, ingest keys, and slow clients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import AppClient
from tests.integration.test_http_edges import ENTRY, call_asgi
from tests.support.refusal import assert_refused
from tracesink.config import load_settings
from tracesink.errors import ConfigurationError

MakeApp = Callable[..., Any]
TOKEN = "t0ken-long-enough-1234"  # noqa: S105 - a test credential
WEB_KEY = "pk_web_0123456789"


@pytest.mark.parametrize("path", ["/logs/t", "/traces"])
async def test_reads_need_the_bearer_token(make_app: MakeApp, path: str) -> None:
    """With a read token set, reads without it (or with a wrong one) are 401; with it they work."""
    sink: AppClient = await make_app(read_token=TOKEN)
    assert (await sink.http.post("/log", content=ENTRY)).status_code == 200
    for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": TOKEN}):
        refused = await sink.http.get(path, headers=headers)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        assert refused.json()["field"] == "Authorization"
        assert TOKEN not in refused.text
    allowed = await sink.http.get(path, headers={"authorization": f"Bearer {TOKEN}"})
    assert allowed.status_code == 200


async def test_health_stays_public_and_shows_no_secret(make_app: MakeApp) -> None:
    """/health needs no token and never shows one."""
    sink: AppClient = await make_app(read_token=TOKEN, store="memory://")
    response = await sink.http.get("/health")
    assert response.status_code == 200
    assert TOKEN not in response.text


def test_serving_beyond_loopback_without_a_token_is_refused() -> None:
    """0.0.0.0 without TRACESINK_READ_TOKEN stops start-up, naming both ways out."""
    with pytest.raises(ConfigurationError, match=r"TRACESINK_READ_TOKEN.*--insecure"):
        load_settings({"TRACESINK_HOST": "0.0.0.0"})
    assert load_settings({"TRACESINK_HOST": "0.0.0.0", "TRACESINK_INSECURE": "1"}).insecure
    assert load_settings({"TRACESINK_HOST": "0.0.0.0", "TRACESINK_READ_TOKEN": TOKEN}).read_token


def test_secret_settings_are_never_echoed() -> None:
    """A bad token is refused without repeating it; reprs of settings hide secrets."""
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"TRACESINK_READ_TOKEN": "short-secret"})
    assert "short-secret" not in str(caught.value)
    settings = load_settings(
        {"TRACESINK_READ_TOKEN": TOKEN, "TRACESINK_INGEST_KEYS": f"{WEB_KEY}=*"}
    )
    assert TOKEN not in repr(settings)
    assert WEB_KEY not in repr(settings)


async def test_ingest_keys_gate_sending(make_app: MakeApp) -> None:
    """With ingest keys, a send needs a known key (header or ?key=) valid for its origin."""
    sink: AppClient = await make_app(
        ingest_keys={WEB_KEY: ("https://app.example",), "pk_cli_0123456789": ("*",)}
    )
    missing = await sink.http.post("/log", content=ENTRY)
    assert (missing.status_code, missing.json()["field"]) == (401, "key")
    wrong = await sink.http.post("/log", content=ENTRY, headers={"x-tracesink-key": "pk_nope"})
    assert_refused(wrong, 401, "key", "X-Tracesink-Key")
    by_header = await sink.http.post(
        "/log",
        content=ENTRY,
        headers={"x-tracesink-key": WEB_KEY, "origin": "https://app.example"},
    )
    assert by_header.status_code == 200
    by_query = await sink.http.post(
        f"/logs?key={WEB_KEY}", content=ENTRY, headers={"origin": "https://app.example"}
    )
    assert by_query.status_code == 200
    elsewhere = await sink.http.post(
        "/log",
        content=ENTRY,
        headers={"x-tracesink-key": WEB_KEY, "origin": "http://localhost:3000"},
    )
    assert (elsewhere.status_code, elsewhere.json()["field"]) == (403, "Origin")
    cli = await sink.http.post(
        "/log", content=ENTRY, headers={"x-tracesink-key": "pk_cli_0123456789"}
    )
    assert cli.status_code == 200
    assert (await sink.http.get("/logs/t")).json()["count"] == 3


async def test_ingest_key_origins_join_the_cors_allow_list(make_app: MakeApp) -> None:
    """On a public address, a key's origins may send from a browser without a separate list."""
    sink: AppClient = await make_app(
        host="0.0.0.0", insecure=True, ingest_keys={WEB_KEY: ("https://app.example",)}
    )
    preflight = await sink.http.options("/log", headers={"origin": "https://app.example"})
    assert preflight.status_code == 204
    other = await sink.http.options("/log", headers={"origin": "https://evil.example"})
    assert_refused(other, 403, "Origin", "https://evil.example", "TRACESINK_CORS_ORIGINS")


async def test_a_body_that_does_not_arrive_in_time_is_408(make_app: MakeApp) -> None:
    """A client trickling its body past the read timeout gets 408 and stores nothing."""
    sink: AppClient = await make_app(read_timeout_s=0.05)
    sent, _ = await call_asgi(sink.app, "POST", "/log", [ENTRY[:5]], stall=True)
    assert sent[0]["status"] == 408
    assert b"TRACESINK_READ_TIMEOUT_S" in sent[1]["body"]
    assert (await sink.http.get("/logs/t")).status_code == 404
