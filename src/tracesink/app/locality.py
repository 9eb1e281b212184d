"""Whether a request comes from this machine: what open reads and the any-origin CORS default
of a loopback instance rely on.

Bound to loopback, every TCP peer is this machine, but not every request is from a person on it:
nginx, ``cloudflared``, ``ngrok`` or an SSH tunnel on the same machine hand public traffic in
from 127.0.0.1, and a web page can reach 127.0.0.1 under its own host name (DNS rebinding). So a
request is local only when

- the server listens on loopback and the peer is a loopback address,
- it names a loopback host (``Host: localhost:8787``, ``127.0.0.1``, ``[::1]``), and
- it carries no forwarding header (``Forwarded``, ``X-Forwarded-For``, ``CF-Connecting-IP``, …),

unless the peer is one of ``TRACESINK_TRUSTED_PROXIES``: then the client is the address that proxy
reports (the right-most ``X-Forwarded-For`` entry, or ``Forwarded: for=``) and the request is
local only if that address is loopback; a trusted proxy that reports none is not local.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from tracesink.app.http import Request

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Headers a proxy, tunnel or CDN adds to say that it forwarded the request.
FORWARDING_HEADERS = (
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
    "x-client-ip",
    "x-cluster-client-ip",
    "cf-connecting-ip",
    "cf-ray",
    "true-client-ip",
    "fastly-client-ip",
    "via",
)
LOOPBACK_NAMES = frozenset({"localhost", "localhost."})


def is_loopback_address(text: str) -> bool:
    try:
        return ipaddress.ip_address(text.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def is_loopback_host(host_header: str) -> bool:
    """``Host`` names this machine: localhost (or a *.localhost name), 127.x.y.z, [::1]."""
    host = host_header.strip().lower()
    if host.startswith("["):  # [::1]:8787
        if "]" not in host:
            return False
        host = host[1 : host.find("]")]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    return host in LOOPBACK_NAMES or host.endswith(".localhost") or is_loopback_address(host)


def forwarded_client(request: Request) -> str | None:
    """The client address a proxy reports: the last ``X-Forwarded-For`` entry (the one the
    proxy next to us added), else the last ``for=`` of ``Forwarded``; None when there is none."""
    headers = request.headers
    chain = headers.get("x-forwarded-for")
    if chain:
        return chain.rsplit(",", 1)[-1].strip()
    forwarded = headers.get("forwarded")
    if forwarded:
        for element in reversed(forwarded.split(",")):
            for pair in element.split(";"):
                name, _, value = pair.strip().partition("=")
                if name.lower() == "for":
                    value = value.strip('"')
                    # for="[::1]:1234" or for=127.0.0.1:1234
                    if value.startswith("["):
                        return value[1 : value.find("]")] if "]" in value else value
                    return value.partition(":")[0] if value.count(":") == 1 else value
    return None


class Locality:
    def __init__(self, serving_on_loopback: bool, trusted_proxies: Sequence[IPNetwork]) -> None:
        self._loopback = serving_on_loopback
        self._trusted = tuple(trusted_proxies)

    def is_local(self, request: Request) -> bool:
        if not self._loopback:
            return False
        client = request.scope.get("client")
        peer = client[0] if client else None
        if peer is None or not is_loopback_address(peer):
            return False
        if not is_loopback_host(request.headers.get("host", "")):
            return False
        if self._trusts(peer):
            reported = forwarded_client(request)
            return reported is not None and is_loopback_address(reported)
        return not any(name in request.headers for name in FORWARDING_HEADERS)

    def _trusts(self, peer: str) -> bool:
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self._trusted)
