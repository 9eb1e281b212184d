"""Live reads as server-sent events: ``GET /logs/{trace_id}/live`` and ``GET /live``.

Each event is one stored entry: ``id:`` its entry id, ``data:`` its JSON. The stream takes the
read filters (``level``, ``system``, ``q``) and starts after a cursor: the ``Last-Event-ID``
header a reconnecting ``EventSource`` sends, else ``?since=<entry id>``; without one, a trace's
stream replays the whole trace first and the every-trace stream starts now.

Subscribe first, then read the store: an entry stored in between is in the read or reaches the
subscription, never neither. Events are deduplicated per connection by id: a trace's stream never
repeats an entry its replay read held; the every-trace stream sends ids above its cursor once.
How entries reach the feed, and what that costs per store: ``live.py`` and ``live_poll.py``.

With ``?resolve=1`` an entry with a stack carries ``resolved``, its frames through its release's
source maps, as ``GET /logs/{trace_id}?resolve=1`` gives them (the viewer and ``tracesink tail``
ask for it): one encode per such entry; an entry without a stack is sent as stored.

Events go in arrival order (replay included), not event time: an entry that arrives late with an
early time is sent when it arrives, and the client places it by its ``timestamp``. The cursor is
an arrival id, so a resume never skips such an entry (read_order.py, docs/http-api.md "Order").
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncGenerator, Iterable
from typing import Any

import msgspec

from tracesink.app.http import Request, Response, error_response
from tracesink.app.read_query import entry_filter, since_of
from tracesink.app.read_routes import TRACE_PATH_PREFIX, get_trace, trace_id_of
from tracesink.app.state import AppState
from tracesink.app.streaming import SSE_HEADERS, StreamingResponse, sse_event, sse_json
from tracesink.live import Subscription
from tracesink.read_filter import EntryFilter
from tracesink.sourcemaps.resolve import Resolver
from tracesink.store.items import decode_items, is_entry, one_line

LIVE_SUFFIX = "/live"
KEEP_ALIVE_S = 15.0  # a comment line this often keeps proxies from closing an idle stream
RETRY_MS = 1000  # how soon an EventSource reconnects after the stream ends
RESUME_TRACES = 50  # the every-trace stream's resume looks at this many recent traces
SENT_REMEMBERED = 10_000
START_MARGIN_MS = 1000


class SentIds:
    """Ids a connection has sent or must not send, bounded (oldest forgotten first)."""

    def __init__(self, ids: Iterable[str] = ()) -> None:
        self._order: deque[str] = deque()
        self._set: set[str] = set()
        for entry_id in ids:
            self.add(entry_id)

    def __contains__(self, entry_id: str) -> bool:
        return entry_id in self._set

    def add(self, entry_id: str) -> None:
        if entry_id in self._set:
            return
        self._order.append(entry_id)
        self._set.add(entry_id)
        if len(self._order) > SENT_REMEMBERED:
            self._set.discard(self._order.popleft())


def _cursor(request: Request) -> str | None:
    header = request.headers.get("last-event-id")
    if header:
        return since_of(header.strip(), "Last-Event-ID")
    return since_of(request.query("since"))


def _resolver(state: AppState, request: Request) -> Resolver | None:
    return state.sourcemaps.resolver if request.query("resolve") in ("1", "true") else None


async def _event_data(raw: bytes, item: dict[str, Any] | None, resolver: Resolver | None) -> bytes:
    """An entry's event data: as stored (one line), or with its stack resolved when asked."""
    if resolver is not None and b'"stack"' in raw:  # no decode for the entries without one
        item = item if item is not None else decode_items([raw])[0]
        if isinstance(item.get("stack"), str) and is_entry(item):
            await resolver.resolve_entries([item])
            return msgspec.json.encode(item)
    return raw if item is None else one_line(raw, item)


def _subscribe(state: AppState, trace_id: str | None) -> Subscription | Response:
    pipeline = state.pipeline
    subscription = pipeline.live.subscribe(trace_id)
    if subscription is None:
        return error_response(
            503,
            f"this instance serves {pipeline.live.max_subscribers} live streams already",
            headers=[(b"retry-after", b"5")],
        )
    if pipeline.watcher is not None:
        pipeline.watcher.wake()
    return subscription


