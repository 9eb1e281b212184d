"""Entry ids: unique across processes, sortable by creation time, so retries can be recognised."""

from __future__ import annotations

import itertools
import os
import secrets

# 12 hex digits of milliseconds (until the year 10889), 8 of a per-process random prefix, 8 of a
# per-process counter: same-width lowercase hex, so string order is time order.
_PROCESS = f"{secrets.randbits(32):08x}"
_COUNTER = itertools.count()


# The time and process part of the latest id: every entry of a request (and of a busy
# millisecond) shares it, so an id is one concatenation and one formatted counter (issue 27:
# ~0.7 -> ~0.35 us). A one-slot cache: ids stay correct whatever order the times come in.
_latest: tuple[int, str] = (-1, "")


def _new_process() -> None:
    """A forked process (a worker of `serve --workers N`) draws a prefix of its own: with its
    parent's copied, two workers gave two entries the same id in the same millisecond. The
    cached time prefix holds the parent's too: it goes with it."""
    global _PROCESS, _COUNTER, _latest
    _PROCESS = f"{secrets.randbits(32):08x}"
    _COUNTER = itertools.count()
    _latest = (-1, "")


os.register_at_fork(after_in_child=_new_process)


def new_id(now_ms: int) -> str:
    global _latest
    ms, prefix = _latest
    if ms != now_ms:
        prefix = f"{now_ms:012x}{_PROCESS}"
        _latest = (now_ms, prefix)
    # 8 hex digits as the tail of a 9-digit number's hex: hex() parses no format spec
    # (~0.85 -> ~0.6 us by timeit against format(n, "08x")).
    return prefix + hex(next(_COUNTER) & 0xFFFFFFFF | 0x100000000)[3:]
