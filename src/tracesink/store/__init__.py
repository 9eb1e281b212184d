"""Stores chosen by URL scheme: an explicit table; a backend's module is imported only when used.

Every backend's driver is a dependency of the package (pyproject.toml), so a known scheme always
loads; the lazy import only keeps start-up from loading drivers it does not need.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from tracesink.errors import ConfigurationError
from tracesink.limits import Policy
from tracesink.masking import mask_url
from tracesink.store.base import Store
from tracesink.store.replica_wait import ReplicaWait

# scheme → (module, class)
BACKENDS: dict[str, tuple[str, str]] = {
    "memory": ("tracesink.store.memory", "MemoryStore"),
    "redis": ("tracesink.store.redis", "RedisStore"),
    "rediss": ("tracesink.store.redis", "RedisStore"),
    "redis+unix": ("tracesink.store.redis", "RedisStore"),
    "redis+cluster": ("tracesink.store.cluster", "ClusterStore"),
    "rediss+cluster": ("tracesink.store.cluster", "ClusterStore"),
    "redis+sentinel": ("tracesink.store.sentinel", "SentinelStore"),
    "rediss+sentinel": ("tracesink.store.sentinel", "SentinelStore"),
    "upstash+https": ("tracesink.store.upstash", "UpstashStore"),
    "upstash+http": ("tracesink.store.upstash", "UpstashStore"),
    # Bare: the URL and token come from UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN.
    "upstash": ("tracesink.store.upstash", "UpstashStore"),
}
BARE_SCHEMES = {"upstash"}  # written without "://"
# Backends that can wait for replicas (WAIT): the native protocol only, not REST.
REPLICA_WAIT_BACKENDS = {"RedisStore", "SentinelStore"}


def backend_of(url: str, setting: str = "TRACESINK_STORE") -> tuple[str, str]:
    """(module, class) of the store for ``url``; ConfigurationError naming ``setting`` for an
    unknown scheme. Imports nothing, so a bad URL is reported before anything starts."""
    scheme = url.partition("://")[0].lower()
    if scheme not in BACKENDS:
        raise ConfigurationError(
            f"{setting}={mask_url(url)!r} has an unknown scheme {scheme!r}; "
            f"known: {', '.join(s if s in BARE_SCHEMES else s + '://' for s in BACKENDS)}"
        )
    return BACKENDS[scheme]


def open_store(
    url: str,
    policy: Policy,
    setting: str = "TRACESINK_STORE",
    wait: ReplicaWait | None = None,
) -> Store:
    """The store for ``url`` (not yet connected); ConfigurationError naming ``setting`` when the
    URL is not one it can use, or when ``wait`` (the replica wait) is asked of a store that has
    no replicas to wait for."""
    module_name, class_name = backend_of(url, setting)
    if wait is not None and class_name not in REPLICA_WAIT_BACKENDS:
        raise ConfigurationError(
            f"{wait.setting}={wait.replicas} needs a redis://, rediss:// or "
            f"redis+sentinel:// store; {setting}={mask_url(url)!r} has no replicas to wait for "
            "(set it to 0)"
        )
    backend: Callable[..., Store] = getattr(importlib.import_module(module_name), class_name)
    try:
        return backend(url, policy, wait) if wait is not None else backend(url, policy)
    except ValueError:  # a URL no parser could read (a bad IPv6 host, a port that is no number)
        scheme = url.partition("://")[0].lower()
        raise ConfigurationError(
            f"{setting}={mask_url(url)!r} is not a valid {scheme} URL"
        ) from None
