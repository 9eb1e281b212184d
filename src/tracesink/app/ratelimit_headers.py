"""``RateLimit-Policy`` / ``RateLimit`` headers (IETF httpapi ratelimit-headers draft), per level.

Each level is its own named policy: ``"global"``, ``"system"`` (the entry's system's share) and
``"trace"``, with ``q`` the quota and ``w`` the window in seconds; ``RateLimit`` gives each
level's remaining ``r`` and ``t``, the seconds until the current window ends.
"""

from __future__ import annotations

import math

from tracesink.app.http import Headers
from tracesink.limits import Decision, Policy


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

    def for_decision(self, system: str, decision: Decision, elapsed_ms: int) -> Headers:
        names, declared = self._levels(system)
        reset_s = math.ceil((self._policy.window_ms - elapsed_ms) / 1000)
        current = ", ".join(f'"{n}";r={decision.remaining.get(n, 0)};t={reset_s}' for n in names)
        headers = [(b"ratelimit-policy", declared), (b"ratelimit", current.encode())]
        if decision.limited_by is not None:
            headers.append((b"retry-after", str(retry_after_s(decision)).encode()))
        return headers


def retry_after_s(decision: Decision) -> int:
    return max(1, math.ceil(decision.retry_after_ms / 1000))
