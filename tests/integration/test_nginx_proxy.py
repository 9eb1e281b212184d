"""Several instances behind nginx on one Redis: deploy/nginx/tracesink.conf, run for real.

Debian's nginx serves the repository's configuration file (only its ports and listen address
replaced) in front of two ``tracesink serve`` processes that share one redis-server. What a user
of that deployment checks: limits hold exactly as for one instance, the client address the app
acts on is the real client's (from the header the proxy sets, never from what a client claims),
a browser origin gets its CORS answer, and a live stream flows through the proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.live import reading
from tests.support.nginx import Nginx, nginx_binary, non_loopback_address, running_nginx
from tests.support.redis_server import free_port, redis_server_binary, running_redis_server
from tests.support.service import Service, serving

pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    pytest.mark.skipif(redis_server_binary() is None, reason="redis-server is not installed"),
    pytest.mark.skipif(
        nginx_binary() is None, reason="nginx is not installed (apt-get install nginx)"
    ),
]

SITE = Path(__file__).parents[2] / "deploy" / "nginx" / "tracesink.conf"
GLOBAL_LIMIT = 150
TRACE_LIMIT = 40
APP_ORIGIN = "https://app.example.test"


@dataclass(frozen=True)
class Deployment:
    proxy: Nginx
    instances: tuple[Service, Service]
    url: str  # nginx, reached over loopback
    outside_url: str | None  # nginx, reached over a non-loopback address of this machine


def site_config(instances: tuple[Service, Service], port: int, outside: str | None) -> str:
    """deploy/nginx/tracesink.conf with the test's ports: every other line as shipped."""
    text = SITE.read_text()
    listen = f"listen 127.0.0.1:{port};" + (f" listen {outside}:{port};" if outside else "")
    replacements = {
        "listen 80;": listen,
        "server 127.0.0.1:8701;": f"server 127.0.0.1:{urlsplit(instances[0].url).port};",
        "server 127.0.0.1:8702;": f"server 127.0.0.1:{urlsplit(instances[1].url).port};",
    }
    for shipped, used in replacements.items():
        assert text.count(shipped) == 1, f"{SITE} no longer has exactly one {shipped!r}"
        text = text.replace(shipped, used)
    return text


@contextlib.contextmanager
def deployed() -> Iterator[Deployment]:
    """redis-server, two instances on it, nginx in front with the shipped configuration."""
    env = {
        "TRACESINK_GLOBAL_LIMIT": str(GLOBAL_LIMIT),
        "TRACESINK_TRACE_LIMIT": str(TRACE_LIMIT),
        "TRACESINK_TRUSTED_PROXIES": "127.0.0.1",
        "TRACESINK_CORS_ORIGINS": APP_ORIGIN,
    }
    outside = non_loopback_address()
    port = free_port()
    with running_redis_server() as store:
        env["TRACESINK_STORE"] = store.url
        with serving(env) as first, serving(env) as second:
            site = site_config((first, second), port, outside)
            with running_nginx(site, port) as proxy:
                yield Deployment(
                    proxy,
                    (first, second),
                    f"http://127.0.0.1:{port}",
                    f"http://{outside}:{port}" if outside else None,
                )


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    """One deployment shared by the tests that spend next to nothing of the limits."""
    with deployed() as shared:
        yield shared


@pytest.fixture
def fresh_deployment() -> Iterator[Deployment]:
    """A deployment of its own, for a test that spends the global limit (each instance then
    remembers the spent level and refuses locally, whatever Redis holds)."""
    with deployed() as fresh:
        yield fresh


async def post_all(url: str, bodies: list[dict[str, str]]) -> Counter[int]:
    """POST every body to ``url``/log at once; how many answers had each status."""
    limits = httpx.Limits(max_connections=32)
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(30, pool=None)) as client:
        responses = await asyncio.gather(*(client.post(f"{url}/log", json=b) for b in bodies))
    return Counter(response.status_code for response in responses)


def upstreams(proxy: Nginx, path: str) -> Counter[str]:
    """Which instance (upstream address) nginx sent each request for ``path`` to."""
    served: Counter[str] = Counter()
    for line in proxy.access_log():
        match = re.search(r'"POST (\S+) HTTP/1\.1" \d+ (\S+)$', line)
        if match and match.group(1) == path:
            served[match.group(2)] += 1
    return served


