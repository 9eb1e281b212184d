"""``RateLimit-Policy`` / ``RateLimit`` headers (IETF httpapi ratelimit-headers draft), per level.

Each level is its own named policy: ``"global"``, ``"system"`` (the entry's system's share) and
``"trace"``, with ``q`` the quota and ``w`` the window in seconds. ``RateLimit`` gives each
level's remaining ``r`` and ``t``: for the level that refused an entry, the seconds until it
admits again (the same as ``Retry-After``: the window slides, so that is not the fixed window's
end); for any other level, the seconds until the current window rolls over and its count starts
to decay. Both are computed at the moment the store decided, not when the request arrived.
"""

from __future__ import annotations

import math

from tracesink.app.http import Headers
from tracesink.limits import Decision, Policy


class RateLimitHeaders:
    """Builds the headers for a decision; what depends on the system alone is built once per
    system: its levels, the ``RateLimit-Policy`` value and templates of the ``RateLimit`` one
    (an admitted entry's headers are one ``%`` formatting, in C: a string per level cost ~4x,
    issue 27)."""

    def __init__(self, policy: Policy) -> None:
        self._policy = policy
        self._per_system: dict[str, tuple[tuple[str, ...], bytes, bytes, str]] = {}

    def _levels(self, system: str) -> tuple[tuple[str, ...], bytes, bytes, str]:
        known = self._per_system.get(system)
        if known is None:
            policy = self._policy
            quotas = {"global": policy.global_limit}
            if system in policy.system_limits:
                quotas["system"] = policy.system_limits[system]
            quotas["trace"] = policy.trace_limit
            window_s = policy.window_ms // 1000
            declared = ", ".join(f'"{n}";q={quota};w={window_s}' for n, quota in quotas.items())
            current = ", ".join(f'"{n}";r=%d;t=%d' for n in quotas)
            admitted = ", ".join(f'"{n}";r=%({n})d;t=%({_ROLLOVER})d' for n in quotas)
            known = (tuple(quotas), declared.encode(), current.encode(), admitted)
            self._per_system[system] = known
        return known

    def for_decision(self, system: str, decision: Decision, decided_ms: int) -> Headers:
        names, declared, current, admitted = self._levels(system)
        window_ms = self._policy.window_ms
        rollover_s = -(-(window_ms - decided_ms % window_ms) // 1000)  # ceil, in integers
        limited_by, remaining = decision.limited_by, decision.remaining
        if limited_by is None and len(remaining) == len(names):  # every level's count known
            values = {**remaining, _ROLLOVER: rollover_s}
            return [(b"ratelimit-policy", declared), (b"ratelimit", (admitted % values).encode())]
        wait_s = retry_after_s(decision) if limited_by is not None else 0
        counts: list[int] = []
        for n in names:
            counts += (remaining.get(n, 0), wait_s if n == limited_by else rollover_s)
        headers = [(b"ratelimit-policy", declared), (b"ratelimit", current % tuple(counts))]
        if limited_by is not None:
            headers.append((b"retry-after", str(wait_s).encode()))
        return headers


_ROLLOVER = "rollover"  # a key of the admitted template beside the level names


def retry_after_s(decision: Decision) -> int:
    return max(1, math.ceil(decision.retry_after_ms / 1000))
