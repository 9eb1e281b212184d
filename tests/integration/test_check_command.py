"""`tracesink check` as an operator runs it: its exit codes are the ones the docs state, and the
deploy template's CHANGE-ME placeholders are refused, naming each variable that holds one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.redis_server import free_port
from tests.support.service import tracesink

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parents[2]
TEMPLATE = ROOT / "deploy" / "systemd" / "tracesink.env"
STATED = (
    "it exits 0 when both are fine, 1 when the store cannot be reached, 2 when a setting is invalid"
)


def check(env: dict[str, str]) -> tuple[int, str]:
    process = tracesink("check", env=env)
    out, err = process.communicate(timeout=30)
    return process.returncode, out + err


@pytest.mark.parametrize("doc", ["docs/operations.md", "docs/configuration.md"])
def test_the_docs_state_the_exit_codes_the_code_gives(doc: str) -> None:
    """Both pages that describe `check` state the same codes, and the command gives them: 0
    for a reachable store, 1 for an unreachable one, 2 for an invalid setting."""
    text = " ".join((ROOT / doc).read_text().split())
    assert STATED in text, f"{doc} does not say: {STATED}"
    assert check({})[0] == 0
    unreachable = {"TRACESINK_STORE": f"redis://127.0.0.1:{free_port()}/0"}
    assert check(unreachable)[0] == 1
    assert check({"TRACESINK_GLOBAL_LIMIT": "lots"})[0] == 2


def test_the_deploy_templates_placeholders_are_refused_by_name() -> None:
    """The systemd template copied unedited (CHANGE-ME in the store's password and the read
    token) fails `check` with status 2 and one line naming both variables, not the secrets."""
    env = dict(
        line.split("=", 1)
        for line in TEMPLATE.read_text().splitlines()
        if re.match(r"TRACESINK_\w+=", line)
    )
    assert sum("CHANGE-ME" in value for value in env.values()) == 2
    status, said = check(env)
    assert status == 2
    [line] = said.strip().splitlines()
    assert "TRACESINK_STORE, TRACESINK_READ_TOKEN" in line
    assert "placeholder CHANGE-ME" in line
    assert "to-a-long-random-token" not in line
