"""The current trace id: ``with tracesink.trace("checkout-42"):``, or ``@tracesink.trace()``.

The id lives in a ``ContextVar``, so it follows the code that runs under it: a thread keeps its
own, and an ``asyncio`` task started inside the block inherits it. With no id set, the active
OpenTelemetry span's trace id is used when ``opentelemetry`` is installed (looked up lazily; the
package is never required).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import re
import secrets
from collections.abc import Callable
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any, TypeVar, cast

TRACE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_current: ContextVar[str | None] = ContextVar("tracesink_trace_id", default=None)
_otel: Any = None  # opentelemetry.trace once looked up; False when it is not installed
F = TypeVar("F", bound=Callable[..., Any])


def new_trace_id() -> str:
    """32 lowercase hex digits: a valid trace id here and a valid W3C trace id elsewhere."""
    return secrets.token_hex(16)


def valid_trace_id(value: object) -> str | None:
    """``value`` when it is a trace id tracesink accepts, else None."""
    return value if isinstance(value, str) and TRACE_ID.fullmatch(value) else None


def otel_span() -> tuple[str, str] | None:
    """(trace id, span id) of the active OpenTelemetry span, in hex; None without one."""
    global _otel
    if _otel is None:
        try:
            _otel = importlib.import_module("opentelemetry.trace")
        except ImportError:
            _otel = False
    if _otel is False:
        return None
    context = _otel.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"


def current_trace_id() -> str | None:
    """The trace id set by ``trace()`` (or the middleware), else the active OpenTelemetry span's."""
    given = _current.get()
    if given is not None:
        return given
    span = otel_span()
    return span[0] if span is not None else None


def set_trace_id(trace_id: str | None) -> Token[str | None]:
    """Set the current trace id; ``reset_trace_id(token)`` restores the previous one."""
    return _current.set(trace_id)


def reset_trace_id(token: Token[str | None]) -> None:
    _current.reset(token)


class trace:
    """Run a block, or every call of a function, under a trace id.

    ``trace()`` without an id starts a new one (per call, when used as a decorator). An id that
    tracesink would refuse raises ValueError here, where the mistake is, not in the log sink.
    """

    def __init__(self, trace_id: str | None = None) -> None:
        if trace_id is not None and valid_trace_id(trace_id) is None:
            raise ValueError(f"not a trace id (1-128 of A-Z a-z 0-9 . _ : -): {trace_id!r}")
        self._given = trace_id
        self._tokens: list[Token[str | None]] = []
        self.trace_id = trace_id or new_trace_id()

    def __enter__(self) -> str:
        self._tokens.append(_current.set(self.trace_id))
        return self.trace_id

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        _current.reset(self._tokens.pop())

    def __call__(self, function: F) -> F:
        given = self._given
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with trace(given):
                    return await function(*args, **kwargs)

            return cast(F, run_async)

        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> Any:
            with trace(given):
                return function(*args, **kwargs)

        return cast(F, run)
