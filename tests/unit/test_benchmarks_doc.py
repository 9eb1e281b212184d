"""BENCHMARKS.md stays traceable: its tables are what the committed results render to, and every
commit it names is in the history."""

from __future__ import annotations

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
