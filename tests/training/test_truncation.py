"""``max_length`` at every length across a two-image conversation, per family.

Never a partial placeholder run; ids, masks, token types, positions and the sidecar are the full
sample's prefix; the kept length is maximal (whatever lies between it and ``max_length`` is the start
of one image run that does not fit); ``truncated`` is set exactly when ids were cut; lengths that cannot
hold the first image raise ``TruncationError`` naming its message and part.
"""

from __future__ import annotations

import json

import mmrender
import pytest
from mmrender import TruncationError
from mmrender.samples import TrainingSample
from mmrender.types import converter

from .conversations import CASES, TWO_IMAGES
from .oracles import ORACLES, PARITY

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")


def _ranges(sample: TrainingSample) -> list[tuple[int, int]]:
    return [(r.offset, r.end) for rs in sample.multi_modal_data.mm_placeholders.values() for r in rs]


@pytest.mark.parametrize("family", sorted(ORACLES))
def test_every_max_length(family: str, images: dict[str, str]) -> None:
    oracle = ORACLES[family]()
    renderer = mmrender.get_renderer(oracle.model, **PARITY)
    messages = CASES[TWO_IMAGES](images)["messages"]
    full = renderer.build_training_sample(messages)
    pad = oracle.pad_id
    runs = _ranges(full)
    assert len(runs) == 2 and full.token_ids.count(pad) == sum(e - b for b, e in runs)
    first_end = runs[0][1]
    grids = oracle.run(messages, None)["grids"] if oracle.rope_model is not None else []
    for max_length in range(1, len(full) + 2):
        if max_length < first_end:
            with pytest.raises(TruncationError) as info:
                renderer.build_training_sample(messages, max_length=max_length)
            assert (info.value.message_index, info.value.part_index) == (0, 0)
            assert "message 0, part 0" in str(info.value)
            continue
        sample = renderer.build_training_sample(messages, max_length=max_length)
        n = len(sample)
        assert n <= max_length
        assert sample.truncated == (n < len(full))
        if n < max_length and n < len(full):  # maximal: the rest up to max_length is one image's unfinished run
            end = next(e for b, e in runs if b == n)
            assert end > max_length and set(full.token_ids[n:max_length]) == {pad}
        assert sample.token_ids == full.token_ids[:n]
        assert sample.message_indices == full.message_indices[:n]
        assert sample.loss_mask == full.loss_mask[:n]
        assert sample.mm_token_type_ids == full.mm_token_type_ids[:n]
        assert sample.position_ids == tuple(row[:n] for row in full.position_ids)
        kept = _ranges(sample)
        assert kept == [r for r in runs if r[1] <= n]  # whole runs only, in order
        assert sample.token_ids.count(pad) == sum(e - b for b, e in kept)  # no stray placeholder id
        for modality, hashes in sample.multi_modal_data.mm_hashes.items():
            k = len(hashes)
            assert hashes == full.multi_modal_data.mm_hashes[modality][:k]
            assert sample.multi_modal_data.mm_items[modality] == full.multi_modal_data.mm_items[modality][:k]
        if oracle.rope_model is not None:
            kept_grids = grids[: len(kept)]
            rows, delta = oracle.positions(list(sample.token_ids), list(sample.mm_token_type_ids), kept_grids)
            assert [list(r) for r in sample.position_ids] == rows and sample.rope_delta == delta
        text = json.dumps(converter.unstructure(sample))
        assert converter.structure(json.loads(text), TrainingSample) == sample


def test_text_only_truncation_has_no_error() -> None:
    renderer = mmrender.get_renderer("Qwen/Qwen3-VL-8B-Instruct")
    messages = CASES["text_multi_turn"]({})["messages"]
    full = renderer.build_training_sample(messages)
    for max_length in (1, 7, len(full) - 1):
        sample = renderer.build_training_sample(messages, max_length=max_length)
        assert len(sample) == max_length and sample.truncated and sample.token_ids == full.token_ids[:max_length]
    assert not renderer.build_training_sample(messages, max_length=len(full)).truncated
