"""``tracesink stats`` shows the pins /stats reports, and leaves them out when it has none."""

from __future__ import annotations

from tests.unit.accounting.test_report import document
from tracesink.accounting.report import render


def test_the_pins_line_shows_count_bytes_and_monthly_cost() -> None:
    """count of max, bytes of max, and the storage cost a month."""
    stats = document()
    stats["pins"] = {
        "count": 2,
        "bytes": 4096,
        "max_pins": 100,
        "max_bytes": 67108864,
        "storage_usd_month": 0.000001,
        "traces": [],
    }
    assert "pins       2 of 100, 4096 of 67108864 bytes (~$0.0000 a month stored)" in render(stats)


def test_no_pins_line_when_the_store_could_not_say() -> None:
    """/stats answered without the store (it was away): no pins line, the rest as ever."""
    stats = document()
    stats["pins"] = {"error": "store unavailable"}
    assert "pins" not in render(stats)
