"""An error no route expected answers 500 without a word of it to the client, and is logged with
its traceback at most once per interval, with a count of the ones held back."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from tracesink.app import application, routes
from tracesink.app.http import Request, Response
from tracesink.app.routes import PUBLIC, Route
from tracesink.app.state import AppState


async def broken(state: AppState, request: Request) -> Response:
    raise ZeroDivisionError("a bug with a secret in it")


async def test_unexpected_errors_log_one_traceback_per_interval(
    make_app: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Five failing requests: five 500s saying nothing of the error, one traceback logged; once
    the interval has passed, the next one is logged saying how many were held back."""
    monkeypatch.setitem(routes.ROUTES["/health"], "GET", Route(broken, PUBLIC))
    sink = await make_app()
    caplog.set_level(logging.ERROR, logger="tracesink")
    for _ in range(5):
        response = await sink.http.get("/health")
        assert response.status_code == 500
        assert "secret" not in response.text
    logged = [r for r in caplog.records if r.name == "tracesink"]
    assert len(logged) == 1
    assert logged[0].getMessage() == "unexpected error on GET /health"
    assert logged[0].exc_info is not None
    assert logged[0].exc_info[0] is ZeroDivisionError

    sink.app._unexpected._last -= application.UNEXPECTED_ERROR_LOG_EVERY_S + 1
    assert (await sink.http.get("/health")).status_code == 500
    logged = [r for r in caplog.records if r.name == "tracesink"]
    assert len(logged) == 2
    assert logged[1].getMessage() == (
        "unexpected error on GET /health (4 more since the last report)"
    )
    assert logged[1].exc_info is not None
