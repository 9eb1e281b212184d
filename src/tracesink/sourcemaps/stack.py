"""Stack traces as Chromium, Firefox and Safari print them, parsed into frames.

Chromium:  ``    at fn (https://host/app.js:1:2345)``, ``    at https://host/app.js:1:2345``,
           ``    at async fn (…)``, ``    at new Foo (…)``
Firefox:   ``fn@https://host/app.js:1:2345`` (an empty name for anonymous code)
Safari:    ``fn@https://host/app.js:1:2345``, ``global code@…``, ``https://host/app.js:1:2345``
A line that is none of these (the message line, ``[native code]``) is kept as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CHROMIUM = re.compile(r"^\s*at (?:(?P<fn>.+?) \()?(?P<url>\S+?):(?P<line>\d+):(?P<col>\d+)\)?\s*$")
_GECKO = re.compile(r"^\s*(?P<fn>[^@\s]*(?: code)?)@(?P<url>\S+?):(?P<line>\d+):(?P<col>\d+)\s*$")
_BARE = re.compile(r"^\s*(?P<url>[a-z][a-z0-9+.-]*://\S+?):(?P<line>\d+):(?P<col>\d+)\s*$")


@dataclass(frozen=True, slots=True)
class Frame:
    raw: str  # the line as the stack printed it
    function: str | None
    url: str
    line: int
    column: int


def parse_line(line: str) -> Frame | None:
    """The frame a stack line names, or None for a line that names none."""
    match = _CHROMIUM.match(line) or _GECKO.match(line) or _BARE.match(line)
    if match is None:
        return None
    function = match.groupdict().get("fn") or None
    if function is not None and function.startswith("async "):
        function = function[len("async ") :]
    return Frame(line, function, match["url"], int(match["line"]), int(match["col"]))


def parse_stack(stack: str) -> list[Frame | str]:
    """Each line of ``stack``: its frame, or the line itself when it names none."""
    return [parse_line(line) or line for line in stack.splitlines()]
