"""Meta-tests that keep the hook surface honest (as datasette does).

1. Every hookspec is documented in docs/hooks.md with its exact signature and firstresult flag,
   and the page documents no hook that does not exist.
2. Every hookspec is exercised by at least one test file other than this one.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from mmrender import hookspecs

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "hooks.md"
SIGNATURE_RE = re.compile(r"^- \*\*Signature:\*\* `(?P<name>\w+)(?P<sig>\(.*)`\s*$", re.MULTILINE)
FIRSTRESULT_RE = re.compile(
    r"^### `(?P<name>\w+)`$.*?^- \*\*firstresult:\*\* (?P<flag>yes|no)\s*$", re.MULTILINE | re.DOTALL
)


def _specs() -> dict[str, object]:
    return {name: fn for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(fn, "mmrender_spec")}


SPECS = _specs()


def _signature(fn: object) -> str:
    """The spec's signature as written in the source (annotations are strings under PEP 563)."""
    return str(inspect.signature(fn)).replace("'", "")


def test_there_are_hooks():
    assert {
        "register_families",
        "register_storage_backends",
        "register_ref_codecs",
        "mmrender_image_layout",
        "mmrender_render",
        "mmrender_serialize_ref",
    } <= set(SPECS)


def _documented() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    found: dict[str, str] = {}
    for m in SIGNATURE_RE.finditer(text):
        assert m["name"] not in found, f"{m['name']} documented twice"
        found[m["name"]] = m["sig"]
    return found


@pytest.mark.parametrize("name", sorted(SPECS))
def test_hook_is_documented_with_its_exact_signature(name):
    documented = _documented()
    assert name in documented, f"docs/hooks.md does not document {name}"
    assert documented[name] == _signature(SPECS[name])


@pytest.mark.parametrize("name", sorted(SPECS))
def test_hook_firstresult_flag_is_documented(name):
    flags = {m["name"]: m["flag"] == "yes" for m in FIRSTRESULT_RE.finditer(DOC.read_text(encoding="utf-8"))}
    assert flags.get(name) == SPECS[name].mmrender_spec["firstresult"]


def test_docs_document_no_missing_hook():
    assert set(_documented()) == set(SPECS)


def _test_sources() -> str:
    here = Path(__file__).resolve()
    files = [p for p in (REPO / "tests").rglob("test_*.py") if p.resolve() != here]
    return "\n".join(p.read_text(encoding="utf-8") for p in files)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_hook_has_a_test(name):
    assert re.search(rf"\b{name}\b", _test_sources()), f"no test under tests/ mentions hook {name}"
