"""A cluster store URL names its startup nodes, credentials and TLS; bad ones are refused
(tests/unit/test_secrets.py checks the refusals name TRACESINK_STORE and never the password)."""

from __future__ import annotations

import pytest

from tracesink.errors import ConfigurationError
from tracesink.limits import Policy
from tracesink.store import open_store
from tracesink.store.cluster import ClusterStore
from tracesink.store.cluster_url import parse_cluster_url

POLICY = Policy(global_limit=10, trace_limit=10, system_limits={}, window_ms=1000, ttl_ms=1000)


@pytest.mark.parametrize(
    ("url", "nodes", "credentials", "tls"),
    [
        ("redis+cluster://a:7000", [("a", 7000)], (None, None), False),
        ("redis+cluster://a,b:7001/", [("a", 6379), ("b", 7001)], (None, None), False),
        ("rediss+cluster://:p%40ss@a:7000/0", [("a", 7000)], (None, "p@ss"), True),
        (
            "REDIS+CLUSTER://app:pw@[::1]:7000, h:7001",
            [("::1", 7000), ("h", 7001)],
            ("app", "pw"),
            False,
        ),
    ],
)
def test_a_cluster_url_names_its_nodes(
    url: str, nodes: list[tuple[str, int]], credentials: tuple[str | None, str | None], tls: bool
) -> None:
    assert parse_cluster_url(url, "shown") == (nodes, credentials, tls)


def test_the_store_is_chosen_by_scheme_and_shows_its_url_masked() -> None:
    store = open_store("redis+cluster://app:pw@a:7000,b:7001", POLICY)
    assert isinstance(store, ClusterStore)
    assert repr(store) == "ClusterStore('redis+cluster://app:****@a:7000,b:7001')"


def test_a_refusal_says_what_a_cluster_url_looks_like() -> None:
    with pytest.raises(ConfigurationError, match=r"TRACESINK_STORE=.*host\[:port\]\[,host"):
        open_store("redis+cluster://a:7000/1", POLICY)
