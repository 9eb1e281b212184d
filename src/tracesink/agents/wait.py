"""``wait_for_entries``: block until entries arrive, through the live routes, so that an agent
runs something and then reads what it logged without a polling loop of its own.

"New" is counted from a cursor: the ``since`` given (an entry id, or a window such as ``2m`` for
what already ran), else the newest entry id there is at the call. The live route subscribes
before it reads the store, so nothing stored in between is missed (app/live_routes.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio

from tracesink.agents.reader import Reader
from tracesink.agents.render import clock, entry_text
from tracesink.agents.since import since_id
from tracesink.agents.tools import FOOTER_RESERVE, MAX_ANSWER_CHARS, filter_params
from tracesink.errors import ValidationError

WAIT_DEFAULT_S, WAIT_MAX_S = 30.0, 60.0
WAIT_GRACE_S = 0.5  # after the first new entry, what else arrives this soon comes with it
WAIT_MAX_ENTRIES = 500


async def wait_for_entries(
    reader: Reader,
    now_ms: int,
    trace_id: str | None = None,
    level: str | None = None,
    system: str | None = None,
    text: str | None = None,
    since: str | None = None,
    timeout_s: float = WAIT_DEFAULT_S,
) -> str:
    if not 0 < timeout_s <= WAIT_MAX_S:
        raise ValidationError(f"timeout_s must be above 0 and at most {WAIT_MAX_S:g}", "timeout_s")
    if since is None:
        since = await _newest_id(reader, trace_id)
    params = filter_params(level, system, text)
    if since:
        params["since"] = since_id(since, now_ms) or ""
    got: list[dict[str, Any]] = []
    ended = False  # the stream ended before anything came: the service is stopping
    async with reader.live(trace_id, params) as stream:
        with anyio.move_on_after(timeout_s):
            got.extend(await _first(stream))
            ended = not got
        if got:
            with anyio.move_on_after(WAIT_GRACE_S):
                async for entry in stream:
                    got.append(entry)
                    if len(got) >= WAIT_MAX_ENTRIES:
                        break
    scope = f"trace {trace_id}" if trace_id else "any trace"
    where = "".join(f", {k}={v}" for k, v in filter_params(level, system, text).items())
    again = f'trace_id="{trace_id}", ' if trace_id else ""
    if not got:
        cursor = params.get("since")
        resume = f' Wait again with since="{cursor}" to miss nothing.' if cursor else ""
        if ended:
            return f"No new entries in {scope}{where}: the service is stopping.{resume}"
        return f"No new entries in {scope}{where} within {timeout_s:g}s.{resume}"
    lines = [f"{len(got)} new entries in {scope}{where}:"]
    used = len(lines[0]) + FOOTER_RESERVE
    shown: list[dict[str, Any]] = []
    for entry in got:
        text_of = entry_text(entry, clock(entry.get("timestamp")), trace=trace_id is None)
        if shown and used + len(text_of) + 1 > MAX_ANSWER_CHARS:
            break
        lines.append(text_of)
        shown.append(entry)
        used += len(text_of) + 1
    # The cursor is the newest entry SHOWN: waiting again from it returns what was cut.
    newest = max(str(entry.get("id", "")) for entry in shown)
    if len(shown) < len(got):
        lines.append(f"[cut at {MAX_ANSWER_CHARS:,} characters: {len(got) - len(shown)} more]")
    lines.append(f'Wait for more: wait_for_entries({again}since="{newest}", same filters).')
    return "\n".join(lines)


async def _first(stream: AsyncIterator[dict[str, Any]]) -> list[dict[str, Any]]:
    async for entry in stream:
        return [entry]
    return []  # the stream ended (the service is stopping)


async def _newest_id(reader: Reader, trace_id: str | None) -> str | None:
    """The newest entry id there is now: what "new" is counted from."""
    if trace_id is not None:
        document = await reader.trace(trace_id, {})
        return None if document is None else document.get("last_id")
    traces = await reader.traces({"limit": "1"})
    return str(traces[0]["last_id"]) if traces and traces[0].get("last_id") else None
