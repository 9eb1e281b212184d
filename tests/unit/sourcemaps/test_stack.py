"""Stack lines of Chromium, Firefox and Safari parsed into frames. Only Chromium runs here: the
others are recorded strings, as those browsers print them."""

from __future__ import annotations

from tracesink.sourcemaps.stack import Frame, parse_line, parse_stack

CHROMIUM = """\
Error: checkout failed for o-7
    at r (https://shop.example/assets/app.js?v=123:1:116)
    at async Cart.pay (https://shop.example/assets/app.js:1:83)
    at new Cart (https://shop.example/assets/app.js:1:49)
    at https://shop.example/assets/app.js:1:219
    at Array.map (<anonymous>)"""
FIREFOX = """\
r@https://shop.example/assets/app.js?v=123:1:116
o@https://shop.example/assets/app.js:1:83
@https://shop.example/assets/app.js:1:219
EventListener.handleEvent*@https://shop.example/assets/app.js:1:300"""
SAFARI = """\
r@https://shop.example/assets/app.js:1:116
o@https://shop.example/assets/app.js:1:83
global code@https://shop.example/assets/app.js:1:219
https://shop.example/assets/app.js:1:12
forEach@[native code]"""
APP = "https://shop.example/assets/app.js"


def frames(stack: str) -> list[tuple[str | None, str, int, int]]:
    return [
        (f.function, f.url, f.line, f.column) for f in parse_stack(stack) if isinstance(f, Frame)
    ]


def test_chromium_frames_named_anonymous_async_and_constructors() -> None:
    """``at fn (url:l:c)``, ``at url:l:c``, ``at async …``, ``at new …``; a native frame and the
    message line stay lines."""
    assert frames(CHROMIUM) == [
        ("r", APP + "?v=123", 1, 116),
        ("Cart.pay", APP, 1, 83),
        ("new Cart", APP, 1, 49),
        (None, APP, 1, 219),
    ]
    assert parse_stack(CHROMIUM)[0] == "Error: checkout failed for o-7"
    assert parse_stack(CHROMIUM)[-1] == "    at Array.map (<anonymous>)"


def test_firefox_frames() -> None:
    """``fn@url:l:c``; an empty name is anonymous code; an async marker before ``@`` stays in the
    name (it is not minified: nothing to resolve there)."""
    assert frames(FIREFOX)[:3] == [
        ("r", APP + "?v=123", 1, 116),
        ("o", APP, 1, 83),
        (None, APP, 1, 219),
    ]
    assert frames(FIREFOX)[3][1:] == (APP, 1, 300)


def test_safari_frames_global_code_bare_urls_and_native_code() -> None:
    """``fn@url:l:c``, ``global code@…``, a bare ``url:l:c``; ``[native code]`` names no file."""
    assert frames(SAFARI) == [
        ("r", APP, 1, 116),
        ("o", APP, 1, 83),
        ("global code", APP, 1, 219),
        (None, APP, 1, 12),
    ]
    assert parse_line("forEach@[native code]") is None
