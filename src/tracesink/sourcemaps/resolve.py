"""Stacks made readable when a trace is read: each frame through its release's map.

Nothing happens at ingest (an entry keeps its raw ``stack`` and its ``release``); a read with
``resolve`` adds ``resolved`` to each entry with a stack: per frame the original file, line,
column, function and source line, or why it stayed as it was. Matching is by release and file
name (the bundle URL without its query or hash, as ``~/path`` for any host or as the full URL):
see docs/browser.md for exactly what that promises when a bundle is rebuilt.

Parsed maps are cached by (release, map id), bounded by their bytes; a release's index for a
few seconds (another instance's upload shows within ``INDEX_FRESH_S``).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit

from tracesink.ingest.validate import RELEASE
from tracesink.sourcemaps.parsed import MapError, ParsedMap
from tracesink.sourcemaps.record import MapRecord
from tracesink.sourcemaps.stack import Frame, parse_stack

CACHE_BYTES = 64 * 1024 * 1024  # parsed maps kept in memory (ParsedMap.size: their arrays, sources)
INDEX_FRESH_S = 5.0
MAX_FRAMES = 2000  # per read: a bound on the work one request can ask for
MAX_FETCHES = 8  # maps read from the store (and parsed) per read, the rest cached
MAX_RELEASES = 16  # release indexes read from the store per read


class Budget:
    """What one read may still spend: frames resolved, maps fetched."""

    def __init__(
        self, frames: int = MAX_FRAMES, fetches: int = MAX_FETCHES, releases: int = MAX_RELEASES
    ) -> None:
        self.frames = frames
        self.fetches = fetches
        self.releases = releases


class MapSource(Protocol):
    async def index(self, release: str) -> dict[str, MapRecord]: ...

    async def body(self, release: str, record: MapRecord) -> bytes | None: ...


def candidates(url: str) -> list[str]:
    """The names a frame's bundle URL may have been uploaded under: the URL without query or
    hash, and ``~/path`` (any host)."""
    parts = urlsplit(url)
    bare = parts._replace(query="", fragment="").geturl()
    names = [bare]
    if parts.scheme and parts.path:
        names.append("~" + parts.path)
    return names


class MapCache:
    def __init__(self, max_bytes: int = CACHE_BYTES) -> None:
        self._maps: OrderedDict[tuple[str, str], ParsedMap | MapError] = OrderedDict()
        self._bytes = 0
        self._max = max_bytes

    def get(self, key: tuple[str, str]) -> ParsedMap | MapError | None:
        found = self._maps.get(key)
        if found is not None:
            self._maps.move_to_end(key)
        return found

    def put(self, key: tuple[str, str], parsed: ParsedMap | MapError, size: int) -> None:
        self._maps[key] = parsed
        self._bytes += size
        while self._bytes > self._max and len(self._maps) > 1:
            _, old = self._maps.popitem(last=False)
            self._bytes -= old.size if isinstance(old, ParsedMap) else 0

    def __len__(self) -> int:
        return len(self._maps)


class Resolver:
    def __init__(
        self, sources: Sequence[MapSource], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._sources = list(sources)  # the store's maps first, then a folder's
        self._clock = clock
        self.cache = MapCache()
        self._indexes: dict[str, tuple[float, list[dict[str, MapRecord]]]] = {}

    def forget(self, release: str) -> None:
        """A release's index changed here: read it again next time."""
        self._indexes.pop(release, None)

    async def _index(self, release: str, budget: Budget) -> list[dict[str, MapRecord]] | None:
        """Each source's index of ``release`` (cached briefly); None past the read's share."""
        now = self._clock()
        cached = self._indexes.get(release)
        if cached is not None and now - cached[0] < INDEX_FRESH_S:
            return cached[1]
        if budget.releases <= 0:
            return None
        budget.releases -= 1
        indexes = [await source.index(release) for source in self._sources]
        if len(self._indexes) > 256:
            self._indexes.clear()
        self._indexes[release] = (now, indexes)
        return indexes

    async def _parsed(
        self, release: str, source: MapSource, record: MapRecord, budget: Budget
    ) -> ParsedMap | MapError | None:
        """The parsed map (cached), the reason it is unusable, or None past the read's
        fetches."""
        key = (release, record.map_id)
        found = self.cache.get(key)
        if found is not None:
            return found
        if budget.fetches <= 0:
            return None
        budget.fetches -= 1
        raw = await source.body(release, record)
        if raw is None:
            return MapError("its chunks have expired or were deleted: upload it again")
        parsed: ParsedMap | MapError
        try:
            parsed = ParsedMap(raw)
        except MapError as exc:
            parsed = exc
        self.cache.put(key, parsed, parsed.size if isinstance(parsed, ParsedMap) else 0)
        return parsed

    async def resolve_entries(self, entries: Sequence[dict[str, Any]]) -> None:
        """Add ``resolved`` to every entry with a stack (in place), within one ``Budget``."""
        budget = Budget()
        for entry in entries:
            stack = entry.get("stack")
            if not isinstance(stack, str) or "kind" in entry:
                continue
            entry["resolved"] = await self.resolve_stack(stack, entry.get("release"), budget)

    async def resolve_stack(
        self, stack: str, release: object, budget: Budget | None = None
    ) -> list[dict[str, Any]]:
        budget = budget or Budget()
        out: list[dict[str, Any]] = []
        for item in parse_stack(stack):
            if isinstance(item, str):
                out.append({"raw": item})
                continue
            frame: dict[str, Any] = {
                "raw": item.raw,
                "function": item.function,
                "file": item.url,
                "line": item.line,
                "column": item.column,
            }
            if budget.frames <= 0:
                frame["unresolved"] = f"not resolved: more than {MAX_FRAMES} frames in one read"
            else:
                budget.frames -= 1
                await self._resolve_frame(frame, item, release, budget)
            out.append(frame)
        _name_functions(out)
        return out

    async def _resolve_frame(
        self, frame: dict[str, Any], item: Frame, release: object, budget: Budget
    ) -> None:
        if not isinstance(release, str) or not RELEASE.fullmatch(release):
            frame["unresolved"] = "the entry has no release, so no map can be chosen for it"
            return
        names = candidates(item.url)
        indexes = await self._index(release, budget)
        if indexes is None:
            frame["unresolved"] = (
                f"not resolved: this read already looked up {MAX_RELEASES} releases"
            )
            return
        for source, index in zip(self._sources, indexes, strict=True):
            record = next((index[n] for n in names if n in index), None)
            if record is None:
                continue
            parsed = await self._parsed(release, source, record, budget)
            if parsed is None:
                frame["unresolved"] = (
                    f"not resolved: this read already fetched {MAX_FETCHES} maps (read again: "
                    "they stay cached)"
                )
                return
            if isinstance(parsed, MapError):
                frame["unresolved"] = f"the map of {record.file} ({release}) is unusable: {parsed}"
                return
            original = parsed.lookup(item.line, item.column)
            if original is None:
                frame["unresolved"] = (
                    f"the map of {record.file} ({release}) maps nothing at "
                    f"{item.line}:{item.column}: was the bundle rebuilt without a new release?"
                )
                return
            frame["original"] = {
                "file": original.source,
                "line": original.line,
                "column": original.column,
                "function": None,  # named by its caller's frame: _name_functions
                "name_at": original.name,
                **({"context": original.context} if original.context is not None else {}),
            }
            frame["map"] = {
                "file": record.file,
                **({"debug_id": record.debug_id} if record.debug_id else {}),
                **({"bundle_sha256": record.bundle_sha256} if record.bundle_sha256 else {}),
            }
            return
        frame["unresolved"] = f"no source map for {names[-1]} in release {release}"


