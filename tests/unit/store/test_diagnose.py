"""A store failure is named by its cause, found down the driver's exception chain."""

from __future__ import annotations

import itertools
import socket
import ssl

import pytest
from redis.exceptions import AuthenticationError, ConnectionError

from tracesink.errors import StorageError
from tracesink.store.diagnose import StoreProblem, cause_of


def chained(*links: BaseException) -> BaseException:
    """links[0] raised from links[1] raised from ...: the shape drivers produce."""
    for outer, inner in itertools.pairwise(links):
        outer.__cause__ = inner
    return links[0]


@pytest.mark.parametrize(
    ("root", "starts"),
    [
        (socket.gaierror(-2, "Name or service not known"), "name resolution failed"),
        (ConnectionRefusedError(111, "Connect call failed"), "connection refused"),
        (AuthenticationError("invalid username-password pair"), "authentication failed"),
        (StorageError("the token was refused (HTTP 401)"), "authentication failed"),
        (ssl.SSLError(1, "WRONG_VERSION_NUMBER"), "TLS failed"),
        (TimeoutError(), "timed out"),
    ],
)
def test_the_cause_is_found_down_the_chain(root: BaseException, starts: str) -> None:
    """StorageError ← driver error ← the real cause: the cause is what is named."""
    error = chained(StorageError("could not ping"), ConnectionError("Error connecting"), root)
    assert cause_of(error).startswith(starts)


def test_an_unknown_cause_falls_back_to_the_message() -> None:
    """Nothing recognised: the error's own (masked) message, with its type."""
    assert cause_of(StorageError("odd")) == "StorageError: odd"


def test_only_causes_that_waiting_cannot_cure_stop_start_up() -> None:
    """A refused password or a TLS failure stops `serve`; a refused connection does not."""
    assert StoreProblem("authentication failed: x").fatal
    assert StoreProblem("TLS failed: x").fatal
    assert not StoreProblem("connection refused: x").fatal
