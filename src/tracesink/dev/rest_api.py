"""The Upstash REST API as the emulator serves it (``rest_emulator.py`` runs it): the ASGI app.

It behaves as Upstash documents its REST API (https://upstash.com/docs/redis/features/restapi):

- ``POST /`` takes one command as a JSON array: ``200 {"result": …}``, or ``400 {"error": …}``
  when the command fails;
- ``POST /pipeline`` takes an array of commands, runs them in order (not atomically) and answers
  ``200`` with one ``{"result": …}`` or ``{"error": …}`` per command;
- ``POST /multi-exec`` runs them in MULTI/EXEC: per-command items as for a pipeline, or one
  ``400 {"error": …}`` when the transaction is discarded as a whole;
- ``GET|POST /CMD/arg/…`` (path form; a POST body is the last argument, query pairs follow);
- ``Authorization: Bearer TOKEN`` (or ``?_token=``), else ``401 {"error": "Unauthorized"}``;
- ``Upstash-Encoding: base64``: every string in a result (recursively) is base64, except "OK";
  integers and null are left alone; error messages are never encoded.

Each command goes to redis-server through redis-py with its reply callbacks cleared, so replies are
Redis's own; ``EmulatorState`` holds what the running server (``UpstashRestServer``) reads and sets:
the requests seen, the commands counted, the faults to inject, the body limit.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import threading
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

import redis.asyncio as aioredis
from redis.exceptions import DataError, RedisError, ResponseError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
DEFAULT_TOKEN = "test-rest-token-Zm9vYmFy"  # noqa: S105  (the tests' token; the command draws one)


@dataclass(frozen=True)
class Request:
    """What the server saw of one request (after authentication, if it passed)."""

    path: str
    status: int
    commands: list[list[Any]]
    body_bytes: int
    base64: bool  # whether it asked for base64 replies (Upstash-Encoding: base64)


@dataclass
class Fault:
    status: int = 0  # answer this status (without running anything when ``before``)
    stall_s: float = 0.0  # wait this long after running, then answer
    before: bool = True


@dataclass
class EmulatorState:
    token: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[Request] = field(default_factory=list)
    commands_received: int = 0
    faults: list[Fault] = field(default_factory=list)
    max_body_bytes: int | None = None


class UpstashRestApp:
    """The ASGI app: authentication, the three endpoints and the path form, error shapes."""

    def __init__(self, redis_url: str, state: EmulatorState) -> None:
        self._redis_url = redis_url
        self._state = state
        self._client: aioredis.Redis | None = None

    def _redis(self) -> aioredis.Redis:
        if self._client is None:
            # RESP2, whose replies Upstash relays; no CLIENT SETINFO on connect, since the tests
            # compare Redis's command counts with ours.
            self._client = aioredis.Redis.from_url(self._redis_url, protocol=2, driver_info=None)
            self._client.response_callbacks.clear()  # raw replies, as Upstash relays them
        return self._client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._client is not None:
                    await self._client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path: str = scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
        status, payload, commands = await self._answer(scope["method"], path, headers, query, body)
        base64_replies = headers.get("upstash-encoding", "").lower() == "base64"
        with self._state.lock:
            self._state.requests.append(Request(path, status, commands, len(body), base64_replies))
        data = json.dumps(payload, ensure_ascii=False).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"x-served-by", b"tracesink-rest-emulator"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": data})

    async def _answer(
        self, method: str, path: str, headers: dict[str, str], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, list[list[Any]]]:
        """(status, JSON payload, the commands it carried) for one request."""
        token = query.pop("_token", "") or headers.get("authorization", "").removeprefix("Bearer ")
        if not hmac.compare_digest(token.encode(), self._state.token.encode()):
            return 401, {"error": "Unauthorized"}, []
        if method not in ("GET", "POST", "PUT", "HEAD"):
            return 405, {"error": "Method Not Allowed"}, []
        limit = self._state.max_body_bytes
        if limit is not None and len(body) > limit:
            return 400, {"error": "ERR max request size exceeded"}, []
        try:
            commands = self._commands(path, query, body)
        except ValueError as exc:
            return 400, {"error": f"ERR {exc}"}, []
        with self._state.lock:
            self._state.commands_received += len(commands)
            fault = self._state.faults.pop(0) if self._state.faults else None
        if fault is not None and fault.before and fault.status:
            return fault.status, {"error": "injected failure"}, commands
        base64_replies = headers.get("upstash-encoding", "").lower() == "base64"
        payload: Any
        if path == "/pipeline":
            status, payload = 200, [await self._run(c, base64_replies) for c in commands]
        elif path == "/multi-exec":
            status, payload = await self._transaction(commands, base64_replies)
        else:
            item = await self._run(commands[0], base64_replies)
            status, payload = (400 if "error" in item else 200), item
        if fault is not None:
            await asyncio.sleep(fault.stall_s)
            if fault.status:
                return fault.status, {"error": "injected failure"}, commands
        return status, payload, commands

    @staticmethod
    def _commands(path: str, query: dict[str, str], body: bytes) -> list[list[Any]]:
        if path in ("/", "/pipeline", "/multi-exec"):
            try:
                parsed = json.loads(body)
            except ValueError:
                raise ValueError("failed to parse the request body as JSON") from None
            commands = [parsed] if path == "/" else parsed
            if not isinstance(commands, list) or not commands:
                raise ValueError("expected a non-empty array of commands")
            if not all(isinstance(command, list) and command for command in commands):
                raise ValueError("each command must be a non-empty array")
            return commands
        from_path: list[Any] = [unquote(part) for part in path.strip("/").split("/")]
        if body:
            from_path.append(body.decode("utf-8", "replace"))
        for key, value in query.items():
            from_path += [key, value] if value else [key]
        return [from_path]

    async def _run(self, command: Sequence[Any], base64_replies: bool) -> dict[str, Any]:
        try:
            # redis-py leaves execute_command untyped; the reply is whatever Redis sent.
            reply = await self._redis().execute_command(*command)  # type: ignore[no-untyped-call]
        except ResponseError as exc:
            return {"error": _error_text(exc)}
        except DataError as exc:  # an argument redis-py cannot send (null, an object)
            return {"error": f"ERR {exc}"}
        return {"result": _json_reply(reply, base64_replies)}

    async def _transaction(
        self, commands: Sequence[Sequence[Any]], base64_replies: bool
    ) -> tuple[int, Any]:
        try:
            async with self._redis().pipeline(transaction=True) as pipe:
                for command in commands:
                    pipe.execute_command(*command)
                replies = await pipe.execute(raise_on_error=False)
        except (ResponseError, DataError) as exc:  # discarded as a whole (EXECABORT and such)
            return 400, {"error": _error_text(exc)}
        items = [
            {"error": _error_text(reply)}
            if isinstance(reply, ResponseError)
            else {"result": _json_reply(reply, base64_replies)}
            for reply in replies
        ]
        return 200, items


def _error_text(exc: RedisError) -> str:
    """The error as Redis sent it: redis-py strips the code (NOSCRIPT, ERR …) off the message."""
    code = getattr(exc, "status_code", None)
    return f"{code} {exc}" if code else str(exc)


def _json_reply(reply: Any, base64_replies: bool) -> Any:
    if isinstance(reply, bytes):
        if not base64_replies:
            return reply.decode("utf-8", "replace")
        return "OK" if reply == b"OK" else base64.b64encode(reply).decode("ascii")
    if isinstance(reply, str):  # not with decode_responses off, but harmless
        return _json_reply(reply.encode(), base64_replies)
    if isinstance(reply, list | tuple):
        return [_json_reply(item, base64_replies) for item in reply]
    return reply  # int, None
