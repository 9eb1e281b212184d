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
reports and the request is local only if that address is loopback; a trusted proxy that reports
none is not local. The report is read the way proxies write it: every line of a repeated header,
in order, is one list (HAProxy adds its own ``X-Forwarded-For`` line after the client's), and
the client is the right-most hop that is not a trusted proxy (a hop further left was written by
the client itself). ``Forwarded`` (RFC 7239) is read the same way, its ``for=`` values unquoted
(``"[::1]:443"``); ``unknown`` or an obfuscated ``_id`` is no address, so not local. When both
headers come, both must say loopback: a proxy that writes one forwards a client's forged copy
of the other untouched.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence

from tracesink.app.http import Request

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

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


def header_values(request: Request, name: bytes) -> list[str]:
    """Every value of header ``name`` (lower case), in the order received: ``Request.headers``
    keeps only the first, and a client's own copy comes before the one its proxy adds."""
    return [value.decode("latin-1") for key, value in request.scope["headers"] if key == name]


def node_address(node: str) -> IPAddress | None:
    """The address of one hop as proxies write it (``203.0.113.9``, ``203.0.113.9:443``,
    ``::1``, ``[::1]:443``); None for anything else (``unknown``, an obfuscated ``_id``)."""
    node = node.strip()
    if node.startswith("["):
        host = node[1 : node.find("]")] if "]" in node else ""
    elif node.count(":") == 1:
        host = node.partition(":")[0]
    else:
        host = node
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def forwarded_for_chain(values: Sequence[str]) -> list[str]:
    """The hops of every ``X-Forwarded-For`` line, in order: repeated lines are one list joined
    with commas (RFC 9110, 5.3), which is how HAProxy's ``option forwardfor`` adds its hop."""
    return [hop.strip() for hop in ",".join(values).split(",") if hop.strip()]


_ELEMENT_GAP = re.compile(r"[ \t,]*")  # empty list elements are allowed (RFC 9110, 5.6.1)
_PAIR = re.compile(
    r"[ \t]*([A-Za-z0-9!#$%&'*+.^_`|~-]+)[ \t]*=[ \t]*"
    r'("(?:[^"\\]|\\.)*"|[^;,\s"]*)[ \t]*'
)


def forwarded_chain(values: Sequence[str]) -> list[str] | None:
    """The ``for=`` node of each element of every ``Forwarded`` line (RFC 7239), in order;
    "" for an element without one; None when the header is malformed."""
    value = ",".join(values)
    nodes: list[str] = []
    position = _gap_end(value, 0)
    while position < len(value):
        node = ""
        while True:
            pair = _PAIR.match(value, position)
            if pair is None:
                return None
            name, raw = pair.groups()
            if name.lower() == "for":
                node = _unquote(raw)
            position = pair.end()
            if position == len(value) or value[position] == ",":
                break
            if value[position] != ";":
                return None
            position += 1
        nodes.append(node)
        position = _gap_end(value, position)
    return nodes


def _gap_end(value: str, position: int) -> int:
    gap = _ELEMENT_GAP.match(value, position)
    return gap.end() if gap else position


def _unquote(raw: str) -> str:
    if raw.startswith('"'):
        return re.sub(r"\\(.)", r"\1", raw[1:-1])
    return raw


def reported_client(chain: Sequence[str], trusted: Callable[[IPAddress], bool]) -> str | None:
    """The client a chain of hops reports: the right-most hop that is not a trusted proxy (a
    hop left of it was written by someone nobody vouches for), else the left-most; None when
    the chain is empty or that hop is no address."""
    address = None
    for hop in reversed(chain):
        address = node_address(hop)
        if address is None or not trusted(address):
            break
    return None if address is None else str(address)


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
        hosts = header_values(request, b"host")
        if len(hosts) != 1 or not is_loopback_host(hosts[0]):
            return False  # two Host lines: which one a proxy routed by is anyone's guess
        if self._trusts_peer(peer):
            return self._reported_local(request)
        return not any(name in request.headers for name in FORWARDING_HEADERS)

    def _reported_local(self, request: Request) -> bool:
        """A trusted proxy's report: local when every forwarding header present (a proxy that
        writes one passes a client's own copy of the other untouched) names a loopback
        client; a proxy that says nothing is not local."""
        chains: list[list[str] | None] = []
        if xff := header_values(request, b"x-forwarded-for"):
            chains.append(forwarded_for_chain(xff))
        if forwarded := header_values(request, b"forwarded"):
            chains.append(forwarded_chain(forwarded))
        if not chains:
            return False
        for chain in chains:
            reported = reported_client(chain, self._trusts) if chain is not None else None
            if reported is None or not is_loopback_address(reported):
                return False
        return True

    def _trusts(self, address: IPAddress) -> bool:
        return any(address in network for network in self._trusted)

    def _trusts_peer(self, peer: str) -> bool:
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return self._trusts(address)
