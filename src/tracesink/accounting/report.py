"""The ``/stats`` document (what this instance accepted and refused, what the store spent, what
that costs per month at the configured prices, where the daily budget stands), and its rendering
for a terminal (``tracesink stats``)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from tracesink.accounting.budget import DAY_MS, CommandBudget
from tracesink.accounting.cost import MIN_SAMPLE_HOURS, Prices, estimate_month
from tracesink.accounting.telemetry import Telemetry
from tracesink.config import Settings
from tracesink.store.spooling import SpoolStatus
from tracesink.times import iso_ms


def stats_document(
    settings: Settings,
    telemetry: Telemetry,
    budget: CommandBudget,
    store: str,
    spool: SpoolStatus | None,
    now_ms: int,
) -> dict[str, Any]:
    """``store`` is the store's URL with secrets masked; ``spool`` None when there is none."""
    usage = telemetry.usage
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
        "store": store,
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
            "ingest_stops_at": budget.ingest_limit,  # the rest is the reads' reserve
            "exhausted": budget.exhausted(now_ms),  # ingest refused
            "spent": budget.spent(now_ms),  # reads refused too: nothing is sent
            "resets_at": iso_ms((now_ms // DAY_MS + 1) * DAY_MS),
        },
    }
    if spool is not None:
        document["spool"] = {"entries": spool.entries, "bytes": spool.bytes}
    return document


def render(stats: dict[str, Any]) -> str:
    entries, usage = stats["entries"], stats["usage"]
    cost, budget = stats["monthly_cost_estimate"], stats["budget"]
    systems = sorted({*entries["accepted"], *entries["refused"]})
    lines = [f"store      {stats['store']}", "", "system     accepted  queued  refused"]
    for system in systems:
        refused = entries["refused"].get(system, {})
        reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(refused.items()))
        lines.append(
            f"{system:<10} {entries['accepted'].get(system, 0):>8}  "
            f"{entries['queued'].get(system, 0):>6}  {sum(refused.values()):>7}"
            + (f"  ({reasons})" if reasons else "")
        )
    per_entry = usage["commands_per_stored_entry"]
    lines += [
        "",
        f"commands   {usage['commands']}"
        + (f"  ({per_entry} per stored entry)" if per_entry is not None else ""),
        f"bytes      {usage['bytes_sent']} sent, {usage['bytes_stored']} stored",
        f"last hour  {stats['last_hour']['commands']} commands "
        f"(measured over {stats['last_hour']['hours_measured']:.2f} h)",
        f"per month  {month_line(cost)}",
    ]
    if budget["max_commands_per_day"] is not None:
        state = (
            "SPENT, ingest and reads refused"
            if budget["spent"]
            else "ingest refused, reads on the reserve"
            if budget["exhausted"]
            else "ok"
        )
        lines.append(
            f"budget     {budget['used_today']} of {budget['max_commands_per_day']} commands "
            f"today ({state}; resets {budget['resets_at']})"
        )
    if "spool" in stats:
        lines.append(f"spool      {stats['spool']['entries']} entries waiting")
    return "\n".join(lines)


def month_line(cost: dict[str, Any]) -> str:
    """The monthly estimate as a person should read it: no figure from a few seconds alone."""
    figure = (
        f"~${cost['total_usd']:.2f}: {cost['commands']} commands ${cost['commands_usd']:.2f} + "
        f"{cost['stored_gb']:.4f} GB ${cost['storage_usd']:.2f}"
    )
    if cost.get("capped_by"):
        figure = f"at most {figure} (the {cost['capped_by']})"
    if cost.get("status") == "measuring":
        return (
            f"measuring ({cost['measured_minutes']:.0f} of {cost['minimum_minutes']:.0f} min "
            f"needed); {figure}"
        )
    return figure
