"""``msg % args`` for text nobody vouches for: logging's printf-style formatting, bounded and total.

A stdlib ``HTTPHandler`` sends a record's ``msg`` and the repr of its ``args``, and the service
renders the message as ``LogRecord.getMessage`` would. Python's own ``%`` honours any width or
precision (``%999999999s`` allocates a gigabyte, and so does ``%(a)999999999s``), raises on
``%c`` of 0x110000, and renders one mapping value as often as the text names it. So the
conversions are parsed here, following CPython's ``PyUnicode_Format`` (argument order, mapping
keys with nested parentheses, ``*`` widths and precisions, one ignored ``h``/``l``/``L``), and each
is rendered by ``%`` itself on bounded numbers, which keeps every rendering Python's own:

- every width and precision is capped at ``limit + 1``, ``limit`` being the longest message the
  caller keeps: the text is cut there anyway, so what a reader sees is the same, and the one
  character more makes sure that it is cut, and marked truncated (the marker then counts what
  was rendered, not what ``%`` would have rendered);
- rendering stops once the output passes ``limit`` characters (the caller truncates it);
- at most MAX_CONVERSIONS conversions (``%%`` included) are rendered: no log message has more;
- the ``str``/``repr``/``ascii`` of a mapping value is computed once, however often it is named.

One call's work is then bounded by ``limit`` plus the size of the arguments it is given.
Measured (bench/hostile_stall.py): ``%(a)999999999s`` took 1.5-4 s and 1-2 GB through ``%``,
and takes ~0.1 ms here. Lone surrogates (``'%c' % 0xD800``, a ``'\\ud800'`` argument) become
U+FFFD, so the message is always valid UTF-8. Nothing raises: where ``%`` would (a missing key,
a wrong type, too few or too many arguments, ``%c`` out of range, an unknown conversion) or a
bound is met before the end of the text, the answer is None and the caller keeps the text as
sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

MAX_CONVERSIONS = 1024
MAX_KEY_PARENS = 64  # parentheses inside one mapping key ("%(a(b))s"); none in real keys
_CONVERSIONS = frozenset("sradiuoxXeEfFgGc")
_TEXT_CONVERSIONS: dict[str, Callable[[object], str]] = {"s": str, "r": repr, "a": ascii}
# What CPython accepts before "width too big" / "precision too big" (and OverflowError for `*`).
_MAX_WIDTH, _MAX_PRECISION = 2**63 - 1, 2**31 - 1
# After '%' and any mapping key: flags, width, precision, one ignored length modifier.
_HEAD = re.compile(r"(?P<flags>[-+ #0]*)(?P<width>\*|[0-9]*)(?:\.(?P<precision>\*|[0-9]*))?[hlL]?")
_PAREN = re.compile("[()]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# The errors rendering a literal value can raise; nothing else is caught.
_RENDER_ERRORS = (TypeError, ValueError, KeyError, IndexError, OverflowError, RecursionError)


class _Refused(Exception):
    """``%`` would raise here, or a bound was met: the text is kept as sent."""


def valid_text(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD: encodable as UTF-8."""
    return _SURROGATE.sub("\ufffd", text)


def format_bounded(msg: str, args: Any, limit: int) -> str | None:
    """``msg % args`` as Python renders it, bounded as the module says; None where ``%`` would
    raise or a bound stops it before the end. Longer than ``limit`` when it was cut short."""
    try:
        return valid_text(_Formatter(msg, args, limit).run())
    except (_Refused, *_RENDER_ERRORS, MemoryError):
        return None


