"""Every Redis key tracesink names, built in one place: the grammar of docs/keys.md.

A key is ``<prefix><kind>{<tag>}<tail>`` (the braces literal): the deployment's prefix
(``TRACESINK_KEY_PREFIX``), a kind literal from ``KINDS``, the variable part in braces (the Redis
Cluster hash tag), then a tail some kinds have (``:<window>``). The key is unambiguous whatever
the prefix and the trace id, because neither a prefix nor a kind nor a tag may contain a brace:
the text before the first ``{`` is the prefix followed by the kind, and since no kind is a suffix
of another (checked below), only one (prefix, kind) pair can spell it; the tag runs to the next
``}``, and what follows is the kind's own tail. Two deployments whose prefixes overlap (``kp:``
and ``kp:logs:``) therefore never name the same key (tests/unit/store/test_keys.py proves it).

The braces double as hash tags: a trace's list is placed (on a Cluster) by its trace id, so a
per-trace key of a later issue (a pin) shares its slot; the counter hashes and the day key one
script call touches all carry the tag ``tracesink``, so they share one slot.

The Lua scripts never build a key: they get every key in KEYS (as a Cluster requires), and
``trace_lead(prefix)`` to read a trace id back out of its list's key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tracesink.rules import KEY_KINDS, KEY_PREFIX, MESSAGES, RELEASE, SHARED_TAG

# The literals are rules.json's (the edge Worker builds the same keys from the same file).
# The prefix's characters are a trace id's: no brace, so it cannot end a kind or open a tag.
PREFIX = KEY_PREFIX
PREFIX_RULE = MESSAGES["setting_key_prefix"]

TRACE = KEY_KINDS["trace"]  # LIST  a trace's entries and drop markers, newest first; tag: trace id
COUNTERS = KEY_KINDS["counters"]  # HASH  one fixed window's counters; tag SHARED, tail :{window}
DAY = KEY_KINDS["day"]  # STRING  the day's shared command count; tag SHARED, tail :{day}
REQUESTS = KEY_KINDS["requests"]  # HASH  Convex request id -> trace id, one per window; tag SHARED
SHARED = SHARED_TAG  # the tag of every key one script call touches besides the trace lists
PIN = KEY_KINDS["pin"]  # STRING  a pinned trace's pin end (ms); tag: the trace id (its list's slot)
PINS = KEY_KINDS["pins"]  # HASH  every pin: trace id -> until:bytes:pinned at; tag SHARED
# Source maps (sourcemaps/storage.py): a release's index, its maps' chunks, the releases kept.
MAPS = KEY_KINDS["maps"]  # HASH  a release's index of source maps; tag: the release
MAP = KEY_KINDS[
    "map"
]  # STRING  a chunk of a source map body; tag: the release, tail :{map}:{chunk}
RELEASES = KEY_KINDS["releases"]  # ZSET  releases with maps, by upload time; tag SHARED

_TRACE_ID = r"[A-Za-z0-9._:-]{1,128}"
_NUMBER = r"-?[0-9]+"
_RELEASE = RELEASE.pattern  # an entry's release, as rules.json spells it
# kind -> (what its tag may be, what its tail may be), as regular expressions.
KINDS: dict[str, tuple[str, str]] = {
    TRACE: (_TRACE_ID, ""),
    COUNTERS: (SHARED, f":{_NUMBER}"),
    DAY: (SHARED, f":{_NUMBER}"),
    PIN: (_TRACE_ID, ""),
    PINS: (SHARED, ""),
    MAPS: (_RELEASE, ""),
    MAP: (_RELEASE, f":[0-9a-f]{{1,64}}:{_NUMBER}"),
    REQUESTS: (SHARED, f":{_NUMBER}"),
    RELEASES: (SHARED, ""),
}
IN_USE = (TRACE, COUNTERS, DAY, REQUESTS, PIN, PINS, MAPS, MAP, RELEASES)  # the kinds written

assert not any(a != b and a.endswith(b) for a in KINDS for b in KINDS), "a kind ends another"
assert not any(c in "{}" for kind in KINDS for c in kind), "a kind holds a brace"


def trace_key(prefix: str, trace_id: str) -> str:
    return f"{prefix}{TRACE}{{{trace_id}}}"


def counters_key(prefix: str, window: int) -> str:
    """The counter hash of fixed window ``window`` (``now_ms // window_ms``)."""
    return f"{prefix}{COUNTERS}{{{SHARED}}}:{window}"


def day_key(prefix: str, day: int) -> str:
    """The day's shared command count, carried over a window without writes."""
    return f"{prefix}{DAY}{{{SHARED}}}:{day}"


def requests_key(prefix: str, window: int) -> str:
    """Window ``window``'s map of Convex request ids to the trace ids their lines named."""
    return f"{prefix}{REQUESTS}{{{SHARED}}}:{window}"


def pin_key(prefix: str, trace_id: str) -> str:
    """The end of a trace's pin: beside its list, in its Cluster slot."""
    return f"{prefix}{PIN}{{{trace_id}}}"


def pins_key(prefix: str) -> str:
    """The index of every pin, for their bounds, /traces and /stats."""
    return f"{prefix}{PINS}{{{SHARED}}}"


def maps_key(prefix: str, release: str) -> str:
    """A release's index of source maps: file name -> the map's record (sourcemaps/storage.py)."""
    return f"{prefix}{MAPS}{{{release}}}"


def map_chunk_key(prefix: str, release: str, map_id: str, chunk: int) -> str:
    """Chunk ``chunk`` of map ``map_id`` (a hex content hash) of ``release``."""
    return f"{prefix}{MAP}{{{release}}}:{map_id}:{chunk}"


def releases_key(prefix: str) -> str:
    """The releases that have maps, scored by their last upload: the oldest beyond the cap go."""
    return f"{prefix}{RELEASES}{{{SHARED}}}"


def trace_lead(prefix: str) -> str:
    """What a trace's list key holds before its trace id (the scripts' ARGV): the id is the
    text between it and the closing brace."""
    return f"{prefix}{TRACE}{{"


def trace_of(prefix: str, key: str) -> str:
    """The trace id of a list key built by ``trace_key(prefix, …)``."""
    return key[len(prefix) + len(TRACE) + 1 : -1]


def trace_keys(prefix: str, trace_ids: Iterable[str]) -> list[str]:
    """``trace_key`` of each trace, in one pass: a write step builds one per trace it holds,
    and two calls each were ~0.3 us an entry on single entries (issue 27)."""
    lead = trace_lead(prefix)
    return [f"{lead}{trace_id}}}" for trace_id in trace_ids]


def traces_of(prefix: str, keys: Iterable[str]) -> list[str]:
    """``trace_of`` of each key, in one pass (a call per key was ~0.15 us an entry)."""
    start = len(prefix) + len(TRACE) + 1
    return [key[start:-1] for key in keys]


def key_pattern(prefix: str, kinds: tuple[str, ...] = IN_USE) -> re.Pattern[str]:
    """Every key of ``kinds`` under ``prefix``, and nothing else: the fuzz test's allow-list."""
    shapes = "|".join(
        f"{re.escape(kind)}\\{{(?:{tag})\\}}{tail}"
        for kind, (tag, tail) in KINDS.items()
        if kind in kinds
    )
    return re.compile(f"{re.escape(prefix)}(?:{shapes})")


def parse(key: str) -> tuple[str, str, str, str]:
    """(prefix, kind, tag, tail) of a key of this layout; ValueError for any other string.

    The proof of unambiguity as code: each step is forced (see the module docstring)."""
    head, brace, rest = key.partition("{")
    tag, closing, tail = rest.partition("}")
    kinds = [kind for kind in KINDS if head.endswith(kind)]
    if not brace or not closing or len(kinds) != 1:
        raise ValueError(f"not a tracesink key: {key!r}")
    kind = kinds[0]
    prefix = head[: -len(kind)]
    tag_rule, tail_rule = KINDS[kind]
    if not (
        PREFIX.fullmatch(prefix) and re.fullmatch(tag_rule, tag) and re.fullmatch(tail_rule, tail)
    ):
        raise ValueError(f"not a tracesink key: {key!r}")
    return prefix, kind, tag, tail
