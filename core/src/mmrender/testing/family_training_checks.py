"""Family check on training samples: ``build_training_sample`` agrees with the render it comes from.

Token types and positions come from core (the sidecar's ranges and the family's ``training_spec``);
what a family can get wrong is its spec (turn boundaries, position scheme, grid key) and its
ownership of ids, so the check compares the sample with the family's own render and sidecar.
"""

from __future__ import annotations

from typing import Any

from ..errors import MMRenderError
from ..renderer import Renderer
from ..samples import TrainingSample
from ..types import MultiModalData, RenderedTokens
from .family_context import FamilyContext
from .registry import NotApplicable, family_check

#: ``mm_token_type_ids`` per sidecar modality, as transformers' processors write them.
TOKEN_TYPE = {"image": 1, "video": 2}

#: The assistant turn the sample trains on, after the kit's image conversation.
FINAL_ANSWER = {"role": "assistant", "content": "The second one is larger."}


def _expected_types(length: int, data: MultiModalData) -> list[int]:
    types = [0] * length
    for modality, ranges in data.mm_placeholders.items():
        for rng in ranges:
            types[rng.offset : rng.end] = [TOKEN_TYPE.get(modality, -1)] * rng.length
    return types


def _check_rows(sample: TrainingSample, rendered: RenderedTokens, roles: list[str], what: str) -> None:
    """Row lengths, token types, loss-mask owners and position rows of one sample against its render."""
    n = len(sample.token_ids)
    rows = {"message_indices": sample.message_indices, "loss_mask": sample.loss_mask}
    rows["mm_token_type_ids"] = sample.mm_token_type_ids
    rows.update({f"position_ids[{i}]": row for i, row in enumerate(sample.position_ids)})
    for name, row in rows.items():
        assert len(row) == n, f"{what}: {name} has {len(row)} entries for {n} token ids"
    assert len(sample.position_ids) in (1, 3), (
        f"{what}: {len(sample.position_ids)} position rows (1 for 1-D RoPE, 3 for M-RoPE t/h/w)"
    )
    types = _expected_types(n, sample.multi_modal_data)
    wrong = [i for i, (got, want) in enumerate(zip(sample.mm_token_type_ids, types, strict=True)) if got != want]
    assert not wrong, (
        f"{what}: mm_token_type_ids at {wrong[:10]} are not 1 on image ranges, 2 on video ranges and 0 elsewhere"
    )
    assistants = {i for i, role in enumerate(roles) if role == "assistant"}
    trained = [i for i, bit in enumerate(sample.loss_mask) if bit]
    stray = [i for i in trained if sample.message_indices[i] not in assistants]
    assert not stray, (
        f"{what}: loss_mask is 1 at {stray[:10]}, ids owned by messages {sorted({sample.message_indices[i] for i in stray})} "
        f"that are not assistant messages ({sorted(assistants)})"
    )
    assert set(sample.loss_mask) <= {0, 1}, f"{what}: loss_mask holds values other than 0 and 1"


def _check_truncation(
    renderer: Renderer, messages: list[dict[str, Any]], rendered: RenderedTokens, roles: list[str]
) -> str:
    """``max_length`` inside each image's run: a typed error, or a sample with whole runs only."""
    placeholders = set(renderer.placeholder_token_ids)
    for _, ranges in rendered.multi_modal_data.mm_placeholders.items():
        placeholders.update(rendered.token_ids[rng.offset] for rng in ranges)
    outcomes = []
    for begin, stop in sorted(rendered.placeholder_spans()):
        if stop - begin < 2:
            continue
        max_length = (begin + stop) // 2
        try:
            sample = renderer.build_training_sample(messages, max_length=max_length)
        except MMRenderError:
            outcomes.append("refused")
            continue
        what = f"max_length={max_length} (inside the image run {begin}..{stop - 1})"
        assert len(sample.token_ids) <= max_length, f"{what}: the sample has {len(sample.token_ids)} ids"
        assert sample.truncated, f"{what}: the sample is not marked truncated"
        assert sample.token_ids == rendered.token_ids[: len(sample.token_ids)], f"{what}: not a prefix of the render"
        inside = set()
        for ranges in sample.multi_modal_data.mm_placeholders.values():
            for rng in ranges:
                assert rng.end <= len(sample.token_ids), f"{what}: a sidecar range {rng} runs past the sample"
                inside.update(range(rng.offset, rng.end))
        partial = [i for i, t in enumerate(sample.token_ids) if t in placeholders and i not in inside]
        assert not partial, f"{what}: placeholder ids at {partial[:10]} with no sidecar range (a partial image run)"
        _check_rows(sample, rendered, roles, what)
        outcomes.append(f"cut at {len(sample.token_ids)}")
    return ", ".join(outcomes)


@family_check
def check_training_sample(ctx: FamilyContext) -> str:
    """``build_training_sample`` matches the render: rows, token types, assistant-only loss, positions, whole images."""
    renderer = ctx.renderer
    if type(renderer).training_spec is Renderer.training_spec:
        raise NotApplicable("the family declares no training_spec")
    messages = [*ctx.image_conversation, dict(FINAL_ANSWER)]
    roles = [m["role"] for m in messages]
    sample = renderer.build_training_sample(messages)
    rendered = renderer.render(messages)
    assert sample.token_ids == rendered.token_ids, "token_ids differ from render(messages) without a generation prompt"
    assert sample.message_indices == rendered.message_indices, "message_indices differ from render(messages)"
    assert not sample.truncated, "a sample without max_length is marked truncated"
    _check_rows(sample, rendered, roles, "whole sample")
    last = len(messages) - 1
    assert any(bit and owner == last for bit, owner in zip(sample.loss_mask, sample.message_indices, strict=True)), (
        f"loss_mask is 0 on every id of the final assistant message ({last}): nothing would be trained"
    )
    return "truncation: " + (_check_truncation(renderer, messages, rendered, roles) or "no image run to cut")
