"""``tracesink serve`` runs the service; ``tracesink check`` validates settings, reaches the store;
``tracesink dev`` runs it for development with a private redis-server (dev/);
the terminal commands (``logs``, ``tail``, ``traces``, ``send``, ``doctor``, ``stats``, ``pin``,
``unpin``, ``export``, ``import``) talk to a running instance over HTTP and live in ``terminal/``,
one module each; so does ``tracesink mcp``, the MCP server over stdio for coding agents
(``terminal/mcp_command.py``, tools in ``agents/``).

argparse stays (rather than click or typer): the serve flags are generated from
``config_options.OPTIONS``, which argparse takes as data without decorators, and it costs no
dependency; ``rich`` does the terminal output (terminal/output.py).

Every flag is generated from ``config_options.OPTIONS``, so each one also works as a ``TRACESINK_*``
environment variable (the flag wins). The HTTP layer is not imported here: ``serve`` has uvicorn
load it by import string (``app/main.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from tracesink import __version__
from tracesink.config import Settings, load_settings
from tracesink.config_options import OPTIONS, Option
from tracesink.dev import command as dev
from tracesink.errors import ConfigurationError, TraceSinkError
from tracesink.masking import mask_url
from tracesink.pipeline import policy_from
from tracesink.server.run import serve
from tracesink.store.diagnose import probe
from tracesink.terminal import (
    doctor,
    export,
    import_trace,
    logs,
    mcp_command,
    pin,
    send,
    sourcemaps,
    stats,
    tail,
    traces,
)

# Commands that talk to a running server, and ``dev`` (which runs one): each module adds its
# parser and runs it.
TERMINAL_COMMANDS = {
    module.__name__.rsplit(".", 1)[1]: module
    for module in (logs, tail, traces, send, doctor, stats, sourcemaps, pin, export)
}
TERMINAL_COMMANDS["unpin"] = pin  # pin.add adds both, pin.run tells them apart
TERMINAL_COMMANDS["import"] = import_trace  # (``import`` cannot name a module)
TERMINAL_COMMANDS["dev"] = dev
TERMINAL_COMMANDS["mcp"] = mcp_command  # the MCP server over stdio (agents/)
DESCRIPTION = (
    "A log sink for developers: browsers, backends and edge workers send logs to one HTTP "
    "endpoint, each entry with a trace_id; one read returns a trace's whole story."
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tracesink", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"tracesink {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("serve", "run the HTTP service"),
        ("check", "validate the settings and reach the store, then exit"),
    ):
        command = commands.add_parser(name, help=help_text)
        for option in OPTIONS:
            # argparse formats help with %: a literal one is written %%.
            plain = option.plain_help.replace("%", "%%")
            option_help = f"{plain} (default: {default_text(option)}; env {option.env})"
            if option.switch:
                command.add_argument(
                    option.flag,
                    dest=option.name,
                    action="store_const",
                    const="true",
                    help=option_help,
                )
            else:
                command.add_argument(
                    option.flag, dest=option.name, metavar=option.name.upper(), help=option_help
                )
    for module in dict.fromkeys(TERMINAL_COMMANDS.values()):  # pin adds unpin too: once
        module.add(commands)
    return parser


def default_text(option: Option) -> str:
    """An option's default as a user would type it."""
    if option.name == "spool_dir":
        return "~/.local/state/tracesink/spool-PORT-STORE (a hash of the store URL)"
    value: Any = getattr(Settings(), option.name)
    if isinstance(value, Mapping):
        return ",".join(f"{k}={v}" for k, v in value.items()) or "none"
    if isinstance(value, tuple):
        return ",".join(value) or "none"
    if value is None or value is False:
        return "off" if option.switch else "none"
    if option.name == "max_commands_per_day" and value == 0:
        return "0 (no budget)"
    return str(value)


async def _check(settings: Settings) -> int:
    problem = await probe(settings.store, policy_from(settings))
    if problem is not None:
        print(
            f"tracesink: store {mask_url(settings.store)} is unreachable: {problem.cause}",
            file=sys.stderr,
        )
        return 1
    print(f"ok: store {mask_url(settings.store)} reachable; limits: {settings.describe_limits()}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    terminal = TERMINAL_COMMANDS.get(args.command)
    if terminal is not None:
        try:
            result: int = terminal.run(args)
        except TraceSinkError as exc:
            print(f"tracesink: {exc}", file=sys.stderr)
            return 1
        return result
    flags = {o.name: getattr(args, o.name) for o in OPTIONS if getattr(args, o.name) is not None}
    try:
        settings = load_settings(os.environ, flags)
        if args.command == "check":
            return asyncio.run(_check(settings))
        return serve(settings, flags)
    except ConfigurationError as exc:
        print(f"tracesink: configuration error: {exc}", file=sys.stderr)
        return 2
    except TraceSinkError as exc:
        print(f"tracesink: {exc}", file=sys.stderr)
        return 1
