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