def test_limits_stay_exact_across_both_instances_behind_the_proxy(
    fresh_deployment: Deployment,
) -> None:
    """100 entries for one trace, sent at once through nginx to two instances: exactly the
    trace limit is stored; then entries for new traces fill exactly what is left of the global
    limit, and nginx really used both instances."""
    one_trace = [{"trace_id": "busy", "message": f"m{i}", "system": "manual"} for i in range(100)]
    assert asyncio.run(post_all(fresh_deployment.url, one_trace)) == {
        200: TRACE_LIMIT,
        429: 100 - TRACE_LIMIT,
    }
    with httpx.Client(base_url=fresh_deployment.url, timeout=10) as http:
        read = http.get("/logs/busy").json()
    assert read["total"] == TRACE_LIMIT
    assert len([e for e in read["entries"] if e.get("kind") != "dropped"]) == TRACE_LIMIT

    many = [{"trace_id": f"t{i}", "message": "m", "system": "manual"} for i in range(200)]
    left = GLOBAL_LIMIT - TRACE_LIMIT
    assert asyncio.run(post_all(fresh_deployment.url, many)) == {200: left, 429: 200 - left}

    served = upstreams(fresh_deployment.proxy, "/log")
    ports = {f"127.0.0.1:{urlsplit(s.url).port}" for s in fresh_deployment.instances}
    assert set(served) == ports, served
    assert min(served.values()) >= 100, served  # round robin: each took about half


def test_the_app_acts_on_the_real_client_address_from_the_proxy(deployment: Deployment) -> None:
    """Without a read token, reads are open only to a client on this machine. Through nginx, a
    client on loopback may read; the same request from a non-loopback address is refused, even
    when that client claims to be 127.0.0.1 in its own X-Forwarded-For (nginx appends the
    address it saw, and only that right-most entry is believed)."""
    if deployment.outside_url is None:
        pytest.skip("this machine has no non-loopback IPv4 address to send from")
    with httpx.Client(timeout=10) as http:
        assert http.get(f"{deployment.url}/traces").status_code == 200
        outside = http.get(f"{deployment.outside_url}/traces")
        spoofed = http.get(
            f"{deployment.outside_url}/traces", headers={"X-Forwarded-For": "127.0.0.1"}
        )
    assert outside.status_code == 403, outside.text
    assert "TRACESINK_READ_TOKEN" in outside.json()["error"]
    assert spoofed.status_code == 403, spoofed.text
    assert "TRACESINK_READ_TOKEN" in spoofed.json()["error"]


def test_a_listed_browser_origin_gets_its_cors_answer_through_the_proxy(
    deployment: Deployment,
) -> None:
    """The Origin header reaches the app through nginx: the listed origin's preflight and POST
    are granted to that origin by name, another origin is refused with 403."""
    with httpx.Client(base_url=deployment.url, timeout=10) as http:
        preflight = http.options(
            "/logs",
            headers={
                "Origin": APP_ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type, x-trace-id",
            },
        )
        sent = http.post(
            "/log", json={"trace_id": "cors-ok", "message": "hi"}, headers={"Origin": APP_ORIGIN}
        )
        other = http.post(
            "/log",
            json={"trace_id": "cors-other", "message": "hi"},
            headers={"Origin": "https://elsewhere.example.test"},
        )
    assert preflight.status_code in (200, 204), preflight.text
    assert preflight.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "x-trace-id" in preflight.headers["access-control-allow-headers"].lower()
    assert sent.status_code == 200, sent.text
    assert sent.headers["access-control-allow-origin"] == APP_ORIGIN
    assert sent.json()["trace_id"] == "cors-ok"
    assert other.status_code == 403, other.text
    assert "origin" in other.text.lower()


def test_a_live_stream_flows_through_the_proxy(deployment: Deployment) -> None:
    """A live stream opened through nginx shows entries as they are stored, whichever instance
    nginx handed each POST to (its round robin spreads them over both; the other instance's
    entries reach this stream by its poll of Redis)."""
    with reading(f"{deployment.url}/logs/live-proxy/live") as live:
        assert live.status == 200
        assert live.content_type.startswith("text/event-stream")
        assert live.until_ready() == []
        for index in range(4):
            response = httpx.post(
                f"{deployment.url}/log",
                json={"trace_id": "live-proxy", "message": f"live {index}"},
                timeout=10,
            )
            assert response.status_code == 200, response.text
        seen = {live.next_entry(timeout=15)["message"] for _ in range(4)}
    assert seen == {f"live {index}" for index in range(4)}
