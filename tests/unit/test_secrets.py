"""Secrets are never printed, whatever the store URL looks like: not in the Settings repr, not
in a refused setting's error, not in a store's error about a URL it cannot parse."""

from __future__ import annotations

import pytest

from tracesink.config import Settings, load_settings
from tracesink.errors import ConfigurationError
from tracesink.limits import Policy
from tracesink.masking import mask_url
from tracesink.store import open_store

SECRET = "hunter2hunter2"  # noqa: S105  # a made-up password, to look for in output
POLICY = Policy(global_limit=10, trace_limit=10, system_limits={}, window_ms=1000, ttl_ms=1000)


@pytest.mark.parametrize(
    "url",
    [
        f"redis://default:{SECRET}@localhost:6379/0",
        f"redis://:{SECRET}?x@host:6379/0",  # an unencoded ? in the password
        f"redis://:{SECRET}#x@host/0",  # ... a #
        f"redis://:{SECRET}/x@host/0",  # ... a /
        f"rediss://:{SECRET}@[::1:6379/0",  # an invalid IPv6 host
        f"redis+unix:///run/redis.sock?password={SECRET}@x",
    ],
)
def test_the_settings_repr_masks_the_store(url: str) -> None:
    """repr(Settings) shows the store masked; the password is nowhere in it."""
    assert SECRET not in repr(Settings(store=url))
    assert "****" in repr(Settings(store=url))


@pytest.mark.parametrize(
    "url",
    [
        f"default:{SECRET}@localhost:6379",  # no scheme: refused by the setting's parser
        f"redis://:{SECRET}?x@host:6379/0",  # the password read as a port by redis-py
        f"rediss://:{SECRET}@[::1:6379/0",  # a bad IPv6 host: a traceback before
        f"redis://:{SECRET}@[zz]:6379/0",
        f"upstash+https://:{SECRET}@[zz",
        f"redis+cluster://:{SECRET}@a:7000,b:port",  # a node without a numeric port
        f"redis+cluster://:{SECRET}@a:7000,,b:7001",  # an empty node
        f"rediss+cluster://:{SECRET}@a:7000/3",  # a cluster has database 0 only
        f"redis+cluster://:{SECRET}@a:7000?ssl=1",  # no options
        f"redis+cluster://u:{SECRET}?x@a:70000",  # a port out of range
    ],
)
def test_a_store_url_that_cannot_be_read_is_refused_without_its_secret(url: str) -> None:
    """A ConfigurationError naming TRACESINK_STORE, with the URL masked, never a traceback."""

    def open_it() -> None:
        open_store(load_settings({"TRACESINK_STORE": url}).store, POLICY)

    with pytest.raises(ConfigurationError) as caught:
        open_it()
    assert "TRACESINK_STORE" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_a_user_name_is_shown_and_the_password_is_not() -> None:
    """The user name helps a reader tell stores apart; the password is masked."""
    assert mask_url(f"redis://app:{SECRET}@db:6379/0") == "redis://app:****@db:6379/0"
