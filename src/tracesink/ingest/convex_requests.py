"""Which trace a Convex event without a ``[trace:<id>]`` tag belongs to: its request's.

A Convex function tags its console lines with the trace it serves, but the ``function_execution``
event that reports its failure carries only the ``request_id``. Filed under that id, the failure
would sit alone, away from the logs that explain it. So every tagged line teaches "request id →
trace id"; an untagged event of a known request joins that trace. The lines and the failure
often come in different deliveries, to different instances or workers: what a delivery cannot
resolve on its own is looked up in the store (``Store.traces_of_requests``), and what it teaches
is kept there (``Store.link_requests``), where every instance sees it. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import msgspec

from tracesink.ingest.convex import ConvexEntry, Delivery


def taught(entries: list[ConvexEntry]) -> dict[str, str]:
    """request id → trace id, from the tagged entries (the first tag of a request wins, as a
    function serves one trace)."""
    links: dict[str, str] = {}
    for item in entries:
        if item.tagged and item.request_id is not None and item.entry.trace_id is not None:
            links.setdefault(item.request_id, item.entry.trace_id)
    return links


def unresolved(delivery: Delivery, links: Mapping[str, str]) -> list[str]:
    """The request ids of untagged entries this delivery cannot place by itself."""
    wanted = {
        item.request_id
        for item in delivery.entries
        if not item.tagged and item.request_id is not None and item.request_id not in links
    }
    return sorted(wanted)


def placed(delivery: Delivery, links: Mapping[str, str]) -> None:
    """Move each untagged entry of a known request to that request's trace (in place)."""
    for position, item in enumerate(delivery.entries):
        trace_id = links.get(item.request_id or "") if not item.tagged else None
        if trace_id is not None and trace_id != item.entry.trace_id:
            entry = msgspec.structs.replace(item.entry, trace_id=trace_id)
            delivery.entries[position] = replace(item, entry=entry)
