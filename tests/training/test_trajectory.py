"""Trajectory behaviour that is the same for every family (checked on Qwen3-VL Instruct, the fastest):
call-order and input errors, atomic failures, trailing prompts, re-rendered history, forwarded options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mmrender
import pytest
from mmrender.errors import ConversationError, MMRenderError, UnbackedPlaceholderError
from mmrender.trajectory import TrajectoryError, TrajectoryStateError
from PIL import Image

MODEL = "Qwen/Qwen3-VL-2B-Instruct"
FIRST = [{"role": "user", "content": "Count to three."}]


@pytest.fixture(scope="module")
def r() -> Any:
    return mmrender.get_renderer(MODEL)


def ids(r: Any, text: str) -> list[int]:
    return r.tokenizer.encode(text, add_special_tokens=False)


def picture(tmp_path: Path, name: str = "p.png", size: tuple[int, int] = (64, 48)) -> str:
    path = tmp_path / name
    Image.new("RGB", size, (10, 120, 30)).save(path)
    return str(path)


def test_errors_are_typed_and_name_the_problem(r: Any) -> None:
    traj = r.start_trajectory(FIRST)
    with pytest.raises(TrajectoryStateError, match="before any completion"):
        traj.add_messages([{"role": "user", "content": "more"}])
    traj.add_completion(ids(r, "One.<|im_end|>"))
    with pytest.raises(TrajectoryStateError, match="add_completion\\(\\) called twice"):
        traj.add_completion(ids(r, "Two.<|im_end|>"))
    with pytest.raises(TrajectoryStateError, match="prompt\\(\\)"):
        traj.prompt()
    traj.add_messages([{"role": "user", "content": "more"}])
    with pytest.raises(TrajectoryStateError, match="twice in a row"):
        traj.add_messages([{"role": "user", "content": "more"}])
    with pytest.raises(TrajectoryError, match="2 ids but 1 logprobs"):
        traj.add_completion(ids(r, "Two.")[:2], [-0.5])
    assert issubclass(TrajectoryStateError, TrajectoryError) and issubclass(TrajectoryError, MMRenderError)


def test_add_messages_takes_a_list(r: Any) -> None:
    traj = r.start_trajectory(FIRST)
    traj.add_completion(ids(r, "One.<|im_end|>"))
    with pytest.raises(TrajectoryError, match="list of messages"):
        traj.add_messages({"role": "user", "content": "more"})


def test_logprobs_for_every_completion_or_none(r: Any) -> None:
    traj = r.start_trajectory(FIRST)
    traj.add_completion(ids(r, "One.<|im_end|>"), [-0.1, -0.2, -0.3])
    traj.add_messages([{"role": "user", "content": "more"}])
    with pytest.raises(TrajectoryError, match="with logprobs"):
        traj.add_completion(ids(r, "Two.<|im_end|>"))
    plain = r.start_trajectory(FIRST)
    plain.add_completion(ids(r, "One.<|im_end|>"))
    assert plain.samples()[0].logprobs is None


def test_a_sampled_placeholder_id_is_refused(r: Any) -> None:
    traj = r.start_trajectory(FIRST)
    pad = r.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    with pytest.raises(UnbackedPlaceholderError, match="completion position 1"):
        traj.add_completion([*ids(r, "A"), pad])
    traj.add_completion(ids(r, "A<|im_end|>"))  # the failed call recorded nothing


def test_a_failed_add_messages_changes_nothing(r: Any, tmp_path: Path) -> None:
    traj = r.start_trajectory(FIRST)
    traj.add_completion(ids(r, "One.<|im_end|>"))
    with pytest.raises(ConversationError, match="message 2"):
        traj.add_messages([{"role": "user", "content": [{"type": "image", "image": str(tmp_path / "missing.png")}]}])
    nxt = traj.add_messages([{"role": "user", "content": "Go on."}])
    expected = r.render(
        [*FIRST, {"role": "assistant", "content": "One."}, {"role": "user", "content": "Go on."}],
        add_generation_prompt=True,
    )
    assert nxt.token_ids == expected.token_ids
    assert len(traj.messages) == 3


def test_samples_before_any_completion_are_empty(r: Any) -> None:
    assert r.start_trajectory(FIRST).samples() == []


def test_a_trailing_prompt_is_left_out_with_its_images(r: Any, tmp_path: Path) -> None:
    """A rollout that ends on the environment's reply trains on nothing after the last completion."""
    traj = r.start_trajectory(FIRST)
    completion = ids(r, "One.<|im_end|>")
    traj.add_completion(completion, [-1.0] * len(completion))
    prompt = r.render(FIRST, add_generation_prompt=True)
    traj.add_messages(
        [
            {
                "role": "user",
                "content": [{"type": "image", "image": picture(tmp_path)}, {"type": "text", "text": "What is it?"}],
            }
        ]
    )
    (sample,) = traj.samples()
    assert sample.token_ids == prompt.token_ids + tuple(completion)
    assert not sample.multi_modal_data  # the trailing image is not in the sample
    assert sample.loss_mask[-len(completion) :] == (1,) * len(completion)
    assert traj.samples() == [sample]  # samples() does not consume the trajectory


