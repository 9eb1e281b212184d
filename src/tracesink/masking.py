"""Secrets out of URLs: ``mask_url`` for every log line, repr, error and ``/stats`` that shows one.

Standard library only: the Python logging client (``client/``) imports it too.
"""

from __future__ import annotations

# ``sentinel_password``: the Sentinels' own password in a redis+sentinel:// URL (store/sentinel.py).
SECRET_PARAMS = frozenset(
    {"password", "pass", "token", "secret", "key", "auth", "sentinel_password"}
)


def mask_url(url: str) -> str:
    """The URL with any password or token replaced by ``****``: safe for logs and reprs.

    Written without ``urlsplit``, which cuts a password holding an unencoded ``/``, ``?`` or
    ``#`` in two (showing the rest as a host or path) and raises on a bad IPv6 host: everything
    before the last ``@`` is credentials (only a plain user name before a ``:`` is shown), the
    query is shown up to a ``?password=`` (or token, secret, key), whose value and all after it
    are masked, and when a password sits in a query before an ``@``, nothing after the scheme
    is shown at all.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    prefix = f"{scheme}://" if sep else ""
    userinfo, at, rest = rest.rpartition("@")
    if at:
        if "=" in userinfo:  # an "@" inside a ?password=… value: its end is not known
            return f"{prefix}****"
        user, colon, _ = userinfo.partition(":")
        plain_user = colon and not any(c in user for c in "/?#[]")
        rest = f"{user}:****@{rest}" if plain_user else f"****@{rest}"
    path, question, query = rest.partition("?")
    if question:
        params = []
        for param in query.split("&"):
            name, equals, _ = param.partition("=")
            if equals and name.strip().lower() in SECRET_PARAMS:
                params.append(f"{name}=****")
                break  # what follows may be the rest of a password that holds a "&"
            params.append(param)
        path = f"{path}?{'&'.join(params)}"
    return prefix + path
