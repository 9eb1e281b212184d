"""Pins: what a store keeps about pinned traces, the same on every store (docs/keys.md).

A pin keeps a trace past the TTL until its end (or until it is unpinned). Pins are bounded by
``PinBounds``: a count and the bytes of the pinned traces, measured when each was pinned (a
pinned trace may grow afterwards, within ``TRACESINK_MAX_TRACE_ENTRIES`` items). The Redis
stores keep them in ``pin:{trace_id}`` (the end) and ``pins:{tracesink}`` (a hash: trace id →
``<until>:<bytes>:<pinned at>``), both written by ``pin.lua``; ``MemoryStore`` in a dict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from tracesink.times import iso_ms


@dataclass(frozen=True, slots=True)
class PinBounds:
    max_pins: int
    max_bytes: int


@dataclass(frozen=True, slots=True)
class Pin:
    trace_id: str
    until_ms: int
    bytes: int  # the trace's list items, added up when it was pinned
    pinned_at_ms: int

    def document(self) -> dict[str, object]:
        return {
            "trace_id": self.trace_id,
            "pinned_until": iso_ms(self.until_ms),
            "pinned_at": iso_ms(self.pinned_at_ms),
            "bytes": self.bytes,
        }


class PinStatus(Enum):
    PINNED = "pinned"
    NO_TRACE = "no_trace"  # nothing to pin: never written, or expired
    TOO_MANY = "too_many"  # refused: max_pins pins are held
    TOO_LARGE = "too_large"  # refused: the pins' bytes would pass max_bytes


@dataclass(frozen=True, slots=True)
class PinOutcome:
    status: PinStatus
    bytes: int = 0  # the trace's bytes (PINNED, TOO_LARGE)
    held: int = 0  # pins held (TOO_MANY) or their bytes (TOO_LARGE), this trace's pin excepted
    expires_at_ms: int = 0  # the list's expiry now (PINNED)


def index_value(pin: Pin) -> bytes:
    return f"{pin.until_ms}:{pin.bytes}:{pin.pinned_at_ms}".encode()


def parse_index(pairs: Sequence[tuple[bytes, bytes]], now_ms: int) -> list[Pin]:
    """The live pins of the ``pins:`` hash, the one ending last first; a malformed value (another
    version's) is skipped, an expired pin left out (pin.lua removes it at the next pin)."""
    pins = []
    for name, value in pairs:
        parts = value.split(b":")
        if len(parts) != 3 or not all(p.isdigit() for p in parts):
            continue
        until, size, at = map(int, parts)
        if until > now_ms:
            pins.append(Pin(name.decode(), until, size, at))
    pins.sort(key=lambda p: (p.until_ms, p.trace_id), reverse=True)
    return pins
