"""The reader's docs speak to a reader: no "original plan", no issue numbers, no commit ids
(BENCHMARKS.md keeps its history; link targets may carry its headings' anchors)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK_TARGET = re.compile(r"\]\([^)]*\)")
PROJECT_HISTORY = re.compile(
    r"original plan|\bthe plan's\b|\bissues? #?\d+|\b(?:before|against|commit) [0-9a-f]{7,40}\b",
    re.I,
)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_page_cites_the_projects_history(page: Path) -> None:
    """Phrases that only mean something to the project's own history are absent."""
    text = LINK_TARGET.sub("]()", page.read_text())
    found = [m.group(0) for m in PROJECT_HISTORY.finditer(" ".join(text.split()))]
    assert found == [], f"{page.name}: {found}"
