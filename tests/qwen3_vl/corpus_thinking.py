"""Conversations for the Thinking template's own branches (the shared corpus covers the rest).

Same shape as ``corpus.CASES``: each builder takes the image :class:`Sources` and returns
``(messages, tools, add_vision_id)``. Covered: ``reasoning_content`` as string / empty / absent /
null, ``<think>…</think>`` split out of content (and its odd shapes), reasoning kept only after
the last real user query (``<tool_response>``-only user turns do not count), agent loops, the empty
think block of a last assistant turn, system messages after the first, and images in system and
assistant messages with ``add_vision_id`` numbering.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .corpus import WEATHER, ZOOM, Case, call, img, txt

THINKING_CASES: dict[str, Callable[[Any], Case]] = {}


def case(fn: Callable[[Any], Case]) -> Callable[[Any], Case]:
    THINKING_CASES[fn.__name__] = fn
    return fn


def _q(text: str) -> dict:
    return {"role": "user", "content": text}


def _a(content: Any, reasoning: Any = ..., **extra: Any) -> dict:
    message = {"role": "assistant", "content": content, **extra}
    if reasoning is not ...:
        message["reasoning_content"] = reasoning
    return message


@case
def reasoning_string_last(s):
    return [_q("Why?"), _a("Because.", "I should explain.")], None, False


@case
def reasoning_empty_string_last(s):
    return [_q("Why?"), _a("Because.", "")], None, False


@case
def reasoning_empty_string_keeps_think_tags_in_content(s):
    """A string reasoning_content, even empty, turns the split off: the tags stay in the content."""
    return [_q("Why?"), _a("<think>\nx\n</think>\n\ny", "")], None, False


@case
def reasoning_null_splits_content(s):
    return [_q("Why?"), _a("<think>\nx\n</think>\n\ny", None)], None, False


@case
def reasoning_absent_last_gets_empty_think(s):
    return [_q("Hi"), _a("Hello!")], None, False


@case
def reasoning_newlines_stripped(s):
    return [_q("Q"), _a("\n\nanswer\n", "\n\nr1\nr2\n\n")], None, False


@case
def reasoning_only_newlines(s):
    """'\\n' is truthy in the template: an earlier turn after the query keeps an (empty-looking) think block."""
    msgs = [_q("Q"), _a("", "\n", tool_calls=[call("zoom", {})]), {"role": "tool", "content": "ok"}]
    return msgs, [ZOOM], False


@case
def think_split_without_open_tag(s):
    return [_q("Q"), _a("just thinking\n</think>\n\nanswer")], None, False


@case
def think_split_text_before_open_tag(s):
    return [_q("Q"), _a("preamble <think>\nr\n</think>answer")], None, False


@case
def think_split_two_close_tags(s):
    return [_q("Q"), _a("<think>a</think>middle</think>\n\nend")], None, False


@case
def think_split_across_parts(s):
    return [_q("Q"), _a([txt("<think>r</th"), txt("ink>\n\nA"), txt(" and more")])], None, False


@case
def open_think_without_close_is_content(s):
    return [_q("Q"), _a("<think>never closed")], None, False


@case
def reasoning_dropped_before_last_query(s):
    msgs = [
        _q("Q1"),
        _a("A1", "r1"),
        _q("Q2"),
        _a("<think>r2</think>A2"),
        _q("Q3"),
        _a("A3", "r3"),
    ]
    return msgs, None, False


@case
def last_message_is_user_drops_all_reasoning(s):
    return [_q("Q1"), _a("A1", "r1"), _q("Q2")], None, False


@case
def agent_loop_keeps_reasoning_after_query(s):
    msgs = [
        {"role": "system", "content": "You are an agent."},
        _q("Weather in Paris and Rome?"),
        _a("", "Paris first.", tool_calls=[call("get_weather", {"city": "Paris"})]),
        {"role": "tool", "content": "18C"},
        _a("Now Rome.", "Rome next.", tool_calls=[call("get_weather", {"city": "Rome"})]),
        {"role": "tool", "content": "25C"},
        _a("Paris 18C, Rome 25C.", "Both known."),
    ]
    return msgs, [WEATHER], False


@case
def agent_loop_earlier_step_without_reasoning(s):
    """Not last and no reasoning: the step is written without a think block; the last one gets an empty one."""
    msgs = [
        _q("Weather?"),
        _a("Checking.", tool_calls=[call("get_weather", {"city": "Oslo"})]),
        {"role": "tool", "content": "-3C"},
        _a("Cold."),
    ]
    return msgs, [WEATHER], False


@case
def tool_call_newline_uses_split_content(s):
    """Content that is only a think block: after the split it is empty, so no newline before the call."""
    msgs = [_q("Go"), _a("<think>\nplan\n</think>\n\n", tool_calls=[call("zoom", {"bbox": [0, 0, 1, 1]})])]
    return msgs, [ZOOM], False


@case
def tool_call_null_content_with_reasoning(s):
    msgs = [_q("Go"), _a(None, "plan", tool_calls=[call("zoom", '{"bbox": [0, 0, 1, 1]}')])]
    return msgs, [ZOOM], False


@case
def tool_response_user_turn_is_not_a_query(s):
    msgs = [
        _q("Real question"),
        _a("", "r1", tool_calls=[call("zoom", {})]),
        _q("<tool_response>\nmanual result\n</tool_response>"),
        _a("done", "r2"),
    ]
    return msgs, [ZOOM], False


@case
def tool_response_user_parts_are_not_a_query(s):
    msgs = [
        _q("Real question"),
        _a("", "r1", tool_calls=[call("zoom", {})]),
        {"role": "user", "content": [txt("<tool_response>"), img(s.path("gif")), txt("</tool_response>")]},
        _a("seen", "r2"),
    ]
    return msgs, [ZOOM], True


@case
def half_wrapped_user_turn_is_a_query(s):
    msgs = [
        _q("Q1"),
        _a("A1", "r1"),
        _q("<tool_response>\nnot closed"),
        _a("A2", "r2"),
    ]
    return msgs, None, False


@case
def no_real_query_at_all(s):
    """Without a real user query the template treats the last message as the query: no think blocks."""
    msgs = [
        {"role": "system", "content": "Agent."},
        _a("", "r0", tool_calls=[call("zoom", {})]),
        {"role": "tool", "content": "result"},
        _a("final", "r1"),
    ]
    return msgs, [ZOOM], False


@case
def system_messages_in_place(s):
    msgs = [
        {"role": "system", "content": "First."},
        _q("Q1"),
        _a("A1", "r1"),
        {"role": "system", "content": [txt("Mid "), txt("system.")]},
        _q("Q2"),
        {"role": "system", "content": "Late system."},
    ]
    return msgs, None, False


@case
def system_not_first_with_tools(s):
    msgs = [_q("Q"), {"role": "system", "content": "Second."}, _a("", "r", tool_calls=[call("zoom", {})])]
    return msgs, [ZOOM], False


@case
def system_images_first(s):
    msgs = [
        {"role": "system", "content": [txt("Reference: "), img(s.path("jpg640")), img(s.uri("bmp_tiny"))]},
        {"role": "user", "content": [img(s.path("png333")), txt("Same as the reference?")]},
    ]
    return msgs, None, True


@case
def system_images_first_with_tools(s):
    msgs = [
        {"role": "system", "content": [img(s.raw("gif")), txt("Use tools.")]},
        {"role": "user", "content": [txt("Zoom "), img(s.data_uri("webp_wide"))]},
    ]
    return msgs, [ZOOM], True


@case
def system_images_later(s):
    msgs = [
        {"role": "system", "content": "Plain first."},
        {"role": "user", "content": [img(s.path("jpg_odd"))]},
        {"role": "system", "content": [txt("Also consider "), img(s.path("png_tie"))]},
        {"role": "user", "content": [img(s.path("gif")), txt("Which?")]},
    ]
    return msgs, None, True


@case
def assistant_images_in_content(s):
    msgs = [
        {"role": "user", "content": [img(s.path("jpg640")), txt("Crop it.")]},
        {"role": "assistant", "content": [txt("Here: "), img(s.path("png333"))], "reasoning_content": "crop"},
        {"role": "user", "content": [txt("And "), img(s.path("gif"))]},
        {"role": "assistant", "content": [img(s.raw("bmp_tiny")), txt("done")]},
    ]
    return msgs, None, True


@case
def assistant_image_after_think_split(s):
    msgs = [
        _q("Draw"),
        {"role": "assistant", "content": [txt("<think>\nplan\n</think>\n\n"), img(s.path("jpg_odd")), txt("ok")]},
    ]
    return msgs, None, True


@case
def assistant_image_inside_kept_reasoning(s):
    msgs = [
        _q("Look"),
        {"role": "assistant", "content": [txt("<think>\nsee "), img(s.path("webp_wide")), txt("\n</think>\n\nyes")]},
    ]
    return msgs, None, True


@case
def assistant_image_with_tool_call(s):
    msgs = [
        {"role": "user", "content": [img(s.path("jpg_big")), txt("Zoom")]},
        {
            "role": "assistant",
            "content": [img(s.path("bmp_tiny"))],
            "reasoning_content": "zoom in",
            "tool_calls": [call("zoom", {"bbox": [0, 0, 1, 1]})],
        },
        {"role": "tool", "content": [img(s.path("png333"))]},
    ]
    return msgs, [ZOOM], True


@case
def long_thinking_dialogue(s):
    msgs = [{"role": "system", "content": "Count."}]
    for i in range(6):
        msgs += [_q(f"Number {i}?"), _a(f"{i}", f"thinking about {i}")]
    return msgs, None, False


@case
def unicode_reasoning(s):
    return [_q("日本?"), _a("はい 👍", "考える… ünïcödé\n— Ελληνικά")], None, False


# -- reasoning under the other names transformers 5 copies into reasoning_content -----------------
def _reply(content: Any, **fields: Any) -> dict:
    return {"role": "assistant", "content": content, **fields}


@case
def reasoning_thinking_key(s):
    return [_q("Why?"), _reply("Because.", thinking="I should explain.")], None, False


@case
def reasoning_reasoning_key(s):
    return [_q("Why?"), _reply("Because.", reasoning="From the reasoning key.")], None, False


@case
def reasoning_keys_precedence(s):
    msgs = [
        _q("Q1"),
        _reply("A1", reasoning_content="rc wins", thinking="not me", reasoning="nor me"),
        _q("Q2"),
        _reply("A2", thinking="thinking wins", reasoning="not me"),
        _reply("A3", reasoning_content="", thinking="an empty reasoning_content still wins"),
        _reply("A4", reasoning_content=None, thinking="a None reasoning_content is absent"),
        _reply("<think>inline loses</think>A5", reasoning="the field wins"),
    ]
    return msgs, None, False


@case
def reasoning_thinking_key_with_image_content(s):
    msgs = [_q("Look"), _reply([txt("Here: "), img(s.path("gif"))], thinking="from thinking")]
    return msgs, None, True
