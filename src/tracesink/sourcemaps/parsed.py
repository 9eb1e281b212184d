"""A parsed source map (v3): generated (line, column) -> original file, line, column, name.

The parser is a small pure-Python VLQ decoder, chosen by measurement and upkeep (BENCHMARKS.md,
"Source maps"): PyPI's ``sourcemap`` (0.2.1) has had no release since 2016, and Sentry's
``symbolic`` is a 10+ MB native wheel per platform for the one function we need. Decoding a
1 MB esbuild map here takes tens of milliseconds once, and the result is cached
(``resolve.MapCache``), so a trace of 100 stacks pays the decode once per map, then a bisect
per frame. Index maps (``sections``) are not supported: bundlers emit them rarely, and such a
map resolves nothing, saying so.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import msgspec

_B64 = {
    c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
}


class MapError(ValueError):
    """Not a source map this parser can read; the message says why."""


@dataclass(frozen=True, slots=True)
class Original:
    source: str
    line: int  # 1-based, as stacks count
    column: int  # 1-based, as stacks count
    name: str | None
    context: str | None  # the original source line, when the map carries sourcesContent


def _decode_segment(text: str) -> list[int]:
    values: list[int] = []
    value = shift = 0
    for char in text:
        try:
            digit = _B64[char]
        except KeyError:
            raise MapError(f"mappings holds {char!r}, not a base64 VLQ digit") from None
        value += (digit & 31) << shift
        if digit & 32:
            shift += 5
            continue
        values.append(-(value >> 1) if value & 1 else value >> 1)
        value = shift = 0
    if shift:
        raise MapError("mappings ends inside a VLQ number")
    return values


class ParsedMap:
    """One map's decoded mappings: per generated line, the segment start columns (sorted) and
    their (source, line, column, name) indices."""

    def __init__(self, raw: bytes) -> None:
        try:
            document: Any = msgspec.json.decode(raw)
        except msgspec.DecodeError as exc:
            raise MapError(f"not JSON: {exc}") from None
        if not isinstance(document, dict):
            raise MapError("not a JSON object")
        if "sections" in document:
            raise MapError("an index map (sections) is not supported")
        if document.get("version") != 3 or not isinstance(document.get("mappings"), str):
            raise MapError("not a version 3 source map with mappings")
        root = str(document.get("sourceRoot") or "")
        self.sources = [
            root + str(s) if root and s and not str(s).startswith(root) else str(s or "")
            for s in document.get("sources") or []
        ]
        self.names = [str(n) for n in document.get("names") or []]
        contents = document.get("sourcesContent") or []
        self._contents: list[str | None] = [c if isinstance(c, str) else None for c in contents]
        self._lines_of: dict[int, list[str]] = {}
        self._columns: list[array[int]] = []
        self._targets: list[array[int]] = []  # (source, line, column, name) per segment
        self._decode(document["mappings"])
        # What the parsed map holds in memory, roughly: what the cache bounds.
        self.size = sum(a.itemsize * len(a) for a in (*self._columns, *self._targets)) + sum(
            len(c) for c in self._contents if c is not None
        )

    def _decode(self, mappings: str) -> None:
        # Per generated line, two flat int arrays (not tuples): a 2.2 MB map's 108k segments
        # take 2 MB this way, against ~20 MB as Python tuples.
        source = line = column = name = 0
        for text_line in mappings.split(";"):
            columns: list[int] = []
            targets: list[int] = []
            generated = 0
            for segment in text_line.split(","):
                if not segment:
                    continue
                values = _decode_segment(segment)
                generated += values[0]
                if len(values) < 4:
                    continue  # a segment without an original position maps nothing
                source += values[1]
                line += values[2]
                column += values[3]
                if len(values) > 4:
                    name += values[4]
                columns.append(generated)
                targets += (source, line, column, name if len(values) > 4 else -1)
            if any(a > b for a, b in pairwise(columns)):  # rare: bisect needs them in order
                order = sorted(range(len(columns)), key=columns.__getitem__)
                columns = [columns[i] for i in order]
                targets = [targets[4 * i + k] for i in order for k in range(4)]
            self._columns.append(array("i", columns))
            self._targets.append(array("i", targets))

    def lookup(self, line: int, column: int) -> Original | None:
        """The original position of generated ``line``:``column`` (both 1-based, as a stack
        gives them): the last segment starting at or before it on that line; None if none."""
        if line < 1 or line > len(self._columns):
            return None
        columns = self._columns[line - 1]
        at = bisect_right(columns, column - 1) - 1
        if at < 0:
            return None
        source, orig_line, orig_column, name = self._targets[line - 1][4 * at : 4 * at + 4]
        if not 0 <= source < len(self.sources):
            return None
        return Original(
            self.sources[source],
            orig_line + 1,
            orig_column + 1,
            self.names[name] if 0 <= name < len(self.names) else None,
            self._context(source, orig_line),
        )

    def _context(self, source: int, line: int) -> str | None:
        if source >= len(self._contents) or self._contents[source] is None:
            return None
        lines = self._lines_of.get(source)
        if lines is None:
            lines = self._lines_of[source] = str(self._contents[source]).splitlines()
        return lines[line][:300] if 0 <= line < len(lines) else None
