"""What a request handler can use: the settings and the running parts, built once at start-up
by ``start_services``."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from tracesink.app.deadlines import BodyDeadlines
from tracesink.app.ratelimit_headers import RateLimitHeaders
from tracesink.budget import CommandBudget
from tracesink.config import Settings
from tracesink.durable import SpoolingStore
from tracesink.errors import ConfigurationError
from tracesink.ingest.validate import EntryRules
from tracesink.limits import Policy
from tracesink.spool import Spool
from tracesink.store import open_store
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
        key_prefix=settings.key_prefix,
        shared_budget=settings.max_commands_per_day > 0,
    )


def rules_from(settings: Settings) -> EntryRules:
    return EntryRules(
        max_message_bytes=settings.max_message_bytes,
        max_context_bytes=settings.max_context_bytes,
        max_context_depth=settings.max_context_depth,
    )


async def start_services(
    settings: Settings, given_store: Store | None, clock: Callable[[], float]
) -> Services:
    """Open the store (behind the spool when there is one) and build the parts around it."""
    policy = policy_from(settings)
    store: Store = given_store or open_store(settings.store, policy)
    # How many writer steps may be in flight at once: a store with a long round trip says more.
    max_in_flight: int = getattr(store, "max_in_flight", 1)
    spool_path = settings.spool_path()
    if spool_path is not None:
        spooling = SpoolingStore(
            store, Spool(spool_path, settings.spool_max_bytes), policy, settings.outage_share
        )
        try:
            await spooling.open(int(clock() * 1000))
        except (OSError, sqlite3.Error) as exc:
            raise ConfigurationError(
                f"TRACESINK_SPOOL_DIR: cannot open the spool at {spool_path}: {exc}"
            ) from None
        store = spooling
    telemetry = Telemetry(lambda: store.usage)

    def on_flush(size: int, seconds: float, failed: bool) -> None:
        telemetry.record_flush(size, seconds, failed)
        telemetry.sample(int(clock() * 1000))

    writer = Writer(
        store,
        max_batch=settings.max_batch,
        max_queue=settings.max_queue,
        clock=clock,
        on_flush=on_flush,
        max_in_flight=max_in_flight,
    )
    return Services(
        settings,
        policy,
        rules_from(settings),
        store,
        writer,
        RateLimitHeaders(policy),
        telemetry,
        CommandBudget(
            settings.max_commands_per_day or None,
            lambda: store.usage.commands,
            lambda day: store.usage.commands_today(day),
        ),
        BodyDeadlines(settings.read_timeout_s),
        clock,
    )
