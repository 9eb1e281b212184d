"""The configuration reference, docs/configuration.md, rendered from the settings themselves.

Names, flags, meanings (``Option.help``, the one text ``--help`` shows too) and defaults come
from ``config_options.OPTIONS`` and ``config.Settings``; only the page around the table is written
here (tests/unit/test_docs.py fails while docs/configuration.md differs from what this renders).
Regenerate with::

    python -m tracesink.config_reference > docs/configuration.md
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, fields
from typing import Any

from tracesink.config import IGNORED_ENV, Settings
from tracesink.config_options import OPTIONS, Option

# Defaults that are not a literal value of the dataclass field, in words.
DEFAULTS_IN_WORDS: Mapping[str, str] = {
    "cors_origins": "(loopback: any, to send only)",
    "spool_dir": "`~/.local/state/tracesink/spool-<port>-<store hash>`",
    "max_commands_per_day": "`0` (off)",
}

INTRO = """\
Every setting is an environment variable and a flag of `tracesink serve` (the flag wins;
`tracesink serve --help` lists them with their defaults). A bad value stops start-up with a message
naming it as you wrote it (the flag or the variable); an unknown `TRACESINK_*` variable does too,
suggesting the setting you probably meant. The defaults of the limits and sizes are those of
`src/tracesink/rules.json`, which the [edge Worker](edge.md) reads too."""

OUTRO = """\
With `TRACESINK_STORE=upstash`, the store's REST URL and token come from Upstash's own variables,
`UPSTASH_REDIS_REST_URL` and `UPSTASH_REDIS_REST_TOKEN` (see
[Upstash as the store](deploy.md#upstash-as-the-store)).

`tracesink check` validates the settings and reaches the store; it exits 0 when both are
fine, 1 when the store cannot be reached, 2 when a setting is invalid (the message names
its variable or flag; a value left at the deploy template's `CHANGE-ME` is invalid).
`tracesink stats [--url http://127.0.0.1:8787] [--json]` prints a running instance's `/stats` in
the terminal (with `TRACESINK_READ_TOKEN` from the environment when reads are protected); the
other terminal commands are in [Reading a trace](reading.md)."""


def shown_default(option: Option) -> str:
    """The default as a user would write it in the variable, or ``(none)``."""
    if option.name in DEFAULTS_IN_WORDS:
        return DEFAULTS_IN_WORDS[option.name]
    value: Any = {f.name: f for f in fields(Settings)}[option.name].default
    if value is MISSING:  # a field with a default_factory
        value = getattr(Settings(), option.name)
    if value is None or value in ("", (), {}):
        return "(none)"
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, Mapping):
        text = ",".join(f"{key}={item}" for key, item in value.items())
    elif isinstance(value, tuple):
        text = ",".join(str(item) for item in value)
    elif isinstance(value, float):
        text = f"{value:.2f}" if value < 1 else f"{value:g}"
    else:
        text = str(value)
    return f"`{text}`"


def render() -> str:
    """docs/configuration.md, whole."""
    rows = [f"| `{o.env}` | `{o.flag}` | {shown_default(o)} | {o.help} |" for o in OPTIONS]
    others = ", ".join(f"`{name}`" for name in sorted(IGNORED_ENV))
    return "\n".join(
        [
            "# Configuration",
            "",
            "<!-- Generated from src/tracesink/config_options.py by "
            "`python -m tracesink.config_reference > docs/configuration.md`; do not edit. -->",
            "",
            INTRO,
            "",
            "| variable | flag | default | meaning |",
            "|---|---|---|---|",
            *rows,
            "",
            f"Also read, by the terminal commands rather than the service: {others} (see "
            "[Reading a trace](reading.md)).",
            "",
            OUTRO,
            "",
        ]
    )


if __name__ == "__main__":
    print(render(), end="")
