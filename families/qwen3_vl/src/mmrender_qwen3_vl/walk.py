"""Walk a conversation in template order: the Instruct loop (verified) and the Thinking loop (not verified)."""

from __future__ import annotations

from typing import Any

from mmrender import Conversation, ConversationError, Message, TextPart

from .template import Specials, TemplateWalker, text_only


def build_plan(
    conv: Conversation, specials: Specials, *, add_vision_id: bool, thinking: bool
) -> list[tuple[int, Any, int]]:
    """The ordered ops of the whole rendered conversation."""
    if not conv.messages:
        raise ConversationError("cannot render an empty conversation (the template needs at least one message)")
    walker = TemplateWalker(specials, add_vision_id=add_vision_id, thinking=thinking)
    walker.system_block(conv)
    (_thinking_turns if thinking else _instruct_turns)(walker, conv.messages)
    if conv.add_generation_prompt:
        walker.generation_prompt()
    return walker.plan.finish()


def walk_tail(walker: TemplateWalker, messages: tuple[Message, ...], *, add_generation_prompt: bool) -> None:
    """Turns for messages appended after an assistant turn (the bridge): no system block."""
    (_thinking_turns if walker.thinking else _instruct_turns)(walker, messages, after_assistant=True)
    if add_generation_prompt:
        walker.generation_prompt()


def _tool_flags(messages: tuple[Message, ...], k: int) -> tuple[bool, bool]:
    """Consecutive tool messages share one ``<|im_start|>user`` turn."""
    opens = k == 0 or messages[k - 1].role != "tool"
    closes = k == len(messages) - 1 or messages[k + 1].role != "tool"
    return opens, closes


def _instruct_turns(walker: TemplateWalker, messages: tuple[Message, ...], after_assistant: bool = False) -> None:
    for k, m in enumerate(messages):
        role = m.role
        if role == "user":
            walker.user(m)
        elif role == "assistant":
            walker.assistant(m, text_only(m, "assistant"), "assistant\n", bool(m.content))
        elif role == "tool":
            walker.tool(m, *_tool_flags(messages, k))
        elif k > 0 or after_assistant:
            raise ConversationError(
                "system message after the first position: the Qwen3-VL Instruct template silently drops it",
                message_index=m.index,
            )


def _is_tool_wrapper(m: Message) -> bool:
    """The Thinking template's test for a user turn that only carries tool responses."""
    if m.content is None or isinstance(m.content, str):
        text = m.content or ""
    else:
        text = "".join(p.text if isinstance(p, TextPart) else "\x00" for p in m.content)
    return text.startswith("<tool_response>") and text.endswith("</tool_response>")


def _last_query_index(messages: tuple[Message, ...]) -> int:
    for k in range(len(messages) - 1, -1, -1):
        if messages[k].role == "user" and not _is_tool_wrapper(messages[k]):
            return k
    return len(messages) - 1


def _split_reasoning(m: Message) -> tuple[str, str]:
    content = text_only(m, "assistant")
    if isinstance(m.reasoning_content, str):
        return m.reasoning_content, content
    if "</think>" in content:
        head, _, _ = content.partition("</think>")
        reasoning = head.rstrip("\n").split("<think>")[-1].lstrip("\n")
        return reasoning, content.split("</think>")[-1].lstrip("\n")
    return "", content


def _thinking_turns(walker: TemplateWalker, messages: tuple[Message, ...], after_assistant: bool = False) -> None:
    last_query = -1 if after_assistant else _last_query_index(messages)
    last = len(messages) - 1
    for k, m in enumerate(messages):
        role = m.role
        if role == "user":
            walker.user(m)
        elif role == "system":
            if k > 0 or after_assistant:
                walker.plain(m, text_only(m, "system"))
        elif role == "assistant":
            reasoning, content = _split_reasoning(m)
            has_content = bool(content)  # tested before the lstrip, which only applies to the output
            if k > last_query and (k == last or reasoning):
                head = "assistant\n<think>\n" + reasoning.strip("\n") + "\n</think>\n\n"
                content = content.lstrip("\n")
            else:
                head = "assistant\n"
            walker.assistant(m, content, head, has_content)
        else:
            walker.tool(m, *_tool_flags(messages, k))
