"""docs/testing.md documents every check of the kit, in the order the kit runs them."""

from __future__ import annotations

import re
from pathlib import Path

from mmrender.testing import FAMILY_CHECKS, STORE_CHECKS

DOC = (Path(__file__).resolve().parents[2] / "docs" / "testing.md").read_text(encoding="utf-8")


def _table(heading: str) -> list[str]:
    section = DOC.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE)


def test_every_family_check_is_documented_in_order() -> None:
    assert _table("Family checks") == list(FAMILY_CHECKS)


def test_every_store_check_is_documented_in_order() -> None:
    assert _table("Store checks") == list(STORE_CHECKS)
