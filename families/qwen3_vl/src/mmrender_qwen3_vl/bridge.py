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

from typing import TYPE_CHECKING

from mmrender import MultiModalData, TokenBuffer
from mmrender.bridging import BridgeRules, BridgeTurn

from .template import TemplateWalker
from .thinking_bridge import keeps_history
from .walker import walk_tail

if TYPE_CHECKING:
    from .renderer import Qwen3VLRenderer


class Qwen3VLBridgeRules(BridgeRules):
    """The rules above for one renderer and one ``add_vision_id`` setting; core runs the bridge steps."""

    def __init__(self, renderer: Qwen3VLRenderer, *, add_vision_id: bool) -> None:
        self.renderer = renderer
        self.add_vision_id = add_vision_id
        self.generation_prompts = {"assistant": renderer.generation_prompt_ids}

    def closing(self, completion: tuple[int, ...], generation_prompt: str) -> tuple[int, ...] | None:
        """``()`` when the completion already ends its turn (``<|im_end|>``, optionally ``<|endoftext|>``),
        ``(<|im_end|>,)`` when it lacks one, None when it holds one elsewhere."""
        im_end = self.renderer.specials.im_end
        n = completion.count(im_end)
        if n == 0:
            return (im_end,)
        if n > 1:
            return None
        if completion[-1] == im_end:
            return ()
        if len(completion) >= 2 and completion[-2] == im_end and completion[-1] == self.renderer.endoftext:
            return ()
        return None

    def accepts(self, turn: BridgeTurn) -> bool:
        r = self.renderer
        if not r.thinking:
            return not any(m.role == "system" for m in turn.messages)
        return keeps_history(r, turn.prompt, turn.completion, turn.messages)

    def write_tail(self, turn: BridgeTurn, previous: MultiModalData, buf: TokenBuffer) -> None:
        renderer, add_vision_id = self.renderer, self.add_vision_id
        assistant = turn.assistant
        count = len(previous.mm_hashes.get("image", ())) if add_vision_id else 0
        walker = TemplateWalker(
            renderer.specials,
            add_vision_id=add_vision_id,
            thinking=renderer.thinking,
            video_expansion=renderer.options.video_expansion,
        )
        walker.image_count = count
        walker.video_count = len(previous.mm_hashes.get("video", ())) if add_vision_id else 0
        walker.plan.text("\n", assistant)
        walk_tail(walker, turn.messages, add_generation_prompt=True)
        renderer.emit(walker.plan, buf)
