"""The conformance kit on every bundled family, and on the out-of-tree example family.

Every check must pass, and none may quietly turn "not applicable" for a family it applies to:
the expected not-applicable checks are listed per family.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mmrender.testing import FAMILY_CHECKS, check_family


def _kimi_tokenizer_dir() -> Path:
    from mmrender_kimi_k25.tokenizer import ASSETS

    return ASSETS


#: One model per bundled family (and Qwen3-VL's Thinking rules); every check applies to each.
BUNDLED = ("Qwen/Qwen3-VL-8B-Instruct", "Qwen/Qwen3-VL-2B-Thinking", "Qwen/Qwen3.5-2B", "moonshotai/Kimi-K2.5")
#: Kimi's tiktoken tokenizer has no directory of its own: the kit is told where its files are.
TOKENIZER_DIRS = {"moonshotai/Kimi-K2.5": _kimi_tokenizer_dir}


def _outcomes(report: Any) -> dict[str, str]:
    return {result.check: result.outcome for result in report}


@pytest.mark.parametrize("model", BUNDLED)
def test_bundled_family_passes_the_kit(model: str) -> None:
    directory = TOKENIZER_DIRS.get(model)
    report = check_family(model, tokenizer_path=directory() if directory else None)  # raises, listing every failure
    outcomes = _outcomes(report)
    assert list(outcomes) == list(FAMILY_CHECKS)
    assert set(outcomes.values()) == {"passed"}
    notes = {r.check: r.detail for r in report}
    assert "path form not checked" not in notes["tokenizer_forms"]


def test_out_of_tree_family_passes_the_kit(throwaway_site: Path, use_site: Any) -> None:
    use_site(throwaway_site, "mmrender-throwaway-family")
    report = check_family("acme/toy-vl-1")
    outcomes = _outcomes(report)
    # it has no tokenizer: nothing spells its placeholder, and there are no tokenizer forms
    assert {n for n, o in outcomes.items() if o == "not_applicable"} == {"placeholder_text_refused", "tokenizer_forms"}
    assert all(o == "passed" for n, o in outcomes.items() if n not in ("placeholder_text_refused", "tokenizer_forms"))


def test_images_can_be_given(tmp_path: Path) -> None:
    from mmrender.testing.images import image_bytes

    path = tmp_path / "wide.png"
    path.write_bytes(image_bytes(900, 120))
    report = check_family(
        "Qwen/Qwen3-VL-8B-Instruct", images=[str(path), image_bytes(50, 50, "JPEG")], checks=["placeholder_runs"]
    )
    assert [r.outcome for r in report] == ["passed"]


def test_unknown_check_names_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown check"):
        check_family("Qwen/Qwen3-VL-8B-Instruct", checks=["no_such_check"])
