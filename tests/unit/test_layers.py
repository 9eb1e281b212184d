"""The layers import downwards only: nothing outside ``tracesink.app`` imports the app.

The HTTP app (``app/``) sits on top: the server under it (``server/``), the pipeline, the store and
the rest never name it, so each can be used and tested without it. Imports are read with ``ast``
(statically, so an import inside a function counts too); the server loads the app by an import
string (``server/run.py``'s ``APP``), which is not an import and is not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

import tracesink

PACKAGE = Path(tracesink.__file__).parent
APP = "tracesink.app"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_of(path: Path) -> list[str]:
    """The package a module of tracesink/ is in, as parts: relative imports start from it."""
    parts = module_name(path).split(".")
    return parts if path.name == "__init__.py" else parts[:-1]


def imported(path: Path, package: list[str]) -> set[str]:
    """Every module name an ``import`` or ``from … import …`` in ``path`` may bind, relative
    imports resolved from ``package``, ``from X import y`` counted as both ``X`` and ``X.y``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def in_app(name: str) -> bool:
    return name == APP or name.startswith(f"{APP}.")


def app_imports(names: set[str]) -> list[str]:
    return sorted(filter(in_app, names))


def test_no_module_outside_the_app_imports_the_app() -> None:
    """No module under tracesink/ but those of tracesink/app/ imports tracesink.app (server/
    included: it is the layer under the app)."""
    offenders = {
        module_name(path): app_imports(imported(path, package_of(path)))
        for path in sorted(PACKAGE.rglob("*.py"))
        if not in_app(module_name(path)) and app_imports(imported(path, package_of(path)))
    }
    assert offenders == {}, f"modules under the app import it: {offenders}"


def test_the_check_sees_absolute_relative_and_nested_imports(tmp_path: Path) -> None:
    """The import reader finds the app behind every spelling of an import (so the test above
    cannot pass by missing one)."""
    spellings = {
        "absolute.py": "from tracesink.app.streaming import STOP_ON_SHUTDOWN\n",
        "plain.py": "import tracesink.app.main\n",
        "parent.py": "from tracesink import app\n",
        "relative.py": "from ..app import streaming\n",
        "nested.py": "def f():\n    from tracesink.app import http\n",
    }
    server = tmp_path / "tracesink" / "server"
    server.mkdir(parents=True)
    for name, source in spellings.items():
        (server / name).write_text(source)
    found = {
        name: app_imports(imported(server / name, ["tracesink", "server"])) for name in spellings
    }
    assert all(found.values()), found
    scope_keys = PACKAGE / "scope_keys.py"
    assert app_imports(imported(scope_keys, package_of(scope_keys))) == []