def test_a_refused_bridge_without_a_later_completion_yields_no_empty_segment(r: Any) -> None:
    traj = r.start_trajectory(FIRST)
    traj.add_completion(ids(r, "One.<|im_end|>\n"))  # goes on after <|im_end|>: the bridge refuses
    traj.add_messages([{"role": "user", "content": "more"}])
    assert traj.num_segments == 2
    with pytest.raises(TrajectoryStateError, match="twice in a row"):
        traj.add_messages([{"role": "user", "content": "more"}])
    (sample,) = traj.samples()
    assert (sample.segment, sample.num_segments) == (0, 1)


def test_re_rendered_history_is_canonical_and_untrained(r: Any) -> None:
    """After a refusal, earlier turns are re-rendered from their parsed text: ids the sampler split
    differently come back in the tokenizer's canonical form, and only the new segment's own ids train."""
    pieces = [ids(r, piece) for piece in ("Hel", "lo", " wor", "ld")]
    odd = [t for piece in pieces for t in piece] + ids(r, "<|im_end|>\n")
    assert odd[:-2] != ids(r, "Hello world")  # a split the tokenizer would not make
    traj = r.start_trajectory(FIRST)
    traj.add_completion(odd)
    nxt = traj.add_messages([{"role": "user", "content": "Again."}])
    assistant = {"role": "assistant", "content": "Hello world"}
    assert traj.messages[1] == assistant
    canonical = r.render([*FIRST, assistant, {"role": "user", "content": "Again."}], add_generation_prompt=True)
    assert nxt.token_ids == canonical.token_ids
    last = ids(r, "Done.<|im_end|>")
    traj.add_completion(last)
    first, second = traj.samples()
    assert first.token_ids[-len(odd) :] == tuple(odd) and first.loss_mask[-len(odd) :] == (1,) * len(odd)
    assert second.token_ids == canonical.token_ids + tuple(last)
    assert second.loss_mask == (0,) * len(canonical.token_ids) + (1,) * len(last)


def test_template_options_reach_the_bridge(r: Any, tmp_path: Path) -> None:
    """``add_vision_id`` given to start_trajectory numbers bridged images too ("Picture 2:")."""
    first = [
        {
            "role": "user",
            "content": [{"type": "image", "image": picture(tmp_path, "a.png")}, {"type": "text", "text": "What?"}],
        }
    ]
    new = [
        {
            "role": "user",
            "content": [
                {"type": "image", "image": picture(tmp_path, "b.png", (32, 32))},
                {"type": "text", "text": "And?"},
            ],
        }
    ]
    traj = r.start_trajectory(first, add_vision_id=True)
    traj.add_completion(ids(r, "A field.<|im_end|>"))
    nxt = traj.add_messages(new)
    assert traj.num_segments == 1
    expected = r.render(
        [*first, {"role": "assistant", "content": "A field."}, *new], add_generation_prompt=True, add_vision_id=True
    )
    assert nxt.token_ids == expected.token_ids
    assert "Picture 2:" in r.tokenizer.decode(list(nxt.token_ids))
