"""What the store costs per month at a hosted Redis's prices, projected from recent spending.

Pure arithmetic: billed commands scale with traffic; storage is billed per GB-month, and with a
TTL the steady state holds about one TTL's worth of what is stored per hour.
"""

from __future__ import annotations

from dataclasses import dataclass

HOURS_PER_MONTH = 24 * 30
BYTES_PER_GB = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Prices:
    per_100k_commands: float = 0.20
    per_gb_month: float = 0.25


@dataclass(frozen=True, slots=True)
class MonthlyCost:
    commands_per_month: int
    stored_gb: float
    commands_usd: float
    storage_usd: float

    @property
    def total_usd(self) -> float:
        return self.commands_usd + self.storage_usd


def project_month(
    commands: int, bytes_stored: int, hours: float, ttl_s: int, prices: Prices
) -> MonthlyCost:
    """The month ahead if the ``hours`` just measured (``commands`` spent, ``bytes_stored``
    written) repeat; ``hours`` below one is scaled up to an hour."""
    per_hour = 1 / max(hours, 1e-9)
    commands_per_month = round(commands * per_hour * HOURS_PER_MONTH)
    stored_gb = bytes_stored * per_hour * (ttl_s / 3600) / BYTES_PER_GB
    return MonthlyCost(
        commands_per_month=commands_per_month,
        stored_gb=stored_gb,
        commands_usd=commands_per_month / 100_000 * prices.per_100k_commands,
        storage_usd=stored_gb * prices.per_gb_month,
    )


# A month projected from less than this is noise (three entries in a second are not a rate).
MIN_SAMPLE_HOURS = 0.25
# The most one admitted entry costs (docs/keys.md): a batch of one, the first of its window and
# of its trace (EVALSHA, two HMGETs, HSET, PEXPIRE of the hash, LPUSH, PEXPIRE of the list), after
# refusals of that trace (LINDEX, LSET). Refusals cost (almost) nothing, so the limits bound the
# spending of ingest at this many commands per admitted entry.
WORST_COMMANDS_PER_ENTRY = 9


@dataclass(frozen=True, slots=True)
class Estimate:
    """A month's cost as /stats states it: ``month`` is the projection, lowered to the ceiling
    the limits (and the daily budget) put on ingest; ``measuring`` while the sample is short."""

    month: MonthlyCost
    measuring: bool
    capped_by: str | None  # "limits", "budget" or None


def estimate_month(
    commands: int,
    bytes_stored: int,
    hours: float,
    ttl_s: int,
    prices: Prices,
    *,
    entries_per_window: int,
    window_s: int,
    max_commands_per_day: int | None,
) -> Estimate:
    """``project_month``, never above what the limits or the budget allow ingest to spend."""
    month = project_month(commands, bytes_stored, hours, ttl_s, prices)
    ceilings = {
        "limits": entries_per_window * HOURS_PER_MONTH * 3600 // window_s * WORST_COMMANDS_PER_ENTRY
    }
    if max_commands_per_day:
        ceilings["budget"] = max_commands_per_day * HOURS_PER_MONTH // 24
    name, ceiling = min(ceilings.items(), key=lambda item: item[1])
    capped_by = None
    if month.commands_per_month > ceiling:
        capped_by = name
        month = MonthlyCost(
            commands_per_month=ceiling,
            stored_gb=month.stored_gb,
            commands_usd=ceiling / 100_000 * prices.per_100k_commands,
            storage_usd=month.storage_usd,
        )
    return Estimate(month, hours < MIN_SAMPLE_HOURS, capped_by)
