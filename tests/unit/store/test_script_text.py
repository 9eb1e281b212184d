"""A script's text is its file with the fragments it includes written in (store/script_text.py):
what Redis runs, and what the SHA-1 names. A malformed include is found at load, named."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from tracesink.store.script_text import compose
from tracesink.store.scripts import LuaScript

LUA = resources.files("tracesink.store").joinpath("lua")
SCRIPTS = sorted(p.name.removesuffix(".lua") for p in LUA.iterdir() if p.name.endswith(".lua"))
FRAGMENTS = sorted(f"lib/{p.name}" for p in LUA.joinpath("lib").iterdir())
# A top-level statement of a fragment: a line starting at column 0 that is code, not a comment.
TOP_LEVEL = re.compile(r"^(?!--|\s|end\b|$|\]\]|\}|\))")


def test_an_include_line_becomes_the_fragments_text() -> None:
    """Each include line is replaced by the whole fragment, in place; the rest is kept as is."""
    script = "-- header\n--#include lib/a.lua\nlocal x = 1\n--#include lib/b.lua\nreturn x\n"
    texts = {"lib/a.lua": "local function a() end\n", "lib/b.lua": "local B = 2"}
    assert compose("s", script, texts.__getitem__) == (
        "-- header\nlocal function a() end\nlocal x = 1\nlocal B = 2\nreturn x\n"
    )


def test_a_script_without_includes_is_its_file() -> None:
    no_fragments: dict[str, str] = {}
    assert compose("s", "return 1\n", no_fragments.__getitem__) == "return 1\n"


@pytest.mark.parametrize(
    ("script", "texts", "message"),
    [
        ("--#include lib/a.lua\n--#include lib/a.lua\n", {"lib/a.lua": ""}, "included twice"),
        ("x\n--#include lib/a.lua\n", {"lib/a.lua": "--#include lib/b.lua\n"}, "another fragment"),
        ("--#include ../secret.lua\n", {}, "names lib/<name>.lua, not '../secret.lua'"),
        ("--#include\n", {}, "names lib/<name>.lua, not ''"),
        ("--#inclued lib/a.lua\n", {}, "unknown directive '--#inclued lib/a.lua'"),
    ],
)
def test_a_bad_include_is_named_with_its_script_and_line(
    script: str, texts: dict[str, str], message: str
) -> None:
    """A repeated, nested or malformed include (or a misspelt directive, which Lua would take
    for a comment) fails at load with the script's name and the line, never at a call."""
    with pytest.raises(ValueError, match=r"^s\.lua line [12]: ") as raised:
        compose("s", script, texts.__getitem__)
    assert message in str(raised.value)


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_script_loads_composed(name: str) -> None:
    """Every packaged script composes: no directive is left in the text Redis runs, and the SHA-1
    is the composed text's."""
    script = LuaScript.load(name)
    assert "--#" not in script.text
    assert len(script.sha) == 40
    assert script.text.startswith(f"--[[ {name}.lua: ")


def test_every_fragment_is_included_by_some_script_and_declares_only_locals() -> None:
    """A fragment no script includes is dead code; a global one would be refused by Redis at the
    first call (and would count towards no limit we check), so fragments hold locals only."""
    texts = {name: LUA.joinpath(f"{name}.lua").read_text("utf-8") for name in SCRIPTS}
    for fragment in FRAGMENTS:
        assert any(f"--#include {fragment}\n" in text for text in texts.values()), fragment
        body = LUA.joinpath(fragment).read_text("utf-8").split("]]\n", 1)[-1]
        strays = [line for line in body.splitlines() if TOP_LEVEL.match(line)]
        assert all(line.startswith("local ") for line in strays), (fragment, strays)


def test_every_script_includes_what_its_fragments_need_before_them() -> None:
    """A fragment's header says which fragments it needs ("Needs lib/calls.lua ... before it");
    a script that includes it without them, or after it, would fail only at its first call
    (Redis refuses the unknown global), so the order is checked here."""
    needs = {
        fragment: re.findall(r"lib/[a-z_]+\.lua", header.split("Needs", 1)[1].split("before")[0])
        for fragment in FRAGMENTS
        if "Needs" in (header := LUA.joinpath(fragment).read_text("utf-8").split("]]\n", 1)[0])
    }
    assert needs["lib/counters.lua"] == ["lib/calls.lua", "lib/window.lua"]
    for name in SCRIPTS:
        included = re.findall(r"^--#include (\S+)$", LUA.joinpath(f"{name}.lua").read_text(), re.M)
        for at, fragment in enumerate(included):
            missing = set(needs.get(fragment, [])) - set(included[:at])
            assert not missing, f"{name}.lua includes {fragment} without {missing} before it"
