"""Entry ids: unique across processes, sortable by creation time, so retries can be recognised."""

from __future__ import annotations

import itertools
import os
import secrets

# 12 hex digits of milliseconds (until the year 10889), 8 of a per-process random prefix, 8 of a
# per-process counter: same-width lowercase hex, so string order is time order.
_PROCESS = f"{secrets.randbits(32):08x}"
_COUNTER = itertools.count()


def _new_process() -> None:
    """A forked process (a worker of `serve --workers N`) draws a prefix of its own: with its
    parent's copied, two workers gave two entries the same id in the same millisecond."""
    global _PROCESS, _COUNTER
    _PROCESS = f"{secrets.randbits(32):08x}"
    _COUNTER = itertools.count()


os.register_at_fork(after_in_child=_new_process)


def new_id(now_ms: int) -> str:
    return f"{now_ms:012x}{_PROCESS}{next(_COUNTER) & 0xFFFFFFFF:08x}"
