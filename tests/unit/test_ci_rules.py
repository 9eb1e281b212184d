"""The CI rule, decided in one place (tests/support/ci.py, applied by tests/conftest.py): with
``CI`` true a skipped test fails the run, naming why it skipped; elsewhere it stays a skip."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.ci import in_ci

ROOT = Path(__file__).resolve().parents[2]
SKIPPING = """
import pytest

def test_needs_a_tool():
    pytest.skip("the tool is missing")

@pytest.mark.xfail(strict=True)
def test_known_bug():
    raise AssertionError("known")
"""


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("1", True), (" TRUE ", True), ("yes", True), ("false", False), ("", False)],
)
def test_ci_is_true_only_when_set_to_a_true_word(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: bool
) -> None:
    """``CI=false`` (which some tools set) is not CI; unset is not either."""
    monkeypatch.setenv("CI", value)
    assert in_ci() is expected
    monkeypatch.delenv("CI")
    assert in_ci() is False


def run_skipping_test(tmp_path: Path, ci: str) -> subprocess.CompletedProcess[str]:
    """A test file that skips (and one that is an expected failure), run by pytest with the
    project's conftest as a plugin and ``CI`` set to ``ci``."""
    (tmp_path / "test_skipping.py").write_text(SKIPPING)
    env = {k: v for k, v in os.environ.items() if k != "CI"} | {"CI": ci}
    env["PYTHONPATH"] = str(ROOT)
    plugins = ["-p", "tests.conftest", "-p", "no:cacheprovider"]
    alone = ["-c", os.devnull, "--rootdir", str(tmp_path)]  # not this project's settings
    return subprocess.run(
        [sys.executable, "-m", "pytest", *plugins, *alone, "-q", "--no-cov", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_in_ci_a_skip_fails_the_run_naming_why(tmp_path: Path) -> None:
    """CI=true: the skip is reported as a failure with its reason; the xfail stays an xfail."""
    done = run_skipping_test(tmp_path, "true")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "skipped in CI, where a skip is a failure: the tool is missing" in done.stdout
    assert "1 failed, 1 xfailed" in done.stdout


@pytest.mark.slow
def test_outside_ci_a_skip_is_a_skip_and_counted(tmp_path: Path) -> None:
    """CI=false: the run passes, and its last line counts the skip with its reason."""
    done = run_skipping_test(tmp_path, "false")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "skipped: 1 test(s) (1 x the tool is missing)" in done.stdout
