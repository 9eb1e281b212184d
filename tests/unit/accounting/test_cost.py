"""The monthly cost projection, as pure arithmetic."""

from __future__ import annotations

import pytest

from tracesink.accounting.cost import Prices, project_month


def test_an_hour_of_commands_projects_to_a_month() -> None:
    """100k commands in an hour: 72M a month, $144 at $0.20 per 100k."""
    month = project_month(100_000, 0, 1.0, 3600, Prices())
    assert month.commands_per_month == 72_000_000
    assert month.commands_usd == pytest.approx(144.0)


def test_storage_is_one_ttl_of_what_is_written_per_hour() -> None:
    """1 GB written per hour, kept 2 hours: 2 GB held, $0.50 a month at $0.25 per GB-month."""
    month = project_month(0, 1_000_000_000, 1.0, 7200, Prices())
    assert month.stored_gb == pytest.approx(2.0)
    assert month.storage_usd == pytest.approx(0.5)
    assert month.total_usd == pytest.approx(0.5)


def test_a_short_measurement_is_scaled_to_an_hour() -> None:
    """10 minutes measured count six times over."""
    assert project_month(1000, 0, 1 / 6, 3600, Prices()).commands_per_month == 6000 * 720
