"""The ASGI primitives: header and query views, the capped body read, responses."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import msgspec
import pytest

from tracesink.app.deadlines import BodyDeadlines
from tracesink.app.http import (
    ClientDisconnected,
    Message,
    Request,
    Response,
    error_response,
    json_response,
)
from tracesink.errors import ValidationError


def request(messages: list[Message], headers: dict[str, str] | None = None) -> Request:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/log",
        "query_string": b"key=k1&key=k2&x=%20y",
        "headers": [(k.encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    inbox: Iterator[Message] = iter(messages)

    async def receive() -> Message:
        return next(inbox)

    return Request(scope, receive)


def chunk(data: bytes, more: bool = False) -> Message:
    return {"type": "http.request", "body": data, "more_body": more}


def test_headers_are_lower_cased_and_the_first_of_a_repeat_wins() -> None:
    scope = {"headers": [(b"X-Trace-Id", b"a"), (b"x-trace-id", b"b")], "query_string": b""}
    assert Request(scope, None).headers == {"x-trace-id": "a"}  # type: ignore[arg-type]


def test_a_query_parameter_is_its_first_value_decoded() -> None:
    given = request([])
    assert (given.query("key"), given.query("x"), given.query("none")) == ("k1", " y", None)


async def test_a_body_arrives_whole_from_its_chunks() -> None:
    body = await request([chunk(b"ab", True), chunk(b"cd")]).body(10, BodyDeadlines(5))
    assert body == b"abcd"


async def test_a_body_over_the_cap_is_refused_while_it_streams() -> None:
    """413 as soon as the running total passes the cap: later chunks are never read."""
    messages = [chunk(b"x" * 6, True), chunk(b"x" * 6, True)]  # no third message: not read
    with pytest.raises(ValidationError) as caught:
        await request(messages).body(10, BodyDeadlines(5))
    assert (caught.value.status, caught.value.field) == (413, "body")


async def test_a_declared_length_over_the_cap_is_refused_before_reading() -> None:
    with pytest.raises(ValidationError) as caught:
        await request([], {"content-length": "11"}).body(10, BodyDeadlines(5))
    assert (caught.value.status, caught.value.field) == (413, "body")
    assert "TRACESINK_MAX_BODY_BYTES" in caught.value.message


async def test_a_client_that_leaves_mid_body_is_a_disconnect() -> None:
    with pytest.raises(ClientDisconnected):
        await request([chunk(b"x", True), {"type": "http.disconnect"}]).body(10, BodyDeadlines(5))


async def test_a_body_that_does_not_arrive_in_time_is_a_408() -> None:
    async def never() -> Message:
        await asyncio.sleep(10)
        raise AssertionError("unreachable")

    slow = Request({"headers": [], "query_string": b""}, never)
    with pytest.raises(ValidationError) as caught:
        await slow.body(10, BodyDeadlines(0.05))
    assert (caught.value.status, caught.value.field) == (408, "body")


async def test_a_response_is_sent_with_its_length() -> None:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await Response(201, b"abc", [(b"x-a", b"1")]).send(send)
    assert sent[0] == {
        "type": "http.response.start",
        "status": 201,
        "headers": [(b"x-a", b"1"), (b"content-length", b"3")],
    }
    assert sent[1] == {"type": "http.response.body", "body": b"abc"}


def test_error_bodies_name_the_field() -> None:
    response = error_response(400, "bad", "level")
    assert msgspec.json.decode(response.body) == {
        "success": False,
        "error": "bad",
        "field": "level",
    }
    assert json_response(200, {"a": 1}).headers == [(b"content-type", b"application/json")]
