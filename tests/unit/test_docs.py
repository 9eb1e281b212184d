"""The docs stay true: the configuration reference is the one the settings render, and every
relative link in the README and docs/ leads to a file and a heading that exist."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tracesink.config_options import OPTIONS
from tracesink.config_reference import render

ROOT = Path(__file__).parents[2]
CONFIGURATION = ROOT / "docs" / "configuration.md"
PAGES = sorted([ROOT / "README.md", ROOT / "BENCHMARKS.md", *(ROOT / "docs").glob("*.md")])
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def test_the_configuration_reference_is_what_the_settings_render() -> None:
    """docs/configuration.md is exactly what `python -m tracesink.config_reference` prints, so
    a setting added, renamed or given another default without regenerating it fails here."""
    assert CONFIGURATION.read_text() == render(), (
        "docs/configuration.md is stale: run "
        "`python -m tracesink.config_reference > docs/configuration.md`"
    )


def test_the_regeneration_command_prints_the_reference() -> None:
    """The command the reference's header names prints exactly that file."""
    printed = subprocess.run(
        [sys.executable, "-m", "tracesink.config_reference"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert printed == CONFIGURATION.read_text()


def test_every_setting_has_a_row_with_its_variable_and_flag() -> None:
    """Each option's variable and flag appear in one row of the reference table."""
    rows = [line for line in render().splitlines() if line.startswith("| `TRACESINK_")]
    documented = {row.split("`")[1]: row for row in rows}
    assert set(documented) == {option.env for option in OPTIONS}
    for option in OPTIONS:
        assert f"`{option.flag}`" in documented[option.env]


def prose(text: str) -> str:
    """The text without its fenced code blocks (a link-like string in code is not a link)."""
    return re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)


def anchors(page: Path) -> set[str]:
    """The anchors GitHub gives the page's headings: lower case, punctuation dropped, spaces
    as hyphens, a repeated heading numbered."""
    seen: dict[str, int] = {}
    found = set()
    for line in prose(page.read_text()).splitlines():
        if not line.startswith("#"):
            continue
        slug = re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    """Each relative link names a file of the repository and, with #anchor, one of its
    headings: moving a section between pages cannot leave a dead link behind."""
    broken = []
    for target in LINK.findall(prose(page.read_text())):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no heading #{anchor}")
    assert not broken, broken


def test_each_setting_is_explained_once_for_the_docs_and_for_help() -> None:
    """An option's help is the one text of its meaning: the reference row shows it as written
    (Markdown), `--help` the same words without code marks, escapes or link targets."""
    rows = {row.split("`")[1]: row for row in render().splitlines() if row.startswith("| `TRAC")}
    for option in OPTIONS:
        assert rows[option.env].endswith(f"| {option.help} |")
        assert not any(mark in option.plain_help for mark in ("`", "\\|", "]("))
    proxies = next(o for o in OPTIONS if o.name == "trusted_proxies")
    assert "(see Security)" in proxies.plain_help
    assert "X-Forwarded-For" in proxies.plain_help
