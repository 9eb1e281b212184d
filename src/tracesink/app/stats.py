"""``GET /stats``: what this instance accepted and refused, what the store spent, what that
costs per month at the configured prices, and where the daily budget stands."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from tracesink.app.http import Request, Response, json_response
from tracesink.app.services import Services
from tracesink.budget import DAY_MS
from tracesink.cost import MIN_SAMPLE_HOURS, Prices, estimate_month
from tracesink.durable import SpoolingStore
from tracesink.ingest.validate import iso_ms


def stats_document(services: Services, now_ms: int) -> dict[str, Any]:
    settings, telemetry, budget = services.settings, services.telemetry, services.budget
    usage = services.store.usage
    refused: dict[str, dict[str, int]] = defaultdict(dict)
    for (system, reason), n in sorted(telemetry.refused.items()):
        refused[system][reason] = n
    stored = sum(telemetry.accepted.values()) - sum(telemetry.queued.values())
    commands, bytes_stored, hours = telemetry.last_hour(now_ms)
    prices = Prices(settings.price_per_100k_commands, settings.price_per_gb_month)
    estimate = estimate_month(
        commands,
        bytes_stored,
        hours,
        settings.ttl_s,
        prices,
        entries_per_window=settings.global_limit,
        window_s=settings.window_s,
        max_commands_per_day=settings.max_commands_per_day or None,
    )
    month = estimate.month
    document: dict[str, Any] = {
        "store": repr(services.store),
        "entries": {
            "accepted": dict(sorted(telemetry.accepted.items())),
            "queued": dict(sorted(telemetry.queued.items())),
            "refused": dict(refused),
        },
        "usage": {
            "commands": usage.commands,
            "bytes_sent": usage.bytes_sent,
            "bytes_stored": usage.bytes_stored,
            "commands_per_stored_entry": round(usage.commands / stored, 3) if stored else None,
        },
        "last_hour": {
            "commands": commands,
            "bytes_stored": bytes_stored,
            "hours_measured": round(hours, 4),
        },
        "monthly_cost_estimate": {
            # "measuring" until MIN_SAMPLE_HOURS of traffic; never above what the limits (or
            # the budget) let ingest spend, which capped_by names when it applies.
            "status": "measuring" if estimate.measuring else "projected",
            "measured_minutes": round(hours * 60, 1),
            "minimum_minutes": MIN_SAMPLE_HOURS * 60,
            "capped_by": estimate.capped_by,
            "commands": month.commands_per_month,
            "stored_gb": round(month.stored_gb, 6),
            "commands_usd": round(month.commands_usd, 4),
            "storage_usd": round(month.storage_usd, 4),
            "total_usd": round(month.total_usd, 4),
            "prices": {
                "per_100k_commands": prices.per_100k_commands,
                "per_gb_month": prices.per_gb_month,
            },
        },
        "budget": {
            "max_commands_per_day": budget.limit,
            "used_today": budget.used_today(now_ms),
            "exhausted": budget.exhausted(now_ms),
            "resets_at": iso_ms((now_ms // DAY_MS + 1) * DAY_MS),
        },
    }
    if isinstance(services.store, SpoolingStore):
        document["spool"] = services.store.spool_status()
    return document


async def get_stats(services: Services, request: Request) -> Response:
    return json_response(200, stats_document(services, services.now_ms()))
