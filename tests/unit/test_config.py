"""Settings from the environment and flags, and the messages that stop a bad start-up."""

from __future__ import annotations

import pytest

from tracesink.config import Settings, load_settings
from tracesink.errors import ConfigurationError
from tracesink.masking import mask_url
from tracesink.pipeline import replica_wait_from
from tracesink.store.replica_wait import ReplicaWait


def test_defaults_are_the_original_plan() -> None:
    """Nothing set: loopback, memory store, 1000/h global, 40/30/30 shares, 100/h per trace."""
    settings = load_settings({})
    assert settings == Settings()
    assert (settings.host, settings.port, settings.store) == ("127.0.0.1", 8787, "memory://")
    assert [settings.system_limit(s) for s in ("browser", "worker", "convex", "manual")] == [
        400,
        300,
        300,
        None,
    ]
    assert (settings.window_s, settings.ttl_s, settings.trace_limit) == (3600, 3600, 100)


def test_environment_sets_and_flags_override() -> None:
    """Every option has a TRACESINK_* variable; a CLI flag wins over it."""
    settings = load_settings(
        {
            "TRACESINK_GLOBAL_LIMIT": "50",
            "TRACESINK_SYSTEM_SHARES": "browser=50, worker=10",
            "TRACESINK_CORS_ORIGINS": "https://a.example, http://localhost:3000/",
            "TRACESINK_PORT": "9000",
            "TRACESINK_TTL_S": "60",
            "TRACESINK_WINDOW_S": "120",
            "TRACESINK_TRACE_LIMIT": "7",
        },
        {"port": "9001", "host": None},
    )
    assert settings.port == 9001
    assert settings.global_limit == 50
    assert settings.system_shares == {"browser": 50, "worker": 10}
    assert settings.system_limit("browser") == 25
    assert settings.system_limit("convex") is None
    assert settings.cors_origins == ("https://a.example", "http://localhost:3000")
    assert (settings.ttl_s, settings.window_s, settings.trace_limit) == (60, 120, 7)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"TRACESINK_PORT": "http"}, "TRACESINK_PORT"),
        ({"TRACESINK_PORT": "70000"}, "TRACESINK_PORT"),
        ({"TRACESINK_GLOBAL_LIMIT": "0"}, "TRACESINK_GLOBAL_LIMIT"),
        ({"TRACESINK_SYSTEM_SHARES": "browser=60,worker=60"}, "TRACESINK_SYSTEM_SHARES"),
        ({"TRACESINK_SYSTEM_SHARES": "main frame=10"}, "TRACESINK_SYSTEM_SHARES"),
        ({"TRACESINK_SYSTEM_SHARES": "manual=10"}, "TRACESINK_SYSTEM_SHARES"),
        ({"TRACESINK_SYSTEM_SHARES": "browser=x"}, "TRACESINK_SYSTEM_SHARES"),
        ({"TRACESINK_SYSTEM_SHARES": "browser"}, "TRACESINK_SYSTEM_SHARES"),
        ({"TRACESINK_SYSTEM_SHARES": "browser=101"}, "TRACESINK_SYSTEM_SHARES"),
        ({"TRACESINK_STORE": "localhost:6379"}, "TRACESINK_STORE"),
        ({"TRACESINK_HOST": " "}, "TRACESINK_HOST"),
        ({"TRACESINK_CORS_ORIGINS": "example.com"}, "TRACESINK_CORS_ORIGINS"),
        ({"TRACESINK_GLOBAL_LIMT": "5"}, "TRACESINK_GLOBAL_LIMT"),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], named: str) -> None:
    """A bad or unknown setting stops start-up with a message naming it."""
    with pytest.raises(ConfigurationError, match=named):
        load_settings(env)