def _name_functions(frames: list[dict[str, Any]]) -> None:
    """A map names the identifier AT a position, not the function around it. A frame's caller
    stands at the call of that function, so the name its map gives there is the original name
    of the frame's function (the outermost frame has no caller: its minified name stays)."""
    located = [f for f in frames if "line" in f]
    # Frames go innermost first, so each one's caller is the next; read before it is popped.
    callers: list[dict[str, Any] | None] = [*located[1:], None] if located else []
    for frame, caller in zip(located, callers, strict=True):
        original = frame.get("original")
        if original is None:
            continue
        original.pop("name_at")
        called = caller["original"].get("name_at") if caller and "original" in caller else None
        original["function"] = called or frame.get("function")


def resolved_text(frames: Sequence[dict[str, Any]]) -> str:
    """A resolved stack as text: original frames as a Chromium stack, the rest as they were,
    each unresolved frame with its reason."""
    lines: list[str] = []
    for frame in frames:
        original = frame.get("original")
        if original is not None:
            where = f"{original['file']}:{original['line']}:{original['column']}"
            function = original.get("function") or frame.get("function")
            lines.append(f"    at {function} ({where})" if function else f"    at {where}")
            if original.get("context"):
                lines.append(f"        {original['context'].strip()}")
        elif "unresolved" in frame:
            lines.append(f"{frame['raw']}  [unresolved: {frame['unresolved']}]")
        else:
            lines.append(frame["raw"])
    return "\n".join(lines)


def unresolved_note(frames: Sequence[dict[str, Any]]) -> str | None:
    """Why none of a stack's frames resolved (the first frame's reason), or None when one did
    or there was no frame: readers then show the raw stack with this one line."""
    if any("original" in f for f in frames):
        return None
    return next((str(f["unresolved"]) for f in frames if "unresolved" in f), None)
