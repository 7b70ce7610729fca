"""Core depends on exactly what it imports: every third-party module core's code imports is declared in
``core/pyproject.toml``, and every declared dependency is imported somewhere (issue 10: core listed
transformers, jinja2 and numpy while importing none of them)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "core"
#: Import name -> distribution name, where they differ.
DIST_OF = {"PIL": "pillow"}
#: Imported only by the conformance kit's pytest plugin, which pytest itself loads.
PYTEST_ONLY = {"pytest"}


def _imported_top_level_modules() -> set[str]:
    found: set[str] = set()
    for path in (CORE / "src" / "mmrender").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m not in {"mmrender", "__future__"}}


def _declared() -> tuple[set[str], set[str]]:
    project = tomllib.loads((CORE / "pyproject.toml").read_text(encoding="utf-8"))["project"]

    def names(specs: list[str]) -> set[str]:
        return {re.split(r"[<>=!~\[ ;]", spec, maxsplit=1)[0].lower() for spec in specs}

    extras = set().union(*(names(v) for v in project.get("optional-dependencies", {}).values()))
    return names(project["dependencies"]), extras


def test_every_import_is_declared_and_every_dependency_is_imported() -> None:
    required, extras = _declared()
    imported = {DIST_OF.get(m, m).lower() for m in _imported_top_level_modules()} - PYTEST_ONLY
    assert imported - required - extras == set(), "imported by core but not declared"
    assert required - imported == set(), "declared by core but never imported"
