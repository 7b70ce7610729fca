"""A five-turn rollout per family with a refused bridge in the middle: each segment's ids are what the
family's bridge and full render produce (built here by calling them directly), ``loss_mask`` is 1 exactly
on the sampled ids, logprobs line up with them, and later turns' images are backed in every sample."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import attrs
import mmrender
import pytest
from mmrender.samples import IMAGE_TOKEN, TEXT_TOKEN

from .trajectory_cases import CASES, REFUSED_AT, Case, Step, make_images


def sampled(r: Any, case: Case, step: Step) -> tuple[int, ...]:
    """What the model samples for ``step.assistant``: the ids render() writes for that turn after a
    generation prompt, through ``<|im_end|>``, cut or overrun as the step says."""
    head = r.render(
        [{"role": "user", "content": "x"}], tools=case.tools, add_generation_prompt=True, **case.sampling_kwargs
    )
    full = r.render([{"role": "user", "content": "x"}, step.assistant], tools=case.tools, **case.sampling_kwargs)
    assert full.token_ids[: len(head.token_ids)] == head.token_ids
    rest = full.token_ids[len(head.token_ids) :]
    im_end = r.tokenizer.convert_tokens_to_ids("<|im_end|>")
    end = rest.index(im_end) + 1
    if step.ending == "cut":
        return rest[: end - 1]
    if step.ending == "overrun":
        return rest[:end] + tuple(r.tokenizer.encode("\n", add_special_tokens=False))
    return rest[:end]


def count_images(messages: Sequence[dict[str, Any]]) -> int:
    parts = [p for m in messages if isinstance(m["content"], list) for p in m["content"]]
    return sum(p.get("type") == "image" for p in parts)


def logprobs_for(turn: int, n: int) -> list[float]:
    return [-(turn + 1) - i / 1000 for i in range(n)]


@attrs.define
class Expected:
    """One segment as built here from render()/bridge_to_next_turn: ids, sidecar, sampled spans, messages."""

    token_ids: tuple[int, ...]
    multi_modal_data: Any
    spans: list[tuple[int, int, int]]  # (start, length, turn)
    messages: list[dict[str, Any]]


def expected_segments(
    r: Any, case: Case, completions: Sequence[tuple[int, ...]]
) -> tuple[list[Expected], list[tuple[int, ...]]]:
    """Chain the family's render and bridge by hand; also return every prompt the sampler was given."""
    history = list(case.first)
    prompt = r.render(history, tools=case.tools, add_generation_prompt=True)
    prompts, segments, spans = [prompt.token_ids], [], []
    for turn, (step, completion) in enumerate(zip(case.steps, completions, strict=True)):
        spans.append((len(prompt.token_ids), len(completion), turn))
        history.append(step.assistant)
        closed = Expected(prompt.token_ids + completion, prompt.multi_modal_data, spans, list(history))
        if step.new is None:
            segments.append(closed)
            break
        bridged = r.bridge_to_next_turn(prompt, completion, step.new, tools=case.tools, start_index=len(history))
        history.extend(step.new)
        if turn == REFUSED_AT:
            assert bridged is None, "the case must hold a turn this family's bridge refuses"
            segments.append(closed)
            prompt, spans = r.render(history, tools=case.tools, add_generation_prompt=True), []
        else:
            assert bridged is not None, f"turn {turn} should bridge"
            prompt = bridged
        prompts.append(prompt.token_ids)
    return segments, prompts


@pytest.fixture(params=sorted(CASES))
def rollout(request: pytest.FixtureRequest, tmp_path: Any) -> tuple[Any, Case, list[tuple[int, ...]], Any]:
    case = CASES[request.param](make_images(tmp_path))
    r = mmrender.get_renderer(case.model, **case.options)
    completions = [sampled(r, case, step) for step in case.steps]
    traj = r.start_trajectory(case.first, tools=case.tools)
    prompts = []
    for turn, (step, completion) in enumerate(zip(case.steps, completions, strict=True)):
        prompts.append(traj.prompt().token_ids)
        traj.add_completion(completion, logprobs_for(turn, len(completion)))
        if step.new is not None:
            traj.add_messages(step.new)
    return r, case, completions, (traj, prompts)


