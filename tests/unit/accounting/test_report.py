"""The /stats document and its rendering for a terminal."""

from __future__ import annotations

from tracesink.accounting.budget import CommandBudget
from tracesink.accounting.report import render, stats_document
from tracesink.accounting.telemetry import Telemetry
from tracesink.config import Settings
from tracesink.limits import Decision
from tracesink.model import PreparedEntry
from tracesink.store.base import Usage
from tracesink.store.spooling import SpoolStatus

NOW = 1_795_946_400_000


def document(spool: SpoolStatus | None = None) -> dict[str, object]:
    usage = Usage(commands=70, bytes_sent=1000, bytes_stored=500)
    telemetry = Telemetry(lambda: usage)
    telemetry.record_decisions(
        [PreparedEntry(str(i), "t", "browser", b"{}") for i in range(10)],
        [Decision(None, {})] * 9 + [Decision("trace", {})],
    )
    telemetry.record_refused("manual", "invalid", 2)
    budget = CommandBudget(1000, lambda: usage.commands)
    settings = Settings(max_commands_per_day=1000)
    return stats_document(settings, telemetry, budget, "redis://:****@db:6379/0", spool, NOW)


def test_the_document_counts_entries_commands_and_the_budget() -> None:
    """Accepted and refused by system and reason; commands per stored entry; the store shown as
    its masked URL."""
    stats = document()
    assert stats["store"] == "redis://:****@db:6379/0"
    assert stats["entries"] == {
        "accepted": {"browser": 9},
        "queued": {},
        "refused": {"browser": {"trace": 1}, "manual": {"invalid": 2}},
    }
    assert stats["usage"] == {
        "commands": 70,
        "bytes_sent": 1000,
        "bytes_stored": 500,
        "commands_per_stored_entry": round(70 / 9, 3),
    }
    assert stats["budget"] == {
        "max_commands_per_day": 1000,
        "used_today": 0,
        "ingest_stops_at": 1000,
        "exhausted": False,
        "spent": False,
        "resets_at": "2026-11-30T00:00:00.000Z",
    }
    assert "spool" not in stats


def test_a_spool_is_reported_when_there_is_one() -> None:
    assert document(SpoolStatus(3, 4096))["spool"] == {"entries": 3, "bytes": 4096}


def test_render_prints_one_line_per_system_and_the_cost() -> None:
    """The terminal view: the store, a row per system with its refusals, cost and budget."""
    text = render(document(SpoolStatus(3, 4096)))
    lines = text.splitlines()
    assert lines[0] == "store      redis://:****@db:6379/0"
    assert "browser           9       0        1  (trace 1)" in lines
    assert "manual            0       0        2  (invalid 2)" in lines
    assert any(line.startswith("per month  measuring (0 of 15 min needed); ~$") for line in lines)
    assert any(line.startswith("budget     0 of 1000 commands today (ok;") for line in lines)
    assert lines[-1] == "spool      3 entries waiting"
