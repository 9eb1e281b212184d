"""The README stays true: every setting is documented with its variable and flag."""

from __future__ import annotations

from pathlib import Path

from tracesink.config import OPTIONS

README = (Path(__file__).parents[2] / "README.md").read_text()


def test_every_setting_is_in_the_configuration_table() -> None:
    """Each option's variable and flag appear in one row of the README's table."""
    rows = [line for line in README.splitlines() if line.startswith("| `TRACESINK_")]
    documented = {row.split("`")[1]: row for row in rows}
    assert set(documented) == {option.env for option in OPTIONS}
    for option in OPTIONS:
        assert f"`{option.flag}`" in documented[option.env]
