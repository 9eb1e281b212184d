"""``/stats``'s ``pins``: what pinned traces hold and cost (docs/cost.md)."""

from __future__ import annotations

from typing import Any

from tracesink.app.state import AppState
from tracesink.errors import BudgetSpent, ReadsBusy, StorageError


async def pin_stats(state: AppState) -> dict[str, Any]:
    """``/stats``'s ``pins``: how many, their bytes, the bounds, and what they cost to keep a
    month at the configured price (docs/cost.md): one HGETALL."""
    settings, pipeline = state.settings, state.pipeline
    try:
        pins = await pipeline.store.pins(pipeline.now_ms())
    except (StorageError, BudgetSpent, ReadsBusy) as exc:
        # The rest of /stats is this instance's own: still worth answering (the budget's state
        # above all, when it is what refused).
        return {"error": str(exc) if not isinstance(exc, StorageError) else "store unavailable"}
    held = sum(p.bytes for p in pins)
    return {
        "count": len(pins),
        "bytes": held,
        "max_pins": settings.max_pins,
        "max_bytes": settings.max_pin_bytes,
        "storage_usd_month": round(held / 1e9 * settings.price_per_gb_month, 6),
        "traces": [p.document() for p in pins],
    }
