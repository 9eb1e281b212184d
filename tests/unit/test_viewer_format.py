"""The viewer's pure rules (static/viewer/format.js), run in node: event order as the API tells
it, where a live arrival goes, how times are written, and one stable colour per system."""

from __future__ import annotations

import json
import shutil
import subprocess
from importlib.resources import files
from typing import Any

import pytest

FORMAT = files("tracesink") / "static" / "viewer" / "format.js"

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


def run(expression: str) -> Any:
    """The JSON value of ``expression``, evaluated in node with format.js imported as ``f``."""
    script = (
        f"import * as f from {json.dumps(str(FORMAT))};\nconsole.log(JSON.stringify({expression}));"
    )
    done = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(done.stdout)


def at(second: int) -> str:
    return f"2026-12-06T10:00:{second:02d}.000Z"


def test_event_order_keeps_arrival_for_ties_and_places_gaps_and_placeholders() -> None:
    """Entries sort by timestamp, ties keep arrival order; a drop marker sits at its first
    refusal; an item without a time (undecodable) stays after the item that arrived before it."""
    items = [
        {"message": "c", "timestamp": at(3)},
        {"kind": "undecodable", "message": "?"},
        {"message": "a", "timestamp": at(1)},
        {"kind": "dropped", "first": at(2), "last": at(5)},
        {"message": "b1", "timestamp": at(2)},
        {"message": "b2", "timestamp": at(2)},
    ]
    order = run(f"f.inEventOrder({json.dumps(items)}).map(i => i.message || i.kind)")
    assert order == ["a", "dropped", "b1", "b2", "c", "?"]


def test_a_live_arrival_goes_after_every_item_not_later() -> None:
    """A late arrival with an early time is inserted where it happened, after its equals; one
    without a time goes at the end, where it arrived."""
    shown = [{"timestamp": at(1)}, {"timestamp": at(2)}, {"timestamp": at(4)}]
    early = {"timestamp": at(2)}
    timeless = {"kind": "undecodable"}
    assert run(f"f.insertionIndex({json.dumps(shown)}, {json.dumps(early)})") == 2
    assert run(f"f.insertionIndex({json.dumps(shown)}, {json.dumps(timeless)})") == 3
    assert run(f"f.insertionIndex({json.dumps(shown)}, {{timestamp: '{at(0)}'}})") == 0


def test_times_are_written_relative_wall_and_as_corrections() -> None:
    """+0.655 s beside 10:00:01.000; past 1,000 s the unit grows; a correction is signed."""
    assert run(
        "[f.relative(0), f.relative(655), f.relative(-500), f.relative(7_500_000),"
        f" f.wallClock('{at(1)}'), f.correction(5012), f.correction(-4990), f.duration(4521)]"
    ) == [
        "+0.000 s",
        "+0.655 s",
        "-0.500 s",
        "+2 h 5 min",
        "10:00:01.000",
        "clock +5.012 s corrected",
        "clock -4.990 s corrected",
        "4.521 s",
    ]


def test_each_system_keeps_one_colour_and_custom_ones_never_take_a_built_in_slot() -> None:
    """Built-in systems own slots 0-4; any other name hashes (stably) onto 5-11."""
    built_in = run("['browser', 'worker', 'convex', 'python', 'manual'].map(f.colourSlot)")
    assert built_in == [0, 1, 2, 3, 4]
    names = [f"svc-{i}" for i in range(200)]
    slots = run(f"{json.dumps(names)}.map(f.colourSlot)")
    assert set(slots) == set(range(5, 12))  # custom names spread over every custom slot
    assert run(f"{json.dumps(names)}.map(f.colourSlot)") == slots  # stable between runs
