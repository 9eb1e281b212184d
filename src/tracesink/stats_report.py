"""``tracesink stats``: the figures of a running instance's ``/stats``, for a terminal."""

from __future__ import annotations

from typing import Any

import httpx

from tracesink.errors import TraceSinkError


def fetch_stats(url: str, token: str | None, timeout_s: float = 5.0) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.get(f"{url.rstrip('/')}/stats", headers=headers, timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise TraceSinkError(f"cannot reach tracesink at {url}: {type(exc).__name__}") from None
    if response.status_code == 401:
        raise TraceSinkError(f"{url} wants a read token: set TRACESINK_READ_TOKEN")
    if response.status_code != 200:
        raise TraceSinkError(f"{url}/stats answered {response.status_code}")
    document: dict[str, Any] = response.json()
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
        state = "SPENT, ingest refused" if budget["exhausted"] else "ok"
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
