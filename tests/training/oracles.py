"""Independent references for training samples, one per family.

- Ids and ``mm_token_type_ids``: the family's transformers processor (``return_mm_token_type_ids=True``)
  run on the official template's text and the decoded images.
- Positions: transformers' ``get_rope_index`` (Qwen3-VL and Qwen3.5 model classes) called on a config-only
  stand-in, with the processor's own ids, token types and grids; no weights are built.
- Loss masks: the generated part of each assistant turn found by a regular expression in the decoded
  bytes of the ids (not with mmrender's turn rule); an id is 1 when its bytes overlap that part.
"""

from __future__ import annotations

import functools
import json
import re
import types
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
from PIL import Image

QWEN3_VL_DIR = Path("/work/shared/fixtures/qwen3_vl/Qwen3-VL-8B-Instruct")
FAMILIES = Path(__file__).resolve().parents[2] / "families"
KIMI_ASSETS = FAMILIES / "kimi_k25/src/mmrender_kimi_k25/assets"
THINKING_TEMPLATE = FAMILIES / "qwen3_vl/src/mmrender_qwen3_vl/assets/Qwen3-VL-8B-Thinking/chat_template.json"
PARITY = {"special_tokens_in_text": "control"}  # the oracles turn special-token text into control tokens

QWEN_TURN = re.compile(rb"<\|im_start\|>assistant\n(.*?<\|im_end\|>)", re.S)
KIMI_TURN = re.compile(rb"<\|im_assistant\|>[^<]*<\|im_middle\|>(.*?<\|im_end\|>)", re.S)


@functools.cache
def _byte_decoder() -> dict[str, int]:
    """GPT-2's byte-to-unicode table, inverted: byte-level BPE token strings back to bytes."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), 256))
    chars, n = list(keep), 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(keep, chars, strict=True)}


def image_paths(messages: Sequence[Mapping[str, Any]]) -> list[str]:
    return [
        p["image"]
        for m in messages
        if isinstance(m.get("content"), list)
        for p in m["content"]
        if p.get("type") == "image"
    ]


@attrs.define
class FamilyOracle:
    model: str
    processor: Any
    text_fn: Any
    turn: re.Pattern[bytes]
    pad_token: str
    rope_model: Any = None  # the transformers model class whose get_rope_index positions are checked
    rope_config: Any = None
    collapse_runs: bool = False  # Kimi: the processor expands each image; mmrender keeps one pad per image

    @property
    def tokenizer(self) -> Any:
        return self.processor.tokenizer

    @property
    def pad_id(self) -> int:
        return self.tokenizer.convert_tokens_to_ids(self.pad_token)

    def run(self, messages: list[dict[str, Any]], tools: Any) -> dict[str, Any]:
        """Ids, token types and grids from the processor on the template text and the decoded images."""
        text = self.text_fn(messages, tools)
        paths = image_paths(messages)
        pil = [Image.open(p).convert("RGB") for p in paths] or None
        out = self.processor(text=[text], images=pil, return_mm_token_type_ids=True, return_tensors="np")
        ids = out["input_ids"][0].tolist()
        kinds = out["mm_token_type_ids"][0].tolist()
        grids = out["image_grid_thw"].tolist() if "image_grid_thw" in out else []
        assert len(grids) == len(paths)
        if self.collapse_runs:
            ids, kinds = _collapse(ids, kinds, self.pad_id)
        return {"ids": ids, "types": kinds, "grids": grids, "expanded": out}

    def positions(self, ids: list[int], kinds: list[int], grids: list[list[int]]) -> tuple[list[list[int]], int]:
        """``get_rope_index`` of the model class on a stand-in holding only the config."""
        import torch

        stand_in = types.SimpleNamespace(config=self.rope_config)
        stand_in.get_vision_position_ids = functools.partial(self.rope_model.get_vision_position_ids, stand_in)
        pos, delta = self.rope_model.get_rope_index(
            stand_in,
            torch.tensor([ids]),
            torch.tensor([kinds]),
            image_grid_thw=torch.tensor(grids) if grids else None,
        )
        return pos[:, 0, :].tolist(), int(delta.reshape(-1)[0])

    def loss_mask(self, ids: Sequence[int], train_on: str) -> list[int]:
        """1 on ids whose bytes overlap an assistant turn's generated part (regex on the decoded bytes)."""
        decoder = _byte_decoder()
        pieces = [bytes(decoder[c] for c in tok) for tok in self.tokenizer.convert_ids_to_tokens(list(ids))]
        text = b"".join(pieces)
        spans = [m.span(1) for m in self.turn.finditer(text)]
        if train_on == "last_assistant":
            spans = spans[-1:]
        mask, at = [], 0
        for tid, piece in zip(ids, pieces, strict=True):
            start, at = at, at + len(piece)
            inside = any(start < end and at > begin for begin, end in spans)
            mask.append(int(inside and tid != self.pad_id))
        return mask


