"""Where benchmark results come from and where they go: the commit measured, and the files.

Every script writes its raw figures to ``bench/results/`` (git-ignored, overwritten each run);
with ``--save NAME`` also to ``bench/results-committed/NAME.json``, to be committed with the
BENCHMARKS.md tables that ``bench/report.py`` renders from it. A saved result must name a commit
that is in the history, so ``--save`` refuses to start on a tree with uncommitted changes.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
COMMITTED = ROOT / "bench" / "results-committed"


def _git(*args: str) -> str:
    done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else ""


def git_commit() -> str:
    """The measured commit's short hash, ``-dirty`` when tracked files differ from it."""
    commit = _git("rev-parse", "--short=7", "HEAD") or "unknown"
    return commit + ("-dirty" if _git("status", "--porcelain", "--untracked-files=no") else "")


def measured_commit(save_as: str | None) -> str:
    """The commit about to be measured, read before the first run (files edited while a long
    run goes on do not change what it measured); with ``--save``, stop before measuring
    anything when the tree has uncommitted changes."""
    commit = git_commit()
    if save_as and commit.endswith(("-dirty", "unknown")):
        raise SystemExit(
            f"--save {save_as}: commit first, so the saved results name a commit in the history "
            f"(now {commit})"
        )
    return commit


def write_results(document: dict[str, Any], latest: str, save_as: str | None) -> list[Path]:
    """``bench/results/LATEST.json`` and, with ``save_as``, the committed copy; the paths."""
    text = json.dumps(document, indent=1) + "\n"
    RESULTS.mkdir(exist_ok=True)
    paths = [RESULTS / f"{latest}.json"]
    if save_as:
        COMMITTED.mkdir(exist_ok=True)
        paths.append(COMMITTED / f"{save_as}.json")
    for path in paths:
        path.write_text(text)
    return paths
