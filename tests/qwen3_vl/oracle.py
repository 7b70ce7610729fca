"""The reference pipeline: official template via apply_chat_template, then placeholder expansion with
the grid transformers' image processor computes on the decoded image (what Qwen3VLProcessor does).

The tokenizer's own template is the Instruct one; the Thinking oracle passes the official Thinking
template text, which also writes the images of system and assistant messages.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from .conftest import decode_source

IMAGE_PAD = "<|image_pad|>"
#: Renderer options of every parity check: the oracle (official template + tokenizer) turns a special
#: token spelled in text into the control token, which is ``special_tokens_in_text="control"``.
PARITY = {"special_tokens_in_text": "control"}
INSTRUCT_IMAGE_ROLES = ("user", "tool")
THINKING_IMAGE_ROLES = ("system", "user", "assistant", "tool")


def is_image_part(part: Any) -> bool:
    """The template's own test: ``content.type == 'image' or 'image' in content or 'image_url' in content``."""
    return isinstance(part, Mapping) and (part.get("type") == "image" or "image" in part or "image_url" in part)


def part_source(part: Mapping[str, Any]) -> Any:
    if "image_url" in part:
        value = part["image_url"]
        return value["url"] if isinstance(value, Mapping) else value
    for key in ("image", "url", "path"):
        if part.get(key) is not None:
            return part[key]
    raise AssertionError(f"test image part without a source: {part}")


def image_parts(messages: list[dict], roles: tuple[str, ...] = INSTRUCT_IMAGE_ROLES) -> list[Any]:
    """Image sources in message order, for the roles whose images the template emits (Instruct: user and
    tool turns). The oracle asserts the template wrote exactly that many placeholders."""
    out = []
    for m in messages:
        if m["role"] in roles and isinstance(m.get("content"), list):
            out += [part_source(p) for p in m["content"] if is_image_part(p)]
    return out


def _key(source: Any) -> Any:
    if isinstance(source, bytes | bytearray):
        return hashlib.sha256(source).hexdigest()
    if isinstance(source, str):
        return source
    return id(source)


class Oracle:
    def __init__(
        self,
        tokenizer: Any,
        image_processor: Any,
        chat_template: str | None = None,
        image_roles: tuple[str, ...] = INSTRUCT_IMAGE_ROLES,
    ) -> None:
        self.tok = tokenizer
        self.improc = image_processor
        self.chat_template = chat_template
        self.image_roles = image_roles
        self.pad = tokenizer.convert_tokens_to_ids(IMAGE_PAD)
        self._grids: dict[Any, tuple[int, int, int]] = {}

    def grid(self, source: Any) -> tuple[int, int, int]:
        key = _key(source)
        if key not in self._grids:
            out = self.improc(images=[decode_source(source)], return_tensors="np")
            self._grids[key] = tuple(int(v) for v in out["image_grid_thw"][0])
        return self._grids[key]

    def text(self, messages: list[dict], **kwargs: Any) -> str:
        if self.chat_template is not None:
            kwargs["chat_template"] = self.chat_template
        return self.tok.apply_chat_template(messages, tokenize=False, **kwargs)

    def render(self, messages: list[dict], **kwargs: Any) -> tuple[list[int], list[tuple[int, int]], list[tuple]]:
        """Expanded ids, placeholder (offset, length) ranges and grids, as the HF processor would."""
        ids = self.tok.encode(self.text(messages, **kwargs), add_special_tokens=False)
        sources = image_parts(messages, self.image_roles)
        assert ids.count(self.pad) == len(sources), "template placeholders != image parts"
        out: list[int] = []
        ranges, grids = [], []
        it = iter(sources)
        for t in ids:
            if t != self.pad:
                out.append(t)
                continue
            grid = self.grid(next(it))
            n = grid[0] * grid[1] * grid[2] // 4
            ranges.append((len(out), n))
            grids.append(grid)
            out += [t] * n
        return out, ranges, grids
