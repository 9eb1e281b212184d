"""The rules file (src/tracesink/rules.json) is the one definition: the Python service's settings
and entry decoding take it as written, and the edge Worker's copy (edge/src/rules.js) is exactly
what it generates. tests/edge/test_rules_agree.py runs the Worker's code against the same cases."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from dataclasses import fields
from pathlib import Path

import msgspec
import pytest

from tracesink import edge_rules, rules
from tracesink.config import Settings, load_settings
from tracesink.config_options import OPTIONS
from tracesink.ingest.model import AS_SENT, IncomingEntry
from tracesink.limits import Policy

ROOT = Path(__file__).parents[2]
EDGE_COPY = ROOT / "edge" / "src" / "rules.js"
WRANGLER = ROOT / "edge" / "wrangler.toml"
FILE = json.loads((ROOT / "src" / "tracesink" / "rules.json").read_text("utf-8"))


def test_the_edge_workers_copy_is_what_the_rules_file_generates() -> None:
    """edge/src/rules.js is the rules file as `python -m tracesink.edge_rules` prints it, so a rule
    changed without regenerating the Worker's copy fails here."""
    assert EDGE_COPY.read_text("utf-8") == edge_rules.render(), (
        "edge/src/rules.js is stale: run `python -m tracesink.edge_rules > edge/src/rules.js`"
    )
    printed = subprocess.run(
        [sys.executable, "-m", "tracesink.edge_rules"], capture_output=True, text=True, check=True
    ).stdout
    assert printed == EDGE_COPY.read_text("utf-8")


def test_the_edge_copy_holds_the_same_data() -> None:
    """The generated module is the file's data, value for value (not only the same text)."""
    text = EDGE_COPY.read_text("utf-8")
    data = text[text.index("export const RULES = ") + len("export const RULES = ") :]
    assert json.loads(data.rstrip().removesuffix(";")) == FILE


def test_the_settings_defaults_are_the_rules_files() -> None:
    """Every default of the rules file is the default of the Python setting of its name."""
    settings = Settings()
    assert set(FILE["defaults"]) <= {o.name for o in OPTIONS}
    for name, value in FILE["defaults"].items():
        given = getattr(settings, name)
        assert (list(given) if isinstance(given, tuple) else given) == value, name
    assert {f.name for f in fields(rules.Defaults)} == set(FILE["defaults"])


def test_the_expiry_slack_and_key_layout_are_the_rules_files() -> None:
    """The stores' key kinds, shared tag and prefix rule, and a trace's expiry slack, come from
    the rules file; store/keys.py knows the grammar of every kind the file lists."""
    from tracesink.store import keys, scripts

    layout = FILE["keys"]
    policy = Policy(1000, 100, {}, 3_600_000, 3_600_000, key_prefix="p:")
    assert policy.expiry_slack_ms == 3_600_000 // layout["expiry_slack_fraction"]
    assert scripts.logs_key(policy, "t") == "p:" + layout["kinds"]["trace"] + "{t}"
    shared = "{" + layout["shared_tag"] + "}"
    assert scripts.counters_key(policy, 7) == "p:" + layout["kinds"]["counters"] + shared + ":7"
    assert set(keys.KINDS) == set(layout["kinds"].values())
    assert keys.PREFIX.pattern == layout["prefix"]


def _type_names(kind: msgspec.inspect.Type) -> set[str]:
    names = {
        msgspec.inspect.StrType: "str",
        msgspec.inspect.IntType: "int",
        msgspec.inspect.FloatType: "float",
        msgspec.inspect.NoneType: "null",
        msgspec.inspect.RawType: "object",  # context: any JSON, checked to be an object later
    }
    members = kind.types if isinstance(kind, msgspec.inspect.UnionType) else (kind,)
    return {names[type(member)] for member in members}


def test_an_entry_takes_exactly_the_fields_and_types_of_the_rules_file() -> None:
    """IncomingEntry decodes the fields the rules file lists, each with the JSON types listed
    there (context, kept raw, takes any JSON and is refused later unless an object or null),
    and requires the ones it requires."""
    info = msgspec.inspect.type_info(IncomingEntry)
    assert isinstance(info, msgspec.inspect.StructType)
    listed = {k: v for k, v in FILE["entry"]["fields"].items() if k != "about"}
    assert [f.name for f in info.fields] == list(listed)
    for field in info.fields:
        expected = set(listed[field.name])
        if field.name == "context":
            expected = {"object"}
        assert _type_names(field.type) == expected, field.name
    assert [f.name for f in info.fields if f.required] == FILE["entry"]["required"]
    assert AS_SENT == ()  # every field of today's file is handled by name


def test_messages_fill_placeholders_and_refuse_a_missing_value() -> None:
    """A message's {placeholders} are filled with str() of their values; a value left out is a
    bug, raised, not a message with a hole in it."""
    assert rules.message("user_id", max=256) == "user_id must be at most 256 characters"
    with pytest.raises(KeyError):
        rules.message("user_id")


# Messages one runtime can never say, and why.
PYTHON_ONLY = {
    # The Worker decodes the whole body as strict UTF-8 before anything else (entries.decodeText),
    # so its context is never bad UTF-8; msgspec leaves a kept-raw value unchecked.
    "context_utf8",
}


@pytest.mark.parametrize("name", sorted(FILE["messages"]))
def test_every_message_is_used_by_both_ingesters(name: str) -> None:
    """No message of the rules file is dead in either runtime: each is named in the Python
    service's code and in the Worker's (where a copy of its words would otherwise drift)."""
    python = "\n".join(p.read_text("utf-8") for p in (ROOT / "src" / "tracesink").rglob("*.py"))
    edge = "\n".join(
        p.read_text("utf-8") for p in (ROOT / "edge" / "src").glob("*.js") if p.name != "rules.js"
    )
    used = re.compile(rf"""["'.]{name}["'\s,);]|MESSAGES\[["']{name}["']\]""")
    assert used.search(python), f"{name} is not used by the Python service"
    assert bool(used.search(edge)) != (name in PYTHON_ONLY), f"{name}: used by the edge Worker?"


def test_wrangler_sets_only_what_an_environment_changes() -> None:
    """edge/wrangler.toml keeps no copy of a default: wrangler does not pass top-level [vars] to
    an environment, so none are written there, and each variable an environment sets is one the
    Worker reads (a default of the rules file), valid for the Python service too, and different
    from its default, which lives in rules.json alone."""
    config = tomllib.loads(WRANGLER.read_text("utf-8"))
    assert "vars" not in config
    readable = {f"TRACESINK_{name.upper()}": name for name in FILE["defaults"]}
    environments = config["env"]
    assert set(environments) == {"production", "development"}
    for environment, table in environments.items():
        for variable, value in table.get("vars", {}).items():
            assert variable in readable, f"{environment}: the Worker does not read {variable}"
            name = readable[variable]
            assert getattr(load_settings({variable: value}), name) != getattr(Settings(), name), (
                f"{environment}: {variable} repeats the default of src/tracesink/rules.json"
            )
