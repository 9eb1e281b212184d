"""A cluster store URL: ``redis+cluster://[user:password@]host[:port][,host[:port]...]``
(``rediss+cluster://`` for TLS): the startup nodes, the credentials, TLS, and nothing else.

redis-py has no URL for a cluster of several startup nodes; this is the form docs/deploy.md
shows. A refusal names TRACESINK_STORE and shows the URL masked, never the password.
"""

from __future__ import annotations

from urllib.parse import unquote

from tracesink.errors import ConfigurationError

DEFAULT_PORT = 6379
SCHEMES = {"redis+cluster": False, "rediss+cluster": True}  # scheme -> TLS
URL_FORM = "redis+cluster://[user:password@]host[:port][,host[:port]...] (TLS: rediss+cluster)"


def parse_cluster_url(
    url: str, display: str
) -> tuple[list[tuple[str, int]], tuple[str | None, str | None], bool]:
    """(startup nodes, (user, password), TLS) of a cluster URL; ConfigurationError naming
    TRACESINK_STORE, the URL masked, for anything else."""

    def refuse(why: str) -> ConfigurationError:
        return ConfigurationError(f"TRACESINK_STORE={display!r} {why}: expected {URL_FORM}")

    scheme, _, rest = url.partition("://")
    tls = SCHEMES.get(scheme.lower())
    if tls is None:
        raise refuse(f"is not a cluster URL (scheme {scheme!r})")
    userinfo, at, hosts = rest.rpartition("@")
    hosts, slash, path = hosts.partition("/")
    if "?" in hosts or "?" in path or "#" in hosts:
        raise refuse("has options; a cluster URL takes none")
    if slash and path not in ("", "0"):
        raise refuse("names a database other than 0 (a cluster has only database 0)")
    user = password = None
    if at:
        name, colon, secret = userinfo.partition(":")
        user = unquote(name) or None
        password = unquote(secret) if colon else None
    nodes = []
    for node in hosts.split(","):
        host, port = _host_port(node.strip())
        if not host or port is None or not 0 < port < 65536:
            raise refuse(f"has a node {node.strip()!r} that is not host[:port]")
        nodes.append((host, port))
    return nodes, (user, password), tls


def _host_port(node: str) -> tuple[str, int | None]:
    if node.startswith("["):  # an IPv6 address: [::1]:7000
        host, _, port = node[1:].partition("]")
        port = port.removeprefix(":")
    else:
        host, _, port = node.rpartition(":") if ":" in node else (node, "", "")
    if not port:
        return host, DEFAULT_PORT
    return host, int(port) if port.isdigit() else None
