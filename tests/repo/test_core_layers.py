"""Core's imports only point down: data and kit < plugin manager < dispatch < wire/materialize/CLI.

Function-local imports count too: a deferred import that runs upward is the import circle
docs/architecture.md says core does not have. A module not listed here is taken to be on top, so a
new module may import anything, and only what is listed below has to stay below.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "core" / "src" / "mmrender"

DATA, PLUGINS, DISPATCH, TOP = 0, 1, 2, 3
LAYER_NAMES = {DATA: "data/kit", PLUGINS: "plugin manager", DISPATCH: "dispatch", TOP: "wire/materialize/CLI"}

LAYERS = {
    # data and the family kit: pure, never ask the plugin manager
    **dict.fromkeys(
        (
            "background",
            "bridging",
            "bundled_tokenizer",
            "completion",
            "conversation",
            "encoders",
            "errors",
            "family",
            "generate_checks",
            "host",
            "hookspecs",
            "image_headers",
            "image_limits",
            "images",
            "in_memory_images",
            "layout_engines",
            "marked",
            "merge",
            "network",
            "orientation",
            "placeholders",
            "plan",
            "positions",
            "ref_codecs",
            "renderer",
            "samples",
            "special_tokens",
            "tokenizer_loading",
            "storage",
            "template_settings",
            "token_buffer",
            "training",
            "trajectory",
            "turns",
            "types",
            "version",
            "video",
            "video_probe",
            "video_frames",
            "mp4_rotation",
        ),
        DATA,
    ),
    "plugins": PLUGINS,
    "default_plugin": PLUGINS,
    "dispatch": DISPATCH,
    "resolve": DISPATCH,
    "refs": DISPATCH,
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(CORE).with_suffix("")
    return ".".join(rel.parts)


def _layer(module: str) -> int:
    return LAYERS.get(module, TOP)


def _imported(path: Path) -> list[tuple[int, str]]:
    """(line, core module) for every import of a core module in ``path``, wherever it sits."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module_name(path).split(".")[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                target = [*base, *(node.module.split(".") if node.module else [])]
            elif node.module and node.module.split(".")[0] == "mmrender":
                target = node.module.split(".")[1:]
            else:
                continue
            if node.module is None or not target:  # ``from . import x``: x is the module
                found += [(node.lineno, ".".join([*target, alias.name])) for alias in node.names]
            else:
                found.append((node.lineno, ".".join(target)))
        elif isinstance(node, ast.Import):
            found += [
                (node.lineno, alias.name.split(".", 1)[1]) for alias in node.names if alias.name.startswith("mmrender.")
            ]
    return found


def _type_only_lines(path: Path) -> set[int]:
    """Lines inside ``if TYPE_CHECKING:`` blocks: annotations, not imports that run."""
    lines: set[int] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


SOURCES = sorted(CORE.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=[_module_name(p) for p in SOURCES])
def test_no_import_runs_upward(path: Path) -> None:
    module = _module_name(path)
    if module.endswith("__init__") and module != "__init__":
        module = module.removesuffix(".__init__")
    own = _layer(module)
    type_only = _type_only_lines(path)
    upward = [
        f"line {line}: {target} ({LAYER_NAMES[_layer(target)]})"
        for line, target in _imported(path)
        if line not in type_only and _layer(target) > own
    ]
    assert not upward, f"{module} ({LAYER_NAMES[own]}) imports upward: " + "; ".join(upward)


def test_the_layer_map_names_existing_modules() -> None:
    """A renamed module must not leave a stale entry that lets its new name float to the top."""
    existing = {_module_name(p) for p in SOURCES}
    assert set(LAYERS) <= existing, sorted(set(LAYERS) - existing)
