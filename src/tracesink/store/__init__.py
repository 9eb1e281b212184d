"""Stores chosen by URL scheme: an explicit table; a driver is imported only when it is used."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from tracesink.config import mask_url
from tracesink.errors import ConfigurationError
from tracesink.limits import Policy
from tracesink.store.base import Store

# scheme → (module, class, the pip extra or package that provides its driver)
BACKENDS: dict[str, tuple[str, str, str]] = {
    "memory": ("tracesink.store.memory", "MemoryStore", ""),
    "redis": ("tracesink.store.redis", "RedisStore", "redis[hiredis]"),
    "rediss": ("tracesink.store.redis", "RedisStore", "redis[hiredis]"),
    "redis+unix": ("tracesink.store.redis", "RedisStore", "redis[hiredis]"),
    "upstash+https": ("tracesink.store.upstash", "UpstashStore", "httpx"),
    "upstash+http": ("tracesink.store.upstash", "UpstashStore", "httpx"),
    # Bare: the URL and token come from UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN.
    "upstash": ("tracesink.store.upstash", "UpstashStore", "httpx"),
}
BARE_SCHEMES = {"upstash"}  # written without "://"


def open_store(url: str, policy: Policy) -> Store:
    """The store for ``url``; ConfigurationError for an unknown scheme or a missing driver."""
    scheme = url.partition("://")[0].lower()
    if scheme not in BACKENDS:
        raise ConfigurationError(
            f"TRACESINK_STORE={mask_url(url)!r} has an unknown scheme {scheme!r}; "
            f"known: {', '.join(s if s in BARE_SCHEMES else s + '://' for s in BACKENDS)}"
        )
    module_name, class_name, requirement = BACKENDS[scheme]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(
            f"the {scheme}:// store needs {requirement!r} installed ({exc.name} is missing): "
            f"pip install '{requirement}'"
        ) from None
    backend: Callable[..., Store] = getattr(module, class_name)
    try:
        return backend(url, policy)
    except ValueError:  # a URL no parser could read (a bad IPv6 host, a port that is no number)
        raise ConfigurationError(
            f"TRACESINK_STORE={mask_url(url)!r} is not a valid {scheme} URL"
        ) from None
