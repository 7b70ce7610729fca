"""A render plan: the template's output as ordered special ids, text runs and images, each with its owner.

Text written back to back by one owner is one run, so BPE sees it exactly as the template's
output string would be split at special tokens. In the Kimi template every owner change
happens at a special token (``<|im_end|>`` then a role tag), so a run never spans two owners.
"""

from __future__ import annotations

from typing import Any

SPECIAL, TEXT, IMAGE = 0, 1, 2


class Plan:
    """Ops are ``(kind, payload, owner)``: a special id, a text run or an ``ImagePart``."""

    __slots__ = ("_owner", "_pieces", "ops")

    def __init__(self) -> None:
        self.ops: list[tuple[int, Any, int]] = []
        self._pieces: list[str] = []
        self._owner = -1

    def text(self, text: str, owner: int) -> None:
        if not text:
            return
        if self._pieces and owner != self._owner:
            self._flush()
        self._owner = owner
        self._pieces.append(text)

    def special(self, token_id: int, owner: int) -> None:
        self._flush()
        self.ops.append((SPECIAL, token_id, owner))

    def image(self, part: Any, owner: int) -> None:
        self._flush()
        self.ops.append((IMAGE, part, owner))

    def finish(self) -> list[tuple[int, Any, int]]:
        self._flush()
        return self.ops

    def _flush(self) -> None:
        if self._pieces:
            text = self._pieces[0] if len(self._pieces) == 1 else "".join(self._pieces)
            self.ops.append((TEXT, text, self._owner))
            self._pieces = []
