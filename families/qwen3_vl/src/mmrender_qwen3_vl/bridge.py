"""Multi-turn bridge: extend ``prompt + completion`` with new user/tool turns without re-rendering history.

What is appended is exactly what a full render of the conversation would put after the assistant's
content: ``<|im_end|>`` (only when the completion lacks it: truncated, or stopped on ``<|endoftext|>``),
``\\n``, the new turns (tool responses grouped into one user turn, as the template does) and the
generation prompt. The previous ids are kept byte for byte, so the trainer sees the sampled tokens.

Refused (None): an assistant message among the new ones, no new messages, a prompt that does not
end with this checkpoint's generation prompt, a completion with ``<|im_end|>`` anywhere but at its
end (it already started another turn); Instruct: a system message (the template drops those after
the first position); Thinking: every case where the template would re-render earlier turns
differently, above all a new real user query (see ``thinking_bridge``).

Cost is O(new tokens) in Python: the previous ids are joined with C-level tuple concatenation,
never iterated. ``message_indices``: -1 for the previous prompt (its owners are in the previous
render), ``start_index - 1`` for the completion and its closing ids (the assistant message), and
``start_index + k`` for the k-th new message. Pass ``start_index`` = number of messages before the
new ones (the assistant included) to get full-render numbering.

``add_vision_id`` numbering continues from the previous images, counted in the previous sidecar
(a previous prompt with image pads and no sidecar is refused by core with ``UnbackedPlaceholderError``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mmrender import MultiModalData, RenderedTokens, TokenBuffer
from mmrender.bridging import ends_with, id_tuple, join_turn, new_turns, previous_sidecar

from .template import TemplateWalker
from .thinking_bridge import keeps_history
from .walker import walk_tail

if TYPE_CHECKING:
    from .renderer import Qwen3VLRenderer


def _closing(renderer: Qwen3VLRenderer, completion: tuple[int, ...]) -> bool | None:
    """True when the completion already ends its turn, False when ``<|im_end|>`` must be added, None if unsafe."""
    im_end = renderer.specials.im_end
    n = completion.count(im_end)
    if n == 0:
        return False
    if n > 1:
        return None
    if completion[-1] == im_end:
        return True
    if len(completion) >= 2 and completion[-2] == im_end and completion[-1] == renderer.endoftext:
        return True
    return None


def bridge(
    renderer: Qwen3VLRenderer,
    previous_prompt_ids: Sequence[int],
    previous_completion_ids: Sequence[int],
    new_messages: Sequence[Mapping[str, Any]],
    *,
    previous_multi_modal_data: MultiModalData | Mapping[str, Any] | None,
    start_index: int,
    add_vision_id: bool,
) -> RenderedTokens | None:
    """See the module docstring."""
    messages = new_turns(new_messages, start_index=start_index)
    if messages is None or (not renderer.thinking and any(m.role == "system" for m in messages)):
        return None
    prompt = id_tuple(previous_prompt_ids)
    completion = id_tuple(previous_completion_ids)
    if not ends_with(prompt, renderer.generation_prompt_ids):
        return None
    closed = _closing(renderer, completion)
    if closed is None:
        return None
    if renderer.thinking and not keeps_history(renderer, prompt, completion, messages):
        return None
    previous = previous_sidecar(previous_multi_modal_data, len(prompt))

    assistant = start_index - 1
    count = len(previous.mm_hashes.get("image", ())) if add_vision_id else 0
    walker = TemplateWalker(
        renderer.specials,
        add_vision_id=add_vision_id,
        thinking=renderer.thinking,
        video_expansion=renderer.options.video_expansion,
    )
    walker.image_count = count
    walker.video_count = len(previous.mm_hashes.get("video", ())) if add_vision_id else 0
    if not closed:
        walker.plan.special(renderer.specials.im_end, assistant)
    walker.plan.text("\n", assistant)
    walk_tail(walker, messages, add_generation_prompt=True)

    buf = TokenBuffer(offset=len(prompt) + len(completion))
    renderer.emit(walker.plan.finish(), buf)
    return join_turn(prompt, completion, assistant, buf, previous)
