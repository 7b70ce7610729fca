"""The kit fails what is broken, naming the check: a family whose layout hook adds a placeholder, a torn store.

Both are broken in one way only, so the failures must be exactly the checks that look at that way,
all reported in one AssertionError.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import attrs
import mmrender
import pytest
from mmrender import hookimpl
from mmrender.testing import check_family, check_store


class OneTooMany:
    """A layout hook that answers one placeholder more than the family's LayoutEngine computes."""

    def __init__(self, family: str) -> None:
        self.family = family

    @hookimpl(tryfirst=True)
    def mmrender_image_layout(self, renderer: Any, width: int, height: int) -> Any:
        if renderer.family.id != self.family:
            return None
        layout = renderer.compute_layout(width, height)
        return attrs.evolve(layout, num_placeholders=layout.num_placeholders + 1)


def _failed_checks(message: str) -> set[str]:
    return set(re.findall(r"^  - \[(\w+)\]", message, flags=re.MULTILINE))


def test_a_layout_hook_with_one_placeholder_too_many_fails_the_kit() -> None:
    plugin = OneTooMany("qwen3_vl")
    mmrender.register_plugin(plugin, name="one-too-many")
    try:
        with pytest.raises(AssertionError) as info:
            check_family("Qwen/Qwen3-VL-8B-Instruct")
    finally:
        mmrender.unregister_plugin(plugin)
    message = str(info.value)
    # training_sample too: M-RoPE positions cannot lay a 71-id run on a grid of 70
    assert _failed_checks(message) == {"placeholder_runs", "header_only_layout", "training_sample"}, message
    assert "num_placeholders=" in message
    assert "3 of 13 checks failed for family Qwen/Qwen3-VL-8B-Instruct" in message


def test_the_same_family_passes_without_the_broken_hook() -> None:
    report = check_family("Qwen/Qwen3-VL-8B-Instruct", checks=["placeholder_runs", "header_only_layout"])
    assert [r.outcome for r in report] == ["passed", "passed"]


def test_a_store_whose_put_is_not_atomic_fails_the_kit(torn_store_site: Path, use_site: Any, tmp_path: Path) -> None:
    use_site(torn_store_site, "mmrender-torn-store")
    with pytest.raises(AssertionError) as info:
        check_store(f"tornfile://{tmp_path / 'torn'}")
    message = str(info.value)
    assert _failed_checks(message) == {"put_atomic_threads", "put_atomic_processes"}, message
    assert "put is not atomic" in message
