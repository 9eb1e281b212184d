"""A bounded memory of recently stored event keys, so that a repeated delivery stores nothing twice.

Convex delivers at least once: a retry resends events that were already stored. A key is
*reserved* while its entry is being stored (so two concurrent copies of one delivery do not both
pass), *kept* once stored, and *released* when storing failed (so the retry may store it).

The limit, stated plainly: this memory is per process and bounded (``max_keys``, ``max_age_s``).
A repeat that reaches another instance behind a load balancer, arrives after a restart, or comes
later than ``max_age_s`` (Convex retries within minutes) is stored again. Exact cross-instance
deduplication needs a mark in the shared store; see docs/sources.md.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

DEFAULT_MAX_KEYS = 100_000  # 32-byte digests: a few MB at most
DEFAULT_MAX_AGE_S = 3600.0


class RecentKeys:
    def __init__(
        self,
        max_keys: int = DEFAULT_MAX_KEYS,
        max_age_s: float = DEFAULT_MAX_AGE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_keys = max_keys
        self._max_age_s = max_age_s
        self._clock = clock
        self._kept: OrderedDict[bytes, float] = OrderedDict()  # key → when kept, oldest first
        self._reserved: set[bytes] = set()

    def __len__(self) -> int:
        return len(self._kept)

    def reserve(self, keys: Iterable[bytes]) -> list[bool]:
        """For each key, True when it is new (and now reserved), False when seen or in flight."""
        self._forget_old()
        fresh: list[bool] = []
        for key in keys:
            new = key not in self._kept and key not in self._reserved
            if new:
                self._reserved.add(key)
            fresh.append(new)
        return fresh

    def keep(self, keys: Iterable[bytes]) -> None:
        """The entries of ``keys`` were stored: remember them."""
        now = self._clock()
        for key in keys:
            self._reserved.discard(key)
            self._kept[key] = now
            self._kept.move_to_end(key)
        while len(self._kept) > self._max_keys:
            self._kept.popitem(last=False)

    def release(self, keys: Iterable[bytes]) -> None:
        """The entries of ``keys`` were not stored: a repeat may store them."""
        for key in keys:
            self._reserved.discard(key)

    def _forget_old(self) -> None:
        horizon = self._clock() - self._max_age_s
        while self._kept and next(iter(self._kept.values())) < horizon:
            self._kept.popitem(last=False)