def test_segments_equal_bridge_and_full_render(rollout: Any) -> None:
    r, case, completions, (traj, prompts) = rollout
    expected, expected_prompts = expected_segments(r, case, completions)
    assert prompts == expected_prompts  # the sampler saw the bridged / re-rendered prompts
    samples = traj.samples()
    assert len(expected) == 2 and traj.num_segments == 2
    assert [(s.segment, s.num_segments) for s in samples] == [(0, 2), (1, 2)]
    for sample, want in zip(samples, expected, strict=True):
        assert sample.token_ids == want.token_ids
        assert sample.multi_modal_data.mm_placeholders == want.multi_modal_data.mm_placeholders
        assert sample.multi_modal_data.mm_hashes == want.multi_modal_data.mm_hashes
        assert sample.model == r.model_id


def test_loss_mask_exactly_on_sampled_ids_and_logprobs_aligned(rollout: Any) -> None:
    r, case, completions, (traj, _) = rollout
    expected, _ = expected_segments(r, case, completions)
    for sample, want in zip(traj.samples(), expected, strict=True):
        mask, logprobs = [0] * len(want.token_ids), [0.0] * len(want.token_ids)
        for start, length, turn in want.spans:
            assert want.token_ids[start : start + length] == completions[turn]
            mask[start : start + length] = [1] * length
            logprobs[start : start + length] = logprobs_for(turn, length)
        assert list(sample.loss_mask) == mask
        assert list(sample.logprobs) == logprobs
    # segment 1 re-renders turns 0-2 without training on them: only turns 3 and 4 carry loss
    assert sum(traj.samples()[1].loss_mask) == len(completions[3]) + len(completions[4])


def test_inserted_end_id_after_a_cut_completion_is_not_trained(rollout: Any) -> None:
    r, case, completions, (traj, _) = rollout
    (cut,) = [k for k, step in enumerate(case.steps) if step.ending == "cut"]
    expected, _ = expected_segments(r, case, completions)
    start, length, _ = expected[0].spans[cut]
    sample = traj.samples()[0]
    im_end = r.tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert sample.token_ids[start + length] == im_end  # the bridge closed the turn
    assert sample.loss_mask[start + length - 1 : start + length + 1] == (1, 0)


def test_every_prompt_equals_a_full_render_of_the_conversation_so_far(rollout: Any) -> None:
    """Each prompt the sampler got (bridged or re-rendered) is what render() writes for the conversation so
    far with a generation prompt (the bridges here all keep history the template keeps), numbered alike."""
    r, case, _, (traj, prompts) = rollout
    history = list(case.first)
    for turn, step in enumerate(case.steps):
        full = r.render(history, tools=case.tools, add_generation_prompt=True)
        assert prompts[turn] == full.token_ids, f"prompt {turn}"
        history += [step.assistant, *(step.new or [])]
    # each sample is numbered as a full render numbers it; the generation prompt before its last completion
    # opens that (sampled) assistant message
    for sample, last_turn in zip(traj.samples(), (REFUSED_AT, len(case.steps) - 1), strict=True):
        before = list(case.first) + [m for step in case.steps[:last_turn] for m in (step.assistant, *step.new)]
        full = r.render(before, tools=case.tools, add_generation_prompt=True)
        header = len(r.render(before, tools=case.tools).token_ids)  # where the generation prompt starts
        assert sample.message_indices[:header] == full.message_indices[:header]
        assert set(full.message_indices[header:]) == {-1}
        assert set(sample.message_indices[header:]) == {len(before)}


