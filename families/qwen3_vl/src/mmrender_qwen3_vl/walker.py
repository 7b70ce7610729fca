"""Walk a conversation in template order: the Instruct loop and the Thinking loop (both official templates)."""

from __future__ import annotations

from mmrender import Conversation, ConversationError, Message, TextPart
from mmrender.plan import Plan

from .reasoning import thinking_assistant
from .template import Specials, TemplateWalker, text_only


def walk(
    conv: Conversation, specials: Specials, *, add_vision_id: bool, thinking: bool, video_expansion: str = "current"
) -> Plan:
    """The plan of the whole rendered conversation (core emits it)."""
    if not conv.messages:
        raise ConversationError("cannot render an empty conversation (the template needs at least one message)")
    walker = TemplateWalker(specials, add_vision_id=add_vision_id, thinking=thinking, video_expansion=video_expansion)
    walker.system_block(conv)
    (_thinking_turns if thinking else _instruct_turns)(walker, conv.messages)
    if conv.add_generation_prompt:
        walker.generation_prompt()
    return walker.plan


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
            walker.assistant(m, ["assistant\n", text_only(m, "assistant")], bool(m.content))
        elif role == "tool":
            walker.tool(m, *_tool_flags(messages, k))
        elif role != "system":
            raise _dropped_role(m, "Instruct")
        elif k > 0 or after_assistant:
            raise ConversationError(
                "system message after the first position: the Qwen3-VL Instruct template silently drops it",
                message_index=m.index,
            )


def _dropped_role(m: Message, template: str) -> ConversationError:
    """A role outside system/user/assistant/tool (e.g. ``developer``): the template writes nothing for it."""
    return ConversationError(
        f"unexpected role {m.role!r}: the Qwen3-VL {template} template silently drops messages with roles other than "
        "system, user, assistant and tool; use one of those (e.g. 'system' for developer instructions)",
        message_index=m.index,
    )


def is_tool_wrapper(m: Message) -> bool:
    """The Thinking template's test for a user turn that only carries tool responses (not a real query)."""
    if m.content is None or isinstance(m.content, str):
        text = m.content or ""
    else:  # an image renders as a placeholder, never as either tag
        text = "".join(p.text if isinstance(p, TextPart) else "\x00" for p in m.content)
    return text.startswith("<tool_response>") and text.endswith("</tool_response>")


def _last_query_index(messages: tuple[Message, ...]) -> int:
    """The template's ``ns.last_query_index``: the last real user query, else the last message."""
    for k in range(len(messages) - 1, -1, -1):
        if messages[k].role == "user" and not is_tool_wrapper(messages[k]):
            return k
    return len(messages) - 1


def _thinking_turns(walker: TemplateWalker, messages: tuple[Message, ...], after_assistant: bool = False) -> None:
    last_query = -1 if after_assistant else _last_query_index(messages)
    last = len(messages) - 1
    for k, m in enumerate(messages):
        role = m.role
        if role == "user":
            walker.user(m)
        elif role == "system" and (k > 0 or after_assistant):
            walker.in_place(m)
        elif role == "system":  # the system block already wrote it; the loop renders it again, counting its images
            walker.pieces(m, count=True)
        elif role == "assistant":
            rendered = walker.pieces(m, count=True)
            pieces, has_content = thinking_assistant(m, rendered, after_last_query=k > last_query, is_last=k == last)
            walker.assistant(m, pieces, has_content)
        elif role == "tool":
            walker.tool(m, *_tool_flags(messages, k))
        else:
            raise _dropped_role(m, "Thinking")
