"""What a request handler can use: the settings and the running parts, built once at start-up."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from tracesink.app.deadlines import BodyDeadlines
from tracesink.app.ratelimit_headers import RateLimitHeaders
from tracesink.budget import CommandBudget
from tracesink.config import Settings
from tracesink.ingest.validate import EntryRules
from tracesink.limits import Policy
from tracesink.store.base import Store
from tracesink.telemetry import Telemetry
from tracesink.writer import Writer


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    policy: Policy
    rules: EntryRules
    store: Store
    writer: Writer
    ratelimit_headers: RateLimitHeaders
    telemetry: Telemetry
    budget: CommandBudget
    deadlines: BodyDeadlines
    clock: Callable[[], float] = time.time

    def now_ms(self) -> int:
        return int(self.clock() * 1000)


def policy_from(settings: Settings) -> Policy:
    system_limits = {
        name: limit
        for name in settings.system_shares
        if (limit := settings.system_limit(name)) is not None
    }
    return Policy(
        global_limit=settings.global_limit,
        trace_limit=settings.trace_limit,
        system_limits=system_limits,
        window_ms=settings.window_s * 1000,
        ttl_ms=settings.ttl_s * 1000,
    )


def rules_from(settings: Settings) -> EntryRules:
    return EntryRules(
        max_message_bytes=settings.max_message_bytes,
        max_context_bytes=settings.max_context_bytes,
        max_context_depth=settings.max_context_depth,
    )