def test_images_of_later_turns_are_backed(rollout: Any) -> None:
    r, case, completions, (traj, _) = rollout
    placeholder_ids = r.placeholder_token_ids
    counts = []
    for sample in traj.samples():
        ranges = [p for ps in sample.multi_modal_data.mm_placeholders.values() for p in ps]
        inside = {i for p in ranges for i in range(p.offset, p.end)}
        assert {i for i, t in enumerate(sample.token_ids) if t in placeholder_ids} == inside
        assert all(sample.mm_token_type_ids[i] == IMAGE_TOKEN for i in inside)
        assert all(sample.mm_token_type_ids[i] == TEXT_TOKEN for i in range(len(sample)) if i not in inside)
        assert not any(sample.loss_mask[i] for i in inside)
        counts.append(len(sample.multi_modal_data.mm_hashes.get("image", ())))
    n_images = [count_images(want.messages) for want in expected_segments(r, case, completions)[0]]
    assert counts == n_images and counts[1] > counts[0]


def test_samples_round_trip_through_json(rollout: Any) -> None:
    from mmrender.samples import TrainingSample
    from mmrender.types import converter

    _, _, _, (traj, _) = rollout
    for sample in traj.samples():
        data = json.loads(json.dumps(mmrender.types.to_jsonable(sample)))
        assert (data["segment"], data["num_segments"]) == (sample.segment, sample.num_segments)
        assert converter.structure(data, TrainingSample) == sample


PREPROCESSORS = {
    "Qwen/Qwen3-VL-2B-Instruct": "mmrender_qwen3_vl/assets/Qwen3-VL-8B-Instruct/preprocessor_config.json",
    "Qwen/Qwen3-VL-2B-Thinking": "mmrender_qwen3_vl/assets/Qwen3-VL-8B-Instruct/preprocessor_config.json",
    "Qwen/Qwen3.5-9B": "mmrender_qwen3_5/assets/Qwen3.5-0.8B/preprocessor_config.json",
}


def rope_index(model: str, sample: Any) -> tuple[list[list[int]], int]:
    """transformers' ``Qwen3VLModel.get_rope_index`` on the sample's ids, token types and grids, called on a
    config-only stand-in (no weights): the merge size comes from the checkpoint's preprocessor config."""
    import importlib.resources
    import types

    import torch
    from transformers.models.qwen3_vl.modeling_qwen3_vl import Qwen3VLModel

    package, path = PREPROCESSORS[model].split("/", 1)
    config = json.loads(importlib.resources.files(package).joinpath(path).read_text(encoding="utf-8"))
    stand_in = types.SimpleNamespace(
        config=types.SimpleNamespace(vision_config=types.SimpleNamespace(spatial_merge_size=config["merge_size"])),
    )
    stand_in.get_vision_position_ids = types.MethodType(Qwen3VLModel.get_vision_position_ids, stand_in)
    grids = [grid for item in sample.multi_modal_data.mm_items["image"] for grid in item.payload["image_grid_thw"]]
    positions, delta = Qwen3VLModel.get_rope_index(
        stand_in,
        torch.tensor([sample.token_ids]),
        torch.tensor([sample.mm_token_type_ids]),
        image_grid_thw=torch.tensor(grids),
    )
    return positions[:, 0, :].tolist(), int(delta[0])


def test_positions_of_each_segment_are_the_models(rollout: Any) -> None:
    """Later turns' images sit after sampled ids: every segment's M-RoPE rows still match the model's own
    (Kimi's language model takes plain 1-D positions, ``arange`` over the sequence)."""
    _, case, _, (traj, _) = rollout
    for sample in traj.samples():
        if case.model not in PREPROCESSORS:
            assert sample.position_ids == (tuple(range(len(sample))),) and sample.rope_delta is None
            continue
        positions, delta = rope_index(case.model, sample)
        assert [list(row) for row in sample.position_ids] == positions
        assert sample.rope_delta == delta
