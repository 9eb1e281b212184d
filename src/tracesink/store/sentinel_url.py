"""The ``redis+sentinel://`` URL: where the Sentinels are and which primary they watch.

redis-py's Sentinel client takes addresses and options, not a URL, so this one is ours::

    redis+sentinel://[user:password@]host[:port][,host[:port]…]/service[/db][?options]
    rediss+sentinel://…   the same over TLS, to the Sentinels and to the data nodes alike

- the hosts are Sentinels (port 26379 when none is given), any of which may be down; IPv6 in
  brackets (``[::1]:26379``);
- ``service`` is the name the Sentinels monitor the primary as (``sentinel monitor <service> …``);
  ``db`` the database number on it (0);
- ``user:password@`` log in to the data nodes (the primary and its replicas), as in
  ``redis://``; a Sentinel set up with a password of its own (``requirepass`` in sentinel.conf)
  takes ``?sentinel_password=…`` (and ``sentinel_username=…`` for an ACL user). Two settings
  because they are two servers' passwords, often different; an URL that gives none of them logs
  in to the Sentinels without one;
- ``?``, ``#``, ``/``, ``@``, ``,`` and ``&`` in a password are percent-encoded.

A URL that is not one is refused with a message naming TRACESINK_STORE and showing the URL
masked: never the password.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote

from tracesink.errors import ConfigurationError
from tracesink.masking import mask_url

SCHEMES = {"redis+sentinel": False, "rediss+sentinel": True}  # scheme -> TLS
DEFAULT_SENTINEL_PORT = 26379
OPTIONS = ("sentinel_username", "sentinel_password")
EXPECTED = (
    "expected redis+sentinel://[user:password@]host[:port][,host[:port]…]/service[/db]"
    "[?sentinel_password=…], with ?, #, /, @, comma and & in a password percent-encoded"
)


Refuse = Callable[[str], ConfigurationError]  # why -> the error to raise


@dataclass(frozen=True, slots=True)
class SentinelTarget:
    sentinels: list[tuple[str, int]]
    service: str
    db: int = 0
    username: str | None = None  # the data nodes'
    password: str | None = None
    sentinel_username: str | None = None
    sentinel_password: str | None = None
    tls: bool = False

    def __repr__(self) -> str:  # never the passwords
        hosts = ",".join(f"{host}:{port}" for host, port in self.sentinels)
        return f"SentinelTarget({hosts}/{self.service}/{self.db}, tls={self.tls})"


def parse_sentinel_url(url: str, setting: str = "TRACESINK_STORE") -> SentinelTarget:
    """The Sentinels, service and credentials of ``url``; ConfigurationError naming ``setting``
    (the URL masked) when it is not a Sentinel URL."""

    def refuse(why: str) -> ConfigurationError:
        shown = mask_url(url)
        if "?" in shown and not _known_options(url):
            # mask_url masks the values of the option names it knows: a misspelt
            # ``sentinel_pasword=…`` would be shown as written.
            shown = shown.partition("?")[0] + "?…"
        return ConfigurationError(
            f"{setting}={shown!r} is not a valid Sentinel URL: {why}; {EXPECTED}"
        )

    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in SCHEMES:
        raise refuse(f"the scheme must be one of {', '.join(s + '://' for s in SCHEMES)}")
    if "#" in rest:
        raise refuse("a '#' must be percent-encoded (%23)")
    rest, _, query = rest.partition("?")
    userinfo, at, rest = rest.rpartition("@")
    username = password = None
    if at:
        user, colon, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else None
    hosts, slash, path = rest.partition("/")
    if not slash or not path:
        raise refuse("the service name is missing (…/service)")
    service, _, db_text = path.partition("/")
    if not service:
        raise refuse("the service name is missing (…/service)")
    db = 0
    if db_text:
        if not db_text.isdigit():
            raise refuse("the database must be a number (…/service/0)")
        db = int(db_text)
    options = _options(query, refuse)
    return SentinelTarget(
        sentinels=[_address(part, refuse) for part in hosts.split(",")],
        service=unquote(service),
        db=db,
        username=username,
        password=password,
        sentinel_username=options.get("sentinel_username"),
        sentinel_password=options.get("sentinel_password"),
        tls=SCHEMES[scheme.lower()],
    )


def _address(part: str, refuse: Refuse) -> tuple[str, int]:
    """``host``, ``host:port`` or ``[v6]:port``."""
    if part.startswith("["):
        host, bracket, tail = part[1:].partition("]")
        if not bracket or (tail and not tail.startswith(":")):
            raise refuse(f"the Sentinel address {part!r} is not [IPv6]:port")
        port_text = tail[1:]
    else:
        host, _, port_text = part.partition(":")
    if not host:
        raise refuse("a Sentinel address is empty (host:port,host:port)")
    if not port_text:
        return host, DEFAULT_SENTINEL_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise refuse(f"the port of the Sentinel {host!r} is not a number from 1 to 65535")
    return host, int(port_text)


def _known_options(url: str) -> bool:
    """Whether every option of ``url``'s query has a name this parser knows."""
    query = url.partition("?")[2]
    return all(part.partition("=")[0] in OPTIONS for part in query.split("&") if part)


def _options(query: str, refuse: Refuse) -> dict[str, str]:
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise refuse("the options after '?' are not name=value pairs joined by '&'") from None
    options: dict[str, str] = {}
    for name, value in pairs:
        if name not in OPTIONS:
            # The name only: a misspelt password option must not show its value.
            raise refuse(f"unknown option {name!r}; known: {', '.join(OPTIONS)}")
        options[name] = value
    return options