def _collapse(ids: list[int], kinds: list[int], pad: int) -> tuple[list[int], list[int]]:
    out_ids, out_kinds = [], []
    for k, (tid, kind) in enumerate(zip(ids, kinds, strict=True)):
        if tid == pad and k > 0 and ids[k - 1] == pad:
            continue
        out_ids.append(tid)
        out_kinds.append(kind)
    return out_ids, out_kinds


@functools.cache
def qwen3_vl(thinking: bool = False) -> FamilyOracle:
    """Instruct: the processor's own template; Thinking: the official Thinking template text (same tokenizer)."""
    from transformers import AutoProcessor, Qwen3VLConfig, Qwen3VLModel

    proc = AutoProcessor.from_pretrained(str(QWEN3_VL_DIR), local_files_only=True)
    template = json.loads(THINKING_TEMPLATE.read_text(encoding="utf-8"))["chat_template"] if thinking else None

    def text(messages: list[dict[str, Any]], tools: Any) -> str:
        return proc.apply_chat_template(messages, tools=tools, tokenize=False, chat_template=template)

    model = "Qwen/Qwen3-VL-8B-Thinking" if thinking else "Qwen/Qwen3-VL-8B-Instruct"
    return FamilyOracle(model, proc, text, QWEN_TURN, "<|image_pad|>", Qwen3VLModel, Qwen3VLConfig())


@functools.cache
def qwen3_5(variant: str = "large") -> FamilyOracle:
    from mmrender_qwen3_5.templates import ASSETS, VARIANTS
    from mmrender_qwen3_5.tokenizer import bundled_tokenizer
    from transformers import Qwen3_5Config, Qwen3_5Model, Qwen3VLProcessor, Qwen3VLVideoProcessor
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    base = ASSETS / "Qwen3.5-0.8B"
    improc = Qwen2VLImageProcessorPil(**json.loads((base / "preprocessor_config.json").read_text()))
    video = Qwen3VLVideoProcessor(**json.loads((base / "video_preprocessor_config.json").read_text()))
    tok = bundled_tokenizer("small")
    proc = Qwen3VLProcessor(image_processor=improc, tokenizer=tok, video_processor=video)
    template = VARIANTS[variant].text()

    def text(messages: list[dict[str, Any]], tools: Any) -> str:
        return tok.apply_chat_template(messages, tools=tools, tokenize=False, chat_template=template)

    model = {"large": "Qwen/Qwen3.5-9B", "small": "Qwen/Qwen3.5-0.8B"}[variant]
    return FamilyOracle(model, proc, text, QWEN_TURN, "<|image_pad|>", Qwen3_5Model, Qwen3_5Config())


@functools.cache
def kimi(model: str = "moonshotai/Kimi-K2.6") -> FamilyOracle:
    from kimi_k25.oracle import oracle_text
    from transformers import AutoTokenizer, Kimi_K25ImageProcessor, Kimi_K25Processor, Kimi_K25VideoProcessor

    tok = AutoTokenizer.from_pretrained(str(KIMI_ASSETS), local_files_only=True)
    improc = Kimi_K25ImageProcessor(
        max_patches=16384, size={"max_height": 512, "max_width": 512}, patch_size=14, merge_size=2
    )
    proc = Kimi_K25Processor(image_processor=improc, tokenizer=tok, video_processor=Kimi_K25VideoProcessor())

    def text(messages: list[dict[str, Any]], tools: Any) -> str:
        return oracle_text(messages, tools, model=model)

    return FamilyOracle(model, proc, text, KIMI_TURN, "<|media_pad|>", collapse_runs=True)


#: One oracle per family (the default checkpoint of each); ``VARIANTS`` adds the other templates.
ORACLES = {"qwen3_vl": qwen3_vl, "qwen3_5": qwen3_5, "kimi_k25": kimi}
VARIANTS = {
    **ORACLES,
    "qwen3_vl_thinking": functools.partial(qwen3_vl, True),
    "qwen3_5_small": functools.partial(qwen3_5, "small"),
    "kimi_k25_k25": functools.partial(kimi, "moonshotai/Kimi-K2.5"),
}
