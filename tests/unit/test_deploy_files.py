"""The files in deploy/ are what the docs say: systemd accepts the unit, its hardening holds,
and its settings template is a configuration tracesink starts with."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tracesink.config import load_settings

DEPLOY = Path(__file__).parents[2] / "deploy"
UNIT = DEPLOY / "systemd" / "tracesink.service"
WORKERS_DROP_IN = DEPLOY / "systemd" / "tracesink.service.d" / "workers.conf"
INSTALLED_AT = "/opt/tracesink/bin/tracesink"  # where docs/deploy.md installs the wheel
# systemd-analyze's exposure score, 0 (locked down) to 10 (unrestricted), in tenths.
MAX_EXPOSURE_TENTHS = 20

needs_systemd_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze is not installed (apt-get install systemd)",
)


def unit_here(tmp_path: Path) -> Path:
    """The unit with ExecStart pointed at this environment's ``tracesink``: verify checks that
    the program exists, and /opt/tracesink is the target machine's path, not this one's."""
    program = Path(sys.executable).parent / "tracesink"
    assert program.exists(), f"{program} is missing: is tracesink installed in this venv?"
    text = UNIT.read_text()
    assert text.count(f"ExecStart={INSTALLED_AT} ") == 1
    copy = tmp_path / UNIT.name
    copy.write_text(text.replace(INSTALLED_AT, str(program)))
    return copy


@needs_systemd_analyze
def test_systemd_accepts_the_unit_without_a_warning(tmp_path: Path) -> None:
    """`systemd-analyze verify` passes and says nothing: an unknown or misspelt directive, which
    systemd would ignore at run time, is printed as a warning and fails this test."""
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit_here(tmp_path))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


@needs_systemd_analyze
def test_systemd_accepts_the_unit_with_the_workers_drop_in(tmp_path: Path) -> None:
    """The multi-core drop-in beside the unit (as /etc/systemd/system/tracesink.service.d/ holds
    it): `systemd-analyze verify` reads both and says nothing."""
    unit = unit_here(tmp_path)
    drop_ins = tmp_path / f"{unit.name}.d"
    drop_ins.mkdir()
    (drop_ins / WORKERS_DROP_IN.name).write_text(WORKERS_DROP_IN.read_text())
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


def test_the_workers_drop_in_runs_a_worker_per_core_and_stops_through_the_parent() -> None:
    """The drop-in asks for `auto` workers, which the settings template accepts (a shared store),
    and signals the parent alone on stop, so that it drains every worker."""
    lines = set(WORKERS_DROP_IN.read_text().splitlines())
    assert "Environment=TRACESINK_WORKERS=auto" in lines
    assert "KillMode=mixed" in lines
    environ = {"TRACESINK_WORKERS": "auto", "TRACESINK_STORE": "redis://localhost:6379/0"}
    assert load_settings(environ).workers >= 1


@needs_systemd_analyze
def test_the_units_sandbox_keeps_its_exposure_low(tmp_path: Path) -> None:
    """`systemd-analyze security` rates the unit's sandboxing at 2.0 or better ("OK"; 10 is an
    unrestricted service)."""
    result = subprocess.run(
        [
            "systemd-analyze",
            "security",
            "--offline=true",
            f"--threshold={MAX_EXPOSURE_TENTHS}",
            str(unit_here(tmp_path)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    overall = [line for line in result.stdout.splitlines() if "Overall exposure level" in line]
    assert result.returncode == 0, overall or result.stderr


def test_the_unit_runs_the_wheel_install_as_its_own_user() -> None:
    """The unit starts the venv's `tracesink serve` as a dedicated user, reads its settings
    from the env file, restarts after a failure and keeps its spool in its state directory
    (the default spool path under XDG_STATE_HOME)."""
    lines = set(UNIT.read_text().splitlines())
    for expected in (
        f"ExecStart={INSTALLED_AT} serve",
        "User=tracesink",
        "EnvironmentFile=/etc/tracesink/tracesink.env",
        "Restart=on-failure",
        "StateDirectory=tracesink",
        "Environment=XDG_STATE_HOME=/var/lib/tracesink",
    ):
        assert expected in lines


def test_the_settings_template_is_a_valid_configuration() -> None:
    """Every variable in deploy/systemd/tracesink.env is a setting, with a value tracesink
    accepts once its CHANGE-ME placeholders are filled in (an unknown or misspelt variable stops
    start-up; so does a placeholder left in: tests/integration/test_check_command.py)."""
    environ = {}
    for line in (DEPLOY / "systemd" / "tracesink.env").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            environ[name] = value.replace("CHANGE-ME", "filled-in")
    settings = load_settings(environ)
    assert settings.store.startswith("redis://")
    assert settings.read_token is not None
    assert settings.trusted_proxies == ("127.0.0.1/32",)
