"""A small client for Upstash's Redis REST API: commands as JSON arrays over HTTP(S).

Why not the official ``upstash-redis`` SDK (as of 1.8.0): its httpx client has no timeout at all
(``timeout=None``), so a stalled request would hang a flush for ever; it retries any failure once,
including one raised after the request was sent, so a script that already ran (a batch already
stored) can run twice; it ignores the HTTP status; in a pipeline the first failed command raises
and the other commands' results are lost; and its base64 decoding returns ``str``, not the stored
bytes. Only the retries can be configured away. So this module is a client of its own, on a lean
HTTP/1.1 transport (``http1.py``, which says why not httpx):

- explicit connect, read, write and pool timeouts;
- no retry of anything that may have reached the server: the transport retries a failed
  *connection* once (nothing was sent, so even a write is safe), and nothing else;
- errors mapped by HTTP status and by reply: 401/403 say the token was refused (the token itself
  is never shown), timeouts, transport errors and 5xx are ``StorageError``, a command's own error
  reply (HTTP 400, or one item of a pipeline) is ``CommandError`` with Redis's message;
- ``Upstash-Encoding: base64`` on every request: Upstash then sends every string reply but "OK"
  in base64, and this client decodes them to ``bytes``, so stored payloads come back byte for byte;
- a pipeline returns one result or ``CommandError`` per command: one failure hides nothing else.

Requests carry arguments as JSON strings and integers; a ``bytes`` argument must be UTF-8 text (a
JSON request cannot carry anything else; every stored payload is JSON, so it always is).
"""

from __future__ import annotations

import binascii
from base64 import b64decode
from collections.abc import Sequence
from typing import Any, TypeAlias

import msgspec

from tracesink.errors import StorageError
from tracesink.store.http1 import ConnectFailed, Http1Client, HttpError, TimedOut

Arg: TypeAlias = int | str | bytes
Reply: TypeAlias = int | bytes | list["Reply"] | None

# Connection failures are retried once by the transport: no byte of the request was sent then.
CONNECT_RETRIES = 1
_ERROR_TEXT_CHARS = 200  # how much of a server's error text goes into a message


class CommandError(StorageError):
    """Redis (through the REST API) refused one command; ``message`` is its error reply."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def encode_command(command: Sequence[Arg]) -> bytes:
    """The JSON body of ``POST /`` for one command."""
    return msgspec.json.encode(_json_args(command))


def encode_commands(commands: Sequence[Sequence[Arg]]) -> bytes:
    """The JSON body of ``POST /pipeline`` (or ``/multi-exec``) for several commands."""
    return msgspec.json.encode([_json_args(command) for command in commands])


def _json_args(command: Sequence[Arg]) -> list[int | str]:
    # One comprehension, no call per argument: a script call carries three per entry.
    try:
        return [arg.decode("utf-8") if isinstance(arg, bytes) else arg for arg in command]
    except UnicodeDecodeError:
        raise StorageError(
            "an argument is not UTF-8 text, which a JSON request cannot carry"
        ) from None


class RestClient:
    """Sends commands to one REST endpoint; the HTTP client is created on first use."""

    def __init__(
        self, base_url: str, token: str, *, timeout_s: float, connect_timeout_s: float
    ) -> None:
        self._base_url = base_url
        self._token = token
        self._timeout_s = timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._client: Http1Client | None = None

    def _http(self) -> Http1Client:
        if self._client is None:
            self._client = Http1Client(
                self._base_url,
                {
                    "Authorization": f"Bearer {self._token}",
                    "Content-Type": "application/json",
                    "Upstash-Encoding": "base64",
                },
                timeout_s=self._timeout_s,
                connect_timeout_s=self._connect_timeout_s,
            )
        return self._client

    async def command(self, command: Sequence[Arg] | bytes) -> Reply:
        """One command (or its body as ``encode_command`` built it) by ``POST /``."""
        body = command if isinstance(command, bytes) else encode_command(command)
        data = await self._post("/", body)
        if not isinstance(data, dict):
            raise StorageError("the server answered a command with something other than an object")
        return _result(data)

    async def pipeline(self, commands: Sequence[Sequence[Arg]]) -> list[Reply | CommandError]:
        """Several commands by ``POST /pipeline``, run in order but not atomically; each result
        is its reply or its ``CommandError``."""
        data = await self._post("/pipeline", encode_commands(commands))
        if isinstance(data, dict):  # refused as a whole (HTTP 400): malformed, too large…
            _result(data)
        if not isinstance(data, list) or len(data) != len(commands):
            raise StorageError(
                f"the server answered a pipeline of {len(commands)} commands with something "
                "other than as many results"
            )
        results: list[Reply | CommandError] = []
        for item in data:
            if not isinstance(item, dict):
                raise StorageError("a pipeline result is not an object")
            try:
                results.append(_result(item))
            except CommandError as exc:
                results.append(exc)
        return results

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def _post(self, path: str, body: bytes) -> Any:
        for attempt in range(CONNECT_RETRIES + 1):
            try:
                status, content = await self._http().post(path, body)
                break
            except ConnectFailed as exc:
                # Nothing was sent, so even a write may be tried once more.
                if attempt == CONNECT_RETRIES:
                    raise StorageError(f"the request failed: {exc}") from exc
            except TimedOut as exc:
                if not exc.maybe_sent:
                    raise StorageError(f"no connection within the timeout ({exc})") from exc
                # Sent, perhaps run: the caller must not simply send it again (see the docstring).
                raise StorageError(
                    f"no answer within the timeout ({exc}); the command may have run"
                ) from exc
            except HttpError as exc:
                raise StorageError(f"the request failed: {exc}") from exc
        if status in (401, 403):
            raise StorageError(f"the token was refused (HTTP {status})")
        try:
            data = msgspec.json.decode(content)
        except msgspec.DecodeError:
            data = None
        error = data.get("error") if isinstance(data, dict) else None
        # 200 carries results; 400 a command's own error (read by the caller); the rest fail.
        if status != 200 and not (status == 400 and isinstance(error, str)):
            detail = f": {str(error)[:_ERROR_TEXT_CHARS]}" if error is not None else ""
            raise StorageError(f"HTTP {status}{detail}")
        if data is None:
            raise StorageError(f"HTTP {status} with a body that is not JSON")
        return data


def _result(item: dict[str, Any]) -> Reply:
    """One ``{"result": …}`` decoded, or the ``CommandError`` of one ``{"error": …}``."""
    if "error" in item:
        raise CommandError(str(item["error"]))
    if "result" not in item:
        raise StorageError("a reply has neither a result nor an error")
    return _decode(item["result"])


def _decode(value: Any) -> Reply:
    """A base64-encoded reply as bytes: every string is base64 except the status reply "OK"
    (which no base64 encoding can be: its length is not a multiple of 4)."""
    if isinstance(value, str):
        if value == "OK":
            return b"OK"
        try:
            return b64decode(value, validate=True)
        except binascii.Error:
            raise StorageError(
                "a reply is not base64: does the server honour Upstash-Encoding?"
            ) from None
    if isinstance(value, list):
        # Integers (most of a script's reply) stay as they are without a call each.
        return [item if type(item) is int else _decode(item) for item in value]
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise StorageError(f"a reply of an unexpected JSON type ({type(value).__name__})")
