"""Entry ids: unique across processes, sortable by creation time, so retries can be recognised."""

from __future__ import annotations

import itertools
import secrets

# 12 hex digits of milliseconds (until the year 10889), 8 of a per-process random prefix, 8 of a
# per-process counter: same-width lowercase hex, so string order is time order.
_PROCESS = f"{secrets.randbits(32):08x}"
_COUNTER = itertools.count()


# The time and process part of the latest id: every entry of a request (and of a busy
# millisecond) shares it, so an id is one concatenation and one formatted counter (issue 27:
# ~0.7 -> ~0.35 us). A one-slot cache: ids stay correct whatever order the times come in.
_latest: tuple[int, str] = (-1, "")


def new_id(now_ms: int) -> str:
    global _latest
    ms, prefix = _latest
    if ms != now_ms:
        prefix = f"{now_ms:012x}{_PROCESS}"
        _latest = (now_ms, prefix)
    return prefix + format(next(_COUNTER) & 0xFFFFFFFF, "08x")
