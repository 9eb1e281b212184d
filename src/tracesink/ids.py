"""Entry ids: unique across processes, sortable by creation time, so retries can be recognised."""

from __future__ import annotations

import itertools
import secrets

# 12 hex digits of milliseconds (until the year 10889), 8 of a per-process random prefix, 8 of a
# per-process counter: same-width lowercase hex, so string order is time order.
_PROCESS = f"{secrets.randbits(32):08x}"
_COUNTER = itertools.count()


def new_id(now_ms: int) -> str:
    return f"{now_ms:012x}{_PROCESS}{next(_COUNTER) & 0xFFFFFFFF:08x}"