class _Formatter:
    """One ``msg % args``: CPython's argument state (``args``, ``arglen``, ``argidx``) as is."""

    def __init__(self, msg: str, args: Any, limit: int) -> None:
        self.msg, self.limit = msg, limit
        # CPython takes any non-tuple, non-str object with __getitem__ as the mapping.
        has_items = hasattr(type(args), "__getitem__")
        self.mapping = args if has_items and not isinstance(args, tuple | str) else None
        self.args: Any = args
        self.arglen, self.argidx = (len(args), 0) if isinstance(args, tuple) else (-1, -2)
        self.rendered: dict[tuple[str, str], str] = {}

    def next_arg(self) -> Any:
        if self.argidx >= self.arglen:
            raise _Refused("not enough arguments")
        self.argidx += 1
        return self.args if self.arglen < 0 else self.args[self.argidx - 1]

    def run(self) -> str:
        out: list[str] = []
        size, pos, conversions = 0, 0, 0
        msg, limit = self.msg, self.limit
        while (start := msg.find("%", pos)) >= 0:
            if start > pos:
                out.append(msg[pos:start])
                size += start - pos
            if size > limit:
                return "".join(out)
            conversions += 1
            if conversions > MAX_CONVERSIONS:
                raise _Refused("too many conversions")
            piece, pos = self.conversion(start + 1)
            out.append(piece)
            size += len(piece)
        out.append(msg[pos:])
        if self.argidx < self.arglen and self.mapping is None:
            raise _Refused("not all arguments converted")
        return "".join(out)

    def conversion(self, pos: int) -> tuple[str, int]:
        """The rendering of the conversion whose text starts at ``pos`` (after its '%'), and
        where the text goes on after it."""
        msg = self.msg
        if msg.startswith("%", pos):
            return "%", pos + 1
        key = None
        if msg.startswith("(", pos):
            if self.mapping is None:
                raise _Refused("format requires a mapping")
            key, pos = self.key(pos + 1)
            self.args, self.arglen, self.argidx = self.mapping[key], -1, -2
        head = _HEAD.match(msg, pos)
        assert head is not None  # every part of it is optional
        flags = head["flags"]
        width = self.number(head["width"], _MAX_WIDTH)
        if width is not None and width < 0:  # a negative `*` width left-adjusts
            flags, width = flags + "-", -width
        precision = None
        if head["precision"] is not None:
            # "%.f" is "%.0f"; a negative `*` precision is 0 too
            precision = max(self.number(head["precision"], _MAX_PRECISION) or 0, 0)
        pos = head.end()
        if pos >= len(msg):
            raise _Refused("incomplete format")
        kind = msg[pos]
        value = self.next_arg()
        if kind not in _CONVERSIONS:
            raise _Refused("unsupported format character")
        spec = "%" + flags
        if width is not None:
            spec += str(min(width, self.limit + 1))
        if precision is not None:
            spec += "." + str(min(precision, self.limit + 1))
        if kind in _TEXT_CONVERSIONS:
            value, kind = self.text_of(value, kind, key), "s"
        if self.mapping is not None and self.argidx < self.arglen:
            raise _Refused("not all arguments converted")
        return (spec + kind) % (value,), pos + 1

    def key(self, pos: int) -> tuple[str, int]:
        """The mapping key whose text starts at ``pos`` (after its '('), parentheses nested in
        it balanced, and where the text goes on after its ')'."""
        depth = 1
        for seen, paren in enumerate(_PAREN.finditer(self.msg, pos), 1):
            if seen > MAX_KEY_PARENS:
                raise _Refused("a mapping key with too many parentheses")
            depth += 1 if paren[0] == "(" else -1
            if not depth:
                return self.msg[pos : paren.start()], paren.end()
        raise _Refused("incomplete format key")

    def number(self, text: str, most: int) -> int | None:
        """A width or precision as written: ``*`` (the next argument), digits, or nothing."""
        if text == "*":
            value = self.next_arg()
            if not isinstance(value, int) or not -most <= value <= most:
                raise _Refused("* wants int")
            return int(value)  # True is 1
        if not text:
            return None
        digits = text.lstrip("0")
        if len(digits) > len(str(most)) or int(digits or "0") > most:
            raise _Refused("width or precision too big")
        return int(digits or "0")

    def text_of(self, value: Any, kind: str, key: str | None) -> str:
        """str/repr/ascii of ``value``, computed once per mapping key."""
        if key is None:
            return _TEXT_CONVERSIONS[kind](value)
        rendered = self.rendered.get((key, kind))
        if rendered is None:
            rendered = self.rendered[(key, kind)] = _TEXT_CONVERSIONS[kind](value)
        return rendered
