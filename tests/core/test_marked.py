"""MarkedText: a template's string operations over text mixed with images put each image where the
template's placeholder markup would land (checked against the same operations on rendered markup)."""

from __future__ import annotations

import pytest
from mmrender.marked import MarkedText

MARKUP = "<|vision_start|><|image_pad|><|vision_end|>"


class Image:
    """Stands in for an image part (anything that is not a string)."""


def _split(text: str) -> tuple[str, str]:
    """The Qwen templates' inline ``</think>`` split (reasoning, content)."""
    reasoning = text.split("</think>")[0].rstrip("\n").split("<think>")[-1].lstrip("\n")
    return reasoning, text.split("</think>")[-1].lstrip("\n")


def _render(pieces: list) -> str:
    return "".join(p if isinstance(p, str) else MARKUP for p in pieces)


@pytest.mark.parametrize(
    "layout",
    [
        ["  ", "IMG", "<think>r ", "IMG", "\n</think>\n\nanswer ", "IMG", " \n"],
        ["<think>", "IMG", "</think>", "IMG"],
        ["IMG", "IMG", "plain"],
        ["a</think>", "IMG", "</think>b"],
    ],
)
def test_operations_match_the_rendered_markup(layout: list[str]) -> None:
    pieces = [Image() if p == "IMG" else p for p in layout]
    marked = MarkedText(pieces)
    reasoning, content = _split(marked.text.strip())
    want_reasoning, want_content = _split(_render(pieces).strip())
    assert _render(marked.pieces(reasoning)) == want_reasoning
    assert _render(marked.pieces(content)) == want_content
    kept = marked.pieces(reasoning) + marked.pieces(content)
    assert [p for p in pieces if isinstance(p, Image) and not any(p is k for k in kept)] == marked.missing(
        reasoning, content
    )


def test_marks_avoid_characters_already_in_the_text() -> None:
    taken = "".join(chr(c) for c in range(0xE000, 0xE010))
    image = Image()
    marked = MarkedText([taken, image], avoid="\ue010")
    assert marked.text.startswith(taken) and marked.text[-1] not in taken + "\ue010"
    assert marked.pieces(marked.text) == [taken, image]
