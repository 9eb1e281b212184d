"""Entry ids: unique across processes, sortable by creation time, so retries can be recognised."""

from __future__ import annotations

import itertools
import os
import secrets

# 12 hex digits of milliseconds (until the year 10889), 8 of a per-process random prefix, 8 of a
# per-process counter: same-width lowercase hex, so string order is time order.
_PROCESS = f"{secrets.randbits(32):08x}"
_COUNTER = itertools.count()


# The latest id's head: its time and process part and the counter's first six hex digits. Every
# entry of a request (and of a busy millisecond) shares it, so an id is a lookup of its last two
# digits and one concatenation: formatting a number costs ~2,500 instructions however it is
# done (format(), %, hex(); callgrind, issue 27), paid now once per millisecond and per 256 ids.
# A one-slot cache: ids stay correct whatever order the times come in.
_latest: tuple[int, int, str] = (-1, -1, "")
_LAST_DIGITS = [f"{low:02x}" for low in range(256)]


def _new_process() -> None:
    """A forked process (a worker of `serve --workers N`) draws a prefix of its own: with its
    parent's copied, two workers gave two entries the same id in the same millisecond. The
    cached head holds the parent's too: it goes with it."""
    global _PROCESS, _COUNTER, _latest
    _PROCESS = f"{secrets.randbits(32):08x}"
    _COUNTER = itertools.count()
    _latest = (-1, -1, "")


os.register_at_fork(after_in_child=_new_process)


def new_id(now_ms: int) -> str:
    global _latest
    count = next(_COUNTER) & 0xFFFFFFFF
    ms, high, head = _latest
    if ms != now_ms or high != count >> 8:
        head = f"{now_ms:012x}{_PROCESS}{count >> 8:06x}"
        _latest = (now_ms, count >> 8, head)
    return head + _LAST_DIGITS[count & 0xFF]
