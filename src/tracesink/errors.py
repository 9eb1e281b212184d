"""The small tree of errors tracesink raises; the app maps them to HTTP in one place."""

from __future__ import annotations


class TraceSinkError(Exception):
    """Base of every error tracesink raises on purpose."""


class ConfigurationError(TraceSinkError):
    """A setting is invalid; the message names the setting and what it accepts."""


class StorageError(TraceSinkError):
    """The store could not be reached or refused a command."""


class SpoolFull(StorageError):
    """The store is unreachable and the spool has reached its size cap: answer 503 with
    Retry-After (nothing was kept)."""


class BudgetSpent(TraceSinkError):
    """The whole daily command budget is spent: nothing more is sent to the store until
    midnight UTC (answer 429 naming the budget, with Retry-After)."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ReadsBusy(TraceSinkError):
    """Every read slot stayed taken past the read deadline (503 with Retry-After): the store is
    up, reads are only queued behind other reads, so this is never an outage."""


class ValidationError(TraceSinkError):
    """Input broke the wire contract; ``field`` names what was wrong."""

    def __init__(self, message: str, field: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


class Overloaded(TraceSinkError):
    """The writer's queue is full: the caller should retry in a second (it drains that fast)."""


class AccessDenied(TraceSinkError):
    """A request lacks the credential a route needs (401) or may not use it from here (403)."""

    def __init__(self, message: str, field: str, status: int = 401) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status