async def get_trace_live(state: AppState, request: Request) -> Response:
    trace_id = trace_id_of(request.path[: -len(LIVE_SUFFIX)])
    wanted, cursor = entry_filter(request), _cursor(request)
    subscribed = _subscribe(state, trace_id)
    if isinstance(subscribed, Response):
        return subscribed
    try:
        pipeline = state.pipeline
        record = await pipeline.store.read_trace(trace_id, pipeline.now_ms())
    except BaseException:
        subscribed.cancel()
        raise
    raw = record.items if record is not None else []
    # Entries only: a marker is no event, and a placeholder has no id to resume from (GET
    # /logs/{trace_id} shows it); the stream goes on past both.
    items = [(r, i) for r, i in zip(raw, decode_items(raw), strict=True) if is_entry(i)]
    known = SentIds(str(item.get("id", "")) for _, item in items)
    replay_filter = EntryFilter(wanted.level, wanted.systems, wanted.text, cursor)
    replay = [(r, i) for r, i in items if replay_filter.matches(i)]
    body = _stream(subscribed, replay, wanted, known, "", _resolver(state, request))
    return StreamingResponse(200, body, request, SSE_HEADERS)


async def get_live(state: AppState, request: Request) -> Response:
    wanted = entry_filter(request)
    pipeline = state.pipeline
    # Without a cursor: from a second ago, so an entry whose id was taken just before this
    # connection but stored after it is not skipped.
    cursor = _cursor(request) or f"{max(0, pipeline.now_ms() - START_MARGIN_MS):012x}"
    subscribed = _subscribe(state, None)
    if isinstance(subscribed, Response):
        return subscribed
    replay: list[tuple[bytes, dict[str, Any]]] = []
    try:
        if request.headers.get("last-event-id") or request.query("since"):
            replay = await _recent_after(state, cursor, wanted)
    except BaseException:
        subscribed.cancel()
        raise
    known = SentIds(str(item["id"]) for _, item in replay)
    body = _stream(subscribed, replay, wanted, known, cursor, _resolver(state, request))
    return StreamingResponse(200, body, request, SSE_HEADERS)


async def _recent_after(
    state: AppState, cursor: str, wanted: EntryFilter
) -> list[tuple[bytes, dict[str, Any]]]:
    """Entries of the recent traces with ids above ``cursor``, oldest id first."""
    pipeline = state.pipeline
    now_ms = pipeline.now_ms()
    after = EntryFilter(wanted.level, wanted.systems, wanted.text, cursor)
    found: list[tuple[bytes, dict[str, Any]]] = []
    for summary in await pipeline.store.recent_traces(RESUME_TRACES, now_ms):
        if (summary.last_id or "") <= cursor:
            continue
        record = await pipeline.store.read_trace(summary.trace_id, now_ms)
        if record is None:
            continue
        found.extend(
            (r, i)
            for r, i in zip(record.items, decode_items(record.items), strict=True)
            if is_entry(i) and after.matches(i)
        )
    found.sort(key=lambda pair: str(pair[1]["id"]))
    return found


async def _stream(
    subscription: Subscription,
    replay: list[tuple[bytes, dict[str, Any]]],
    wanted: EntryFilter,
    known: SentIds,
    floor: str,
    resolver: Resolver | None,
) -> AsyncGenerator[bytes, None]:
    try:
        yield f"retry: {RETRY_MS}\n\n".encode()
        for raw, item in replay:
            yield sse_event(await _event_data(raw, item, resolver), str(item.get("id", "")))
        yield sse_json("ready", {"replayed": len(replay)})
        while True:
            batch = await subscription.next_batch(KEEP_ALIVE_S)
            if batch is None:
                break
            if not batch:
                yield b": keep-alive\n\n"
                continue
            chunks = []
            for entry in batch:
                if entry.id <= floor or entry.id in known:
                    continue
                known.add(entry.id)
                decoded = None if wanted.is_empty else decode_items([entry.payload])[0]
                if decoded is None or wanted.matches(decoded):
                    data = await _event_data(entry.payload, decoded, resolver)
                    chunks.append(sse_event(data, entry.id))
            if chunks:
                yield b"".join(chunks)
        if subscription.lagged:
            yield sse_json("lagged", {"error": "this stream fell behind; reconnect to resume"})
    finally:
        subscription.cancel()


async def get_trace_or_live(state: AppState, request: Request) -> Response:
    """``/logs/{trace_id}`` and ``/logs/{trace_id}/live`` (a trace id never holds a ``/``, and
    ``/logs/live`` is the trace named ``live``)."""
    rest = request.path[len(TRACE_PATH_PREFIX) :]
    if rest.endswith(LIVE_SUFFIX) and rest.count("/") == 1:
        return await get_trace_live(state, request)
    return await get_trace(state, request)
