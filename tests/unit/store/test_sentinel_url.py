"""The ``redis+sentinel://`` URL: what it names (Sentinels, service, database, the two servers'
credentials, TLS), and a refusal naming TRACESINK_STORE and what is wrong, never a password."""

from __future__ import annotations

import pytest

from tracesink.config import Settings
from tracesink.errors import ConfigurationError
from tracesink.limits import Policy
from tracesink.masking import mask_url
from tracesink.store import open_store
from tracesink.store.replica_wait import ReplicaWait
from tracesink.store.sentinel import SentinelStore
from tracesink.store.sentinel_url import SentinelTarget, parse_sentinel_url

SECRET = "hunter2hunter2"  # noqa: S105  # a made-up password, to look for in output
POLICY = Policy(global_limit=10, trace_limit=10, system_limits={}, window_ms=1000, ttl_ms=1000)


def test_sentinels_service_and_database() -> None:
    """Several Sentinels, each with its port or the default 26379, an IPv6 one in brackets;
    the service name and the database after it."""
    target = parse_sentinel_url("redis+sentinel://s1:26380,s2,[::1]:26381/cache/3")
    assert target == SentinelTarget(
        sentinels=[("s1", 26380), ("s2", 26379), ("::1", 26381)], service="cache", db=3
    )
    assert parse_sentinel_url("redis+sentinel://s1/cache").db == 0


def test_the_data_nodes_and_the_sentinels_each_have_their_credentials() -> None:
    """user:password@ is the primary's and replicas' login; ?sentinel_username= and
    ?sentinel_password= the Sentinels' own; percent-encoded characters decoded."""
    target = parse_sentinel_url(
        "rediss+sentinel://app:p%40ss%2Cw@s1:26379,s2:26379/cache"
        "?sentinel_username=watch&sentinel_password=s%26cret"
    )
    assert (target.username, target.password) == ("app", "p@ss,w")
    assert (target.sentinel_username, target.sentinel_password) == ("watch", "s&cret")
    assert target.tls is True
    bare = parse_sentinel_url("redis+sentinel://:pw@s1/cache")
    assert (bare.username, bare.password, bare.sentinel_password, bare.tls) == (
        None,
        "pw",
        None,
        False,
    )


def test_the_target_repr_shows_no_password() -> None:
    target = parse_sentinel_url(f"redis+sentinel://:{SECRET}@s1/cache?sentinel_password={SECRET}")
    assert SECRET not in repr(target)


def test_the_sentinels_password_is_masked_wherever_the_url_is_shown() -> None:
    """The store's repr, the Settings repr and mask_url hide both passwords."""
    url = f"redis+sentinel://app:{SECRET}@s1:26379,s2:26379/cache?sentinel_password={SECRET}"
    assert mask_url(url) == (
        "redis+sentinel://app:****@s1:26379,s2:26379/cache?sentinel_password=****"
    )
    store = open_store(url, POLICY)
    assert isinstance(store, SentinelStore)
    assert SECRET not in repr(store)
    assert SECRET not in store.display
    assert SECRET not in repr(Settings(store=url))


@pytest.mark.parametrize(
    ("url", "why"),
    [
        (f"redis+sentinel://:{SECRET}@s1:26379", "the service name is missing"),
        (f"redis+sentinel://:{SECRET}@s1:26379/", "the service name is missing"),
        (f"redis+sentinel://:{SECRET}@s1/cache/zero", "the database must be a number"),
        (f"redis+sentinel://:{SECRET}@s1:port/cache", "the port of the Sentinel 's1'"),
        (f"redis+sentinel://:{SECRET}@s1:70000/cache", "from 1 to 65535"),
        (f"redis+sentinel://:{SECRET}@s1,,s2/cache", "a Sentinel address is empty"),
        (f"redis+sentinel://:{SECRET}@[::1/cache", "is not [IPv6]:port"),
        (f"redis+sentinel://:{SECRET}#x@s1/cache", "a '#' must be percent-encoded"),
        (f"redis+sentinel://s1/cache?sentinel_pasword={SECRET}", "unknown option"),
        (f"redis+sentinel://s1/cache?{SECRET}", "not name=value pairs"),
    ],
)
def test_a_url_that_is_not_one_is_refused_naming_the_setting_and_never_the_password(
    url: str, why: str
) -> None:
    """Opening the store refuses it with TRACESINK_STORE, the reason and the expected form; the
    password appears nowhere, a misspelt option's value included."""
    with pytest.raises(ConfigurationError) as refused:
        open_store(url, POLICY)
    message = str(refused.value)
    assert message.startswith("TRACESINK_STORE=")
    assert why in message
    assert "expected redis+sentinel://" in message
    assert SECRET not in message


def test_another_scheme_is_refused_by_the_parser() -> None:
    with pytest.raises(ConfigurationError, match="the scheme must be one of redis\\+sentinel://"):
        parse_sentinel_url("redis://s1/cache", "--store")


def test_the_sentinel_store_takes_the_replica_wait() -> None:
    """A Sentinel URL with the replica wait opens (nothing connects yet)."""
    store = open_store("redis+sentinel://s1/cache", POLICY, wait=ReplicaWait(1, 100))
    assert isinstance(store, SentinelStore)
