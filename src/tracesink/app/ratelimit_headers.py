"""``RateLimit-Policy`` / ``RateLimit`` headers (IETF httpapi ratelimit-headers draft), per level.

Each level is its own named policy: ``"global"``, ``"system"`` (the entry's system's share) and
``"trace"``, with ``q`` the quota and ``w`` the window in seconds; ``RateLimit`` gives each
level's remaining ``r`` and ``t``, the seconds until the current window ends.
"""

from __future__ import annotations

import math

from tracesink.app.http import Headers
from tracesink.limits import Decision, Policy


def ratelimit_headers(policy: Policy, system: str, decision: Decision, elapsed_ms: int) -> Headers:
    window_s = policy.window_ms // 1000
    reset_s = math.ceil((policy.window_ms - elapsed_ms) / 1000)
    quotas = {"global": policy.global_limit, "trace": policy.trace_limit}
    system_limit = policy.system_limits.get(system)
    if system_limit is not None:
        quotas["system"] = system_limit
    names = [name for name in ("global", "system", "trace") if name in quotas]
    declared = ", ".join(f'"{n}";q={quotas[n]};w={window_s}' for n in names)
    current = ", ".join(f'"{n}";r={decision.remaining.get(n, 0)};t={reset_s}' for n in names)
    headers = [(b"ratelimit-policy", declared.encode()), (b"ratelimit", current.encode())]
    if decision.limited_by is not None:
        headers.append((b"retry-after", str(retry_after_s(decision)).encode()))
    return headers


def retry_after_s(decision: Decision) -> int:
    return max(1, math.ceil(decision.retry_after_ms / 1000))
