"""A refusal checked for what it says, not only its status: every 4xx names the field or limit."""

from __future__ import annotations

import httpx


def assert_refused(response: httpx.Response, status: int, field: str, *named: str) -> None:
    """``response`` is a ``status`` refusal with ``field`` in its body, and its error message
    names each of ``named`` (a setting, a limit, a header)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False, body
    assert body["field"] == field, body
    for name in named:
        assert name in body["error"], body
