"""Shared by the tests that talk to one real ``tracesink serve`` per module: a module defines
``served`` (its service, with the settings it needs); this gives a client on it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.service import Service


@pytest.fixture
def http(served: Service) -> Iterator[httpx.Client]:
    """An HTTP client on the module's ``served`` service."""
    with httpx.Client(base_url=served.url, timeout=10) as client:
        yield client
