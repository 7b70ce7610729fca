"""Extend a finished turn with new user/tool messages without re-rendering history.

The result is ``previous_prompt_ids + previous_completion_ids`` (+ ``<|im_end|>`` when the
completion was cut off) followed by the new messages and a generation prompt, rendered exactly
as a full render would render them in that position. It is None whenever a full re-render of
the same conversation would not start with those previous ids:

* a new real user query under the template's rule (``thinking_retention`` unset or
  ``"tool_cycle"``): the template then renders the previous assistant turn without its
  ``<think>`` block. With ``"all"`` full renders keep every turn's thinking, so the bridge is safe;
* an assistant message among the new ones (its sampled tokens are not ours to re-tokenize);
* a completion that is not one closed assistant turn (extra turns, ``<|endoftext|>``), or that was
  cut off inside ``<think>`` or a tool call (a re-render would close them differently);
* a previous prompt that does not end with this template's generation prompt;
* ``add_vision_id`` with new images but no ``previous_multi_modal_data`` to number them from.

Work is proportional to the new messages and the previous completion, never the history.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmrender import MultiModalData, TokenBuffer
from mmrender.bridging import BridgeRules, BridgeTurn

from . import content as C
from .walker import walk_tail

if TYPE_CHECKING:
    from .renderer import Qwen35Renderer


class Qwen35BridgeRules(BridgeRules):
    """The rules above for one renderer; core runs the bridge steps. Generation prompts: ``open``/``closed``."""

    def __init__(self, renderer: Qwen35Renderer) -> None:
        self.renderer = renderer
        self.generation_prompts = renderer.generation_prompts

    def closing(self, completion: tuple[int, ...], generation_prompt: str) -> tuple[int, ...] | None:
        """``()`` for one closed assistant turn, ``(<|im_end|>,)`` for one cut off where a re-render writes
        the same ids, None when that cannot be proven."""
        ids = self.renderer.ids
        im_end = ids["<|im_end|>"]
        if ids["<|im_start|>"] in completion or ids["<|endoftext|>"] in completion:
            return None
        ends = completion.count(im_end)
        if ends > 1 or (ends == 1 and completion[-1] != im_end):
            return None
        if ends == 1:
            return ()
        # cut off (max_tokens): close it only where a re-render would write the same ids
        has_end = ids["</think>"] in completion
        if (generation_prompt == "open" or ids["<think>"] in completion) and not has_end:
            return None
        if completion.count(ids["<tool_call>"]) != completion.count(ids["</tool_call>"]):
            return None
        return (im_end,)

    def accepts(self, turn: BridgeTurn) -> bool:
        renderer = self.renderer
        for message in turn.messages:
            C.check_message(message, position=1)  # a system message here is one the template rejects
        policy = renderer.options.thinking_retention or "tool_cycle"
        if policy == "tool_cycle" and any(C.is_real_query(m) for m in turn.messages):
            return False
        add_vision_id = renderer.options.add_vision_id
        return not (add_vision_id and not turn.had_sidecar and any(m.images or m.videos for m in turn.messages))

    def write_tail(self, turn: BridgeTurn, previous: MultiModalData, buf: TokenBuffer) -> None:
        renderer = self.renderer
        em = renderer.walker(
            add_vision_id=renderer.options.add_vision_id,
            images_before=len(previous.mm_hashes.get("image", ())),
            videos_before=len(previous.mm_hashes.get("video", ())),
        )
        em.out.text("\n", turn.assistant)  # the template's newline after the previous turn's <|im_end|>
        renderer.emit(walk_tail(em, turn.messages, thinking_open=renderer.thinking_open()), buf)
