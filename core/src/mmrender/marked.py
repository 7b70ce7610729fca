"""Template string operations over content that mixes text and images, without turning images into text.

Chat templates render a message's content to one string (images become placeholder markup) and then
split or strip it (``<think>`` handling, ``|trim``). :class:`MarkedText` stands one private-use
character in for each image, absent from every text it is mixed with, so the same Python string
operations put each image exactly where the template's placeholder lands, and show which images the
template's operations dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any


class MarkedText:
    """``text``: the pieces joined, each non-string piece (an image) replaced by its own mark character."""

    def __init__(self, pieces: Sequence[Any], avoid: str = "") -> None:
        used = "".join(p for p in pieces if isinstance(p, str)) + avoid
        images = [p for p in pieces if not isinstance(p, str)]
        free = (chr(c) for c in range(0xE000, 0x110000) if chr(c) not in used)
        self._marks = {next(free): image for image in images}
        by_image = {id(image): mark for mark, image in self._marks.items()}
        self.text = "".join(p if isinstance(p, str) else by_image[id(p)] for p in pieces)
        self._split = re.compile("([" + "".join(self._marks) + "])") if self._marks else None

    def pieces(self, text: str) -> list[Any]:
        """``text`` (derived from :attr:`text`) back as pieces: strings and the images its marks stand for."""
        if self._split is None:
            return [text] if text else []
        return [self._marks.get(s, s) for s in self._split.split(text) if s]

    def missing(self, *texts: str) -> list[Any]:
        """The images whose mark appears in none of ``texts`` (what the template's operations dropped)."""
        return [image for mark, image in self._marks.items() if not any(mark in t for t in texts)]
