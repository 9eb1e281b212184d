"""BENCHMARKS.md stays traceable: its tables are what the committed results render to, and every
commit it names is in the history."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_benchmarks_tables_match_the_committed_results() -> None:
    """``bench/report.py --check``: each generated block equals what its results file renders
    to, and each commit the document names exists (not looked up in a shallow clone)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "report.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr + done.stdout


RESULTS = ROOT / "bench" / "results-committed"
# A raw file as BENCHMARKS.md cites it: in a report marker, or by name in backticks (with its
# folder, "…/" for it, or alone).
MARKER = re.compile(r"^<!-- report: bench/results-committed/(\S+) -->$", re.M)
CITED = re.compile(
    r"`(?:bench/results-committed/|\N{HORIZONTAL ELLIPSIS}/)?([\w.-]+\.(?:json|txt))`"
)


def test_every_raw_file_is_cited_and_every_cited_file_is_committed() -> None:
    """The raw files committed for BENCHMARKS.md and the ones it cites are the same set: no
    figure points at a file that is not there, and no file is kept that no figure uses."""
    text = (ROOT / "BENCHMARKS.md").read_text()
    cited = set(MARKER.findall(text)) | set(CITED.findall(text))
    committed = {path.name for path in RESULTS.iterdir()}
    assert cited - committed == set(), "cited but not committed"
    assert committed - cited == set(), "committed but cited nowhere"


def test_the_page_says_joined_writes_are_in_use() -> None:
    """BENCHMARKS.md does not call the joined writes dropped while the server uses them."""
    text = " ".join((ROOT / "BENCHMARKS.md").read_text().split())
    protocol = (ROOT / "src" / "tracesink" / "server" / "protocol.py").read_text()
    assert "HeadJoiningTransport(" in protocol  # in use
    assert "`server/joined_writes.py` holds the head of a response" in text
    assert "Tried and dropped: gathering uvicorn's two writes" not in text
