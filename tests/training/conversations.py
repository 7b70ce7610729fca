"""Training conversations shared by the three families: text, one and several images of different
sizes, tools and tool calls, reasoning, multi-turn. Each case is a function of the image paths.

Family-specific switches (Qwen3.5 ``enable_thinking``, Kimi ``thinking``) are added by the family tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Case = Callable[[dict[str, str]], dict[str, Any]]
CASES: dict[str, Case] = {}

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city"],
        },
    },
}
LOOKUP = {
    "type": "function",
    "function": {
        "name": "lookup",
        "description": "Look a word up.",
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
    },
}
TOOLS = [WEATHER, LOOKUP]


def S(content: Any) -> dict[str, Any]:
    return {"role": "system", "content": content}


def U(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def T(content: Any, call_id: str = "functions.get_weather:0") -> dict[str, Any]:
    return {"role": "tool", "content": content, "tool_call_id": call_id}


def A(content: Any = "", reasoning: str | None = None, calls: list[tuple[str, Any]] | None = None) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": "assistant", "content": content}
    if reasoning is not None:
        msg["reasoning_content"] = reasoning
    if calls:
        msg["tool_calls"] = [
            {"id": f"functions.{name}:{i}", "type": "function", "function": {"name": name, "arguments": args}}
            for i, (name, args) in enumerate(calls)
        ]
    return msg


def img(path: str) -> dict[str, Any]:
    return {"type": "image", "image": path}


def txt(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def case(name: str, messages: Callable[[dict[str, str]], list[dict[str, Any]]], tools: Any = None) -> None:
    CASES[name] = lambda im: {"messages": messages(im), "tools": tools}


case("text_single", lambda im: [U("Hello!"), A("Hi there.")])
case("system_text", lambda im: [S("You are terse."), U("2+2?"), A("4")])
case("text_multi_turn", lambda im: [U("2+2?"), A("4"), U("3+3?"), A("6"), U("4+4?"), A("8")])
case("image_vga", lambda im: [U([img(im["vga"]), txt("What is this?")]), A("A gradient.")])
case("image_tiny", lambda im: [U([img(im["tiny"]), txt("Tiny?")]), A("Yes, tiny.")])
case("image_wide", lambda im: [U([txt("Look: "), img(im["wide"])]), A("A wide strip.")])
case("image_tall", lambda im: [U([img(im["tall"])]), A("Tall.")])
case("image_big", lambda im: [S("Describe images."), U([img(im["big"]), txt("Describe.")]), A("Large photo.")])
case("two_images_one_message", lambda im: [U([img(im["vga"]), img(im["odd"]), txt("Compare.")]), A("Different.")])
case(
    "images_in_two_turns",
    lambda im: [U([img(im["wide"]), txt("First?")]), A("Wide."), U([img(im["tall"]), txt("Second?")]), A("Tall.")],
)
case(
    "three_images",
    lambda im: [U([img(im["tiny"]), txt("a"), img(im["square"]), txt("b"), img(im["tall"])]), A("Three of them.")],
)
case("same_image_twice", lambda im: [U([img(im["odd"]), img(im["odd"]), txt("Same?")]), A("Identical.")])
case(
    "tool_call_and_answer",
    lambda im: [
        U("Weather in Paris?"),
        A("", calls=[("get_weather", {"city": "Paris"})]),
        T("sunny, 21C"),
        A("It is sunny in Paris."),
    ],
    TOOLS,
)
case(
    "tool_call_with_content",
    lambda im: [U("Weather?"), A("Let me check.", calls=[("get_weather", {"city": "Oslo", "days": 2})])],
    TOOLS,
)
case(
    "two_tool_calls",
    lambda im: [
        U("Weather in A and meaning of B?"),
        A("", calls=[("get_weather", {"city": "A"}), ("lookup", {"q": "B"})]),
        T("rain", "functions.get_weather:0"),
        T("a letter", "functions.lookup:1"),
        A("Rain; B is a letter."),
    ],
    TOOLS,
)
case("tools_declared_not_called", lambda im: [S("Use tools if needed."), U("Hi"), A("Hello!")], TOOLS)
case(
    "image_then_tool_call",
    lambda im: [
        U([img(im["vga"]), txt("Where is this? Check the weather there.")]),
        A("", calls=[("get_weather", {"city": "Lyon"})]),
        T("cloudy"),
        A("Cloudy in Lyon."),
    ],
    TOOLS,
)
case("reasoning_final", lambda im: [U("Solve 6*7."), A("42", reasoning="Six sevens are forty-two.")])
case(
    "reasoning_history_and_final",
    lambda im: [U("Solve."), A("42", reasoning="Think."), U("Why?"), A("Because.", reasoning="Explain.")],
)
case(
    "reasoning_tool_loop",
    lambda im: [
        U("Weather in Rome?"),
        A("", reasoning="I should call the tool.", calls=[("get_weather", {"city": "Rome"})]),
        T("hot"),
        A("It is hot.", reasoning="The tool said hot."),
    ],
    TOOLS,
)
case("reasoning_with_image", lambda im: [U([img(im["square"]), txt("Count.")]), A("Zero.", reasoning="No objects.")])
case("content_starts_with_newline", lambda im: [U("Say hi"), A("\nHi!")])
case("content_starts_with_two_newlines", lambda im: [U("Say hi"), A("\n\nHi!"), U("Again"), A("\n \nHi.")])
case("content_trailing_whitespace", lambda im: [U("Poem"), A("Roses\n\nare red  \n")])
case("unicode", lambda im: [U("天气怎么样？"), A("晴天 ☀️, 21°C — très bien.")])
case("code_block", lambda im: [U("Code?"), A("```python\nprint('hi')\n```")])
case("ends_with_user", lambda im: [U("one"), A("1"), U([img(im["tiny"]), txt("two?")])])
case("consecutive_assistants", lambda im: [U("q"), A("part one."), A("part two.")])
case(
    "long_multi_turn_images",
    lambda im: [
        S("You look at images."),
        U([img(im["vga"]), txt("1?")]),
        A("One."),
        U([img(im["wide"]), txt("2?")]),
        A("Two.", reasoning="second"),
        U("no image"),
        A("Three."),
        U([img(im["tall"]), img(im["tiny"]), txt("4 and 5?")]),
        A("Four and five.", reasoning="last"),
    ],
)
case(
    "tool_result_then_user_image",
    lambda im: [
        U("Weather?"),
        A("", calls=[("get_weather", {"city": "Nice"})]),
        T("warm"),
        A("Warm."),
        U([img(im["odd"]), txt("And this?")]),
        A("An odd size."),
    ],
    TOOLS,
)
case("empty_answer", lambda im: [U("Say nothing."), A("")])
case("markup_text", lambda im: [U("Tags <b>bold</b>"), A("<i>ok</i> & done")])

#: The two-image conversation every truncation test cuts at every length.
TWO_IMAGES = "images_in_two_turns"