def test_bad_flag_names_the_flag() -> None:
    """A bad value given as a flag is reported by its flag name."""
    with pytest.raises(ConfigurationError, match="--port"):
        load_settings({}, {"port": "-1"})


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("redis://:s3cret@host:6379/0", "redis://:****@host:6379/0"),
        ("rediss://user:s3cret@host/0", "rediss://user:****@host/0"),
        ("upstash+https://tok3n@eu1.upstash.io", "upstash+https://****@eu1.upstash.io"),
        ("memory://", "memory://"),
        ("redis://host:6379", "redis://host:6379"),
    ],
)
def test_secrets_in_store_urls_are_masked(url: str, masked: str) -> None:
    """Passwords and tokens never appear in what is printed or logged."""
    assert mask_url(url) == masked


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("0.0.0.0", False),
        ("example.com", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    """Only loopback addresses count as a developer's private laptop."""
    assert Settings(host=host).is_loopback is loopback


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("foo://:pw@h:x", "foo://:****@h:x"),
        (
            "redis+unix:///run/redis.sock?db=0&password=pw",
            "redis+unix:///run/redis.sock?db=0&password=****",
        ),
    ],
)
def test_masking_survives_odd_urls(url: str, masked: str) -> None:
    """A malformed port or a password in the query is masked too, never raising."""
    assert mask_url(url) == masked


def test_limits_too_large_for_exact_arithmetic_are_refused() -> None:
    """limit x window must stay below 2**53 so Python and Lua decide alike."""
    with pytest.raises(ConfigurationError, match="TRACESINK_GLOBAL_LIMIT"):
        load_settings({"TRACESINK_GLOBAL_LIMIT": "4000000000", "TRACESINK_WINDOW_S": "2592000"})


def test_bare_upstash_store_is_accepted() -> None:
    """TRACESINK_STORE=upstash takes the URL and token from Upstash's own variables."""
    assert load_settings({"TRACESINK_STORE": "upstash"}).store == "upstash"
    with pytest.raises(ConfigurationError, match="UPSTASH_REDIS_REST_URL"):
        load_settings({"TRACESINK_STORE": "upstash-please"})


def test_the_replica_wait_is_off_by_default_and_named_by_how_it_was_set() -> None:
    """TRACESINK_REDIS_WAIT_REPLICAS=0 (the default) waits for nothing; N waits for N replicas
    for TRACESINK_REDIS_WAIT_TIMEOUT_MS (1000 by default), and messages name the flag or
    variable it came from; a negative count is refused naming the variable."""
    assert replica_wait_from(load_settings({})) is None
    redis_store = {"TRACESINK_STORE": "redis+sentinel://s1/cache"}
    wait = replica_wait_from(load_settings({**redis_store, "TRACESINK_REDIS_WAIT_REPLICAS": "2"}))
    assert wait == ReplicaWait(2, 1000)
    assert wait is not None
    assert wait.setting == "TRACESINK_REDIS_WAIT_REPLICAS"
    flagged = replica_wait_from(
        load_settings(redis_store, {"redis_wait_replicas": "1", "redis_wait_timeout_ms": "250"})
    )
    assert flagged is not None
    assert (flagged.replicas, flagged.timeout_ms, flagged.setting) == (
        1,
        250,
        "--redis-wait-replicas",
    )
    with pytest.raises(ConfigurationError, match="TRACESINK_REDIS_WAIT_REPLICAS"):
        load_settings({"TRACESINK_REDIS_WAIT_REPLICAS": "-1"})
    with pytest.raises(ConfigurationError, match="TRACESINK_REDIS_WAIT_TIMEOUT_MS"):
        load_settings({"TRACESINK_REDIS_WAIT_TIMEOUT_MS": "0"})


def test_the_replica_wait_on_a_store_without_replicas_stops_start_up() -> None:
    """memory:// (the default) and Upstash have no replicas: the setting is refused when the
    settings load (before `check` or `serve` does anything), naming both settings."""
    with pytest.raises(ConfigurationError) as refused:
        load_settings({"TRACESINK_REDIS_WAIT_REPLICAS": "1"})
    assert str(refused.value) == (
        "TRACESINK_REDIS_WAIT_REPLICAS=1 needs a redis://, rediss:// or redis+sentinel:// "
        "store; TRACESINK_STORE='memory://' has no replicas to wait for (set it to 0)"
    )
    with pytest.raises(ConfigurationError, match="--store='upstash'"):
        load_settings({}, {"store": "upstash", "redis_wait_replicas": "1"})
