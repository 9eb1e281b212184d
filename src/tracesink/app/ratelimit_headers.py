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
from tracesink.limits import Decision, Policy, window_of


class RateLimitHeaders:
    """Builds the headers for a decision; the policy part is computed once per system."""

    def __init__(self, policy: Policy) -> None:
        self._policy = policy
        self._names: dict[str, tuple[str, ...]] = {}
        self._declared: dict[str, bytes] = {}

    def _levels(self, system: str) -> tuple[tuple[str, ...], bytes]:
        names = self._names.get(system)
        if names is None:
            policy = self._policy
            quotas = {"global": policy.global_limit}
            if system in policy.system_limits:
                quotas["system"] = policy.system_limits[system]
            quotas["trace"] = policy.trace_limit
            window_s = policy.window_ms // 1000
            names = tuple(quotas)
            self._names[system] = names
            self._declared[system] = ", ".join(
                f'"{name}";q={quota};w={window_s}' for name, quota in quotas.items()
            ).encode()
        return names, self._declared[system]

    def for_decision(self, system: str, decision: Decision, decided_ms: int) -> Headers:
        names, declared = self._levels(system)
        _, elapsed_ms = window_of(decided_ms, self._policy.window_ms)
        rollover_s = math.ceil((self._policy.window_ms - elapsed_ms) / 1000)
        limited_by = decision.limited_by
        wait_s = retry_after_s(decision) if limited_by is not None else 0
        current = ", ".join(
            f'"{n}";r={decision.remaining.get(n, 0)};t={wait_s if n == limited_by else rollover_s}'
            for n in names
        )
        headers = [(b"ratelimit-policy", declared), (b"ratelimit", current.encode())]
        if limited_by is not None:
            headers.append((b"retry-after", str(wait_s).encode()))
        return headers


def retry_after_s(decision: Decision) -> int:
    return max(1, math.ceil(decision.retry_after_ms / 1000))
