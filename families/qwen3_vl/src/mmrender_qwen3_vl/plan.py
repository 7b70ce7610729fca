"""A render plan: the template's output as ordered special ids, text runs and images, each with its owner.

The template module walks a conversation the way the Jinja template does and writes into a
:class:`Plan`; the renderer then tokenizes all text runs in one batch and splices images. Text
written back to back is one run (BPE may merge across the pieces), so a run only ends at a
structural special token, an image, or the end.
"""

from __future__ import annotations

from typing import Any

SPECIAL, TEXT, MIXED, IMAGE = 0, 1, 2, 3


class Plan:
    """Ops are ``(kind, payload, owner)``; MIXED runs carry ``[(text, owner), ...]`` pieces instead."""

    __slots__ = ("_owner", "_pieces", "ops")

    def __init__(self) -> None:
        self.ops: list[tuple[int, Any, int]] = []
        self._pieces: list[tuple[str, int]] = []
        self._owner: int | None = None  # set while every pending piece has one owner

    def text(self, text: str, owner: int) -> None:
        if not text:
            return
        if not self._pieces:
            self._owner = owner
        elif self._owner != owner:
            self._owner = None
        self._pieces.append((text, owner))

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
        pieces = self._pieces
        if not pieces:
            return
        if self._owner is not None:
            text = pieces[0][0] if len(pieces) == 1 else "".join(p[0] for p in pieces)
            self.ops.append((TEXT, text, self._owner))
        else:
            self.ops.append((MIXED, list(pieces), -1))
        self._pieces = []
        self._owner = None
