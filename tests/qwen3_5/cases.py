"""Parity conversations: each a function of the image paths returning render arguments.

Covers thinking on/off/default, reasoning before and after the last user query (field and
inline ``<think>``), tools, XML tool calls with string/number/bool/null/array/object arguments,
consecutive tool responses, images and multi-image in user and tool messages, ``add_vision_id``,
multi-turn, whitespace and unicode, and odd-but-accepted shapes the template renders.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .conftest import img, txt

Case = Callable[[dict[str, str]], dict[str, Any]]
CASES: dict[str, Case] = {}

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer"},
                "metric": {"type": "boolean"},
                "threshold": {"type": "number"},
                "options": {"type": "object"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "note": {"type": ["string", "null"]},
            },
            "required": ["city"],
        },
    },
}
SEARCH = {
    "type": "function",
    "function": {
        "name": "search",
        "description": "Recherche sur le web — 网页搜索 🔎",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}, "k": {"type": "integer"}}},
    },
}
TOOLS = [WEATHER, SEARCH]


def case(name: str) -> Callable[[Case], Case]:
    def deco(fn: Case) -> Case:
        CASES[name] = fn
        return fn

    return deco


def S(content: Any) -> dict[str, Any]:
    return {"role": "system", "content": content}


def U(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def T(content: Any) -> dict[str, Any]:
    return {"role": "tool", "content": content}


def A(content: Any = None, reasoning: str | None = None, calls: list[tuple[str, Any]] | None = None) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": "assistant", "content": content}
    if reasoning is not None:
        msg["reasoning_content"] = reasoning
    if calls:
        msg["tool_calls"] = [
            {"id": f"call_{i}", "type": "function", "function": {"name": n, "arguments": a}}
            for i, (n, a) in enumerate(calls)
        ]
    return msg


def conv(messages: list[dict[str, Any]], tools: list[Any] | None = None, gen: bool = False, **kw: Any) -> Case:
    return lambda im: {"messages": messages, "tools": tools, "add_generation_prompt": gen, **kw}


# ---- plain text --------------------------------------------------------------------------------
CASES["user"] = conv([U("Hello!")])
CASES["user_gen"] = conv([U("Hello!")], gen=True)
CASES["user_gen_thinking_true"] = conv([U("Hello!")], gen=True, enable_thinking=True)
CASES["user_gen_thinking_false"] = conv([U("Hello!")], gen=True, enable_thinking=False)
CASES["system_user"] = conv([S("You are helpful."), U("Hi.")])
CASES["system_user_gen"] = conv([S("You are helpful."), U("Hi.")], gen=True)
CASES["system_whitespace"] = conv([S("  \n You are terse. \n\n"), U("Hi")], gen=True)
CASES["system_empty"] = conv([S(""), U("Hi")])
CASES["system_parts"] = conv([S([txt("Rule one. "), txt(" Rule two.")]), U("ok")])
CASES["user_whitespace"] = conv([U("\n\n   padded question?  \t\n")])
CASES["user_whitespace_only"] = conv([U("   \n ")], gen=True)
CASES["user_empty"] = conv([U("")], gen=True)
CASES["user_parts"] = conv([U([txt("part one, "), txt("part two")])])
CASES["crlf_tabs"] = conv([U("line1\r\nline2\r\n\tindented\t")], gen=True)
CASES["multi_turn"] = conv([U("2+2?"), A("4"), U("3+3?"), A("6"), U("and 4+4?")], gen=True)
CASES["assistant_first"] = conv([A("I start."), U("ok")], gen=True)
CASES["consecutive_assistants"] = conv([U("q"), A("part 1"), A("part 2")])
CASES["assistant_none_content"] = conv([U("q"), A(None)])
CASES["assistant_parts"] = conv([U("q"), A([txt("Answer "), txt("in parts.")], reasoning="r")])
CASES["long_conversation"] = conv(
    [S("sys")] + [m for i in range(10) for m in (U(f"question {i}"), A(f"answer {i}", reasoning=f"thought {i}"))],
    gen=True,
)

# ---- reasoning ---------------------------------------------------------------------------------
CASES["reasoning_after_query"] = conv([U("Solve."), A("42", reasoning="Think hard.")])
CASES["reasoning_before_and_after"] = conv(
    [U("Solve."), A("42", reasoning="Think hard."), U("Why?"), A("Because.", reasoning="More thinking.")]
)
CASES["reasoning_historical_gen"] = conv([U("Solve."), A("42", reasoning="Think hard."), U("Why?")], gen=True)
CASES["reasoning_whitespace"] = conv([U("q"), A("  \n answer \n", reasoning="\n\n  spaced thought \n\n")])
CASES["reasoning_empty_string"] = conv([U("q"), A("answer", reasoning="")])
CASES["reasoning_field_wins_over_inline"] = conv([U("q"), A("<think>inline</think>shown", reasoning="field")])
CASES["inline_think_after_query"] = conv([U("q"), A("<think>\nI reason.\n</think>\n\nThe answer.")])
CASES["inline_think_historical"] = conv([U("q"), A("<think>\nold\n</think>\n\nold answer"), U("next")], gen=True)
CASES["inline_think_no_open_tag"] = conv([U("q"), A("just reasoning</think>\n\nfinal")])
CASES["inline_think_twice"] = conv([U("q"), A("<think>a</think>b</think>\nc")])
CASES["inline_think_gen_false"] = conv([U("q"), A("<think>x</think>y"), U("q2")], gen=True, enable_thinking=False)

# ---- tools and tool calls ----------------------------------------------------------------------
CASES["tools_user"] = conv([U("Weather?")], tools=TOOLS, gen=True)
CASES["tools_system_user"] = conv([S("Use tools wisely."), U("Weather?")], tools=TOOLS, gen=True)
CASES["tools_empty_system"] = conv([S("   "), U("Weather?")], tools=[WEATHER])
CASES["tools_empty_list"] = conv([S("sys"), U("hi")], tools=[])
CASES["call_string_arg"] = conv(
    [U("Weather in Paris?"), A("", calls=[("get_weather", {"city": "Paris"})])], tools=TOOLS
)
CASES["call_number_args"] = conv(
    [U("w"), A("Checking.", calls=[("get_weather", {"city": "Oslo", "days": 3, "threshold": 0.5})])], tools=TOOLS
)
CASES["call_object_array_args"] = conv(
    [
        U("w"),
        A(
            None,
            reasoning="need options",
            calls=[("get_weather", {"city": "Lima", "options": {"unit": "C", "hours": [1, 2]}, "tags": ["a", "é"]})],
        ),
    ],
    tools=TOOLS,
)
CASES["call_bool_null_args"] = conv(
    [U("w"), A("x", calls=[("get_weather", {"city": "Rome", "metric": True, "note": None})])], tools=TOOLS
)
CASES["call_multiline_arg"] = conv(
    [U("w"), A("", calls=[("search", {"query": "line one\nline two\n\n  indented", "k": 5})])], tools=TOOLS
)
CASES["call_unicode_args"] = conv(
    [U("天气"), A("", calls=[("get_weather", {"city": "北京", "options": {"名": "值 ✓"}})])], tools=TOOLS
)
CASES["call_empty_args"] = conv([U("w"), A("", calls=[("search", {})])], tools=TOOLS)
CASES["call_no_arguments_key"] = lambda im: {
    "messages": [U("w"), {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "search"}}]}],
    "tools": TOOLS,
    "add_generation_prompt": False,
}
CASES["two_calls"] = conv(
    [U("w"), A("Both.", calls=[("get_weather", {"city": "A"}), ("search", {"query": "B", "k": 1})])], tools=TOOLS
)
CASES["tool_cycle"] = conv(
    [
        S("sys"),
        U("Weather in Paris?"),
        A("", reasoning="call it", calls=[("get_weather", {"city": "Paris"})]),
        T("sunny, 21C"),
        A("It is sunny.", reasoning="read result"),
    ],
    tools=TOOLS,
)
CASES["tool_cycle_gen"] = conv(
    [U("Weather?"), A("", reasoning="r1", calls=[("get_weather", {"city": "X"})]), T("rain")], tools=TOOLS, gen=True
)
CASES["consecutive_tools"] = conv(
    [
        U("Both?"),
        A("", calls=[("get_weather", {"city": "A"}), ("get_weather", {"city": "B"}), ("search", {"query": "C"})]),
        T("a: sun"),
        T("b: rain"),
        T("c: fog"),
    ],
    tools=TOOLS,
    gen=True,
)
CASES["historical_tool_cycle"] = conv(
    [
        U("w?"),
        A("", reasoning="r", calls=[("get_weather", {"city": "A"})]),
        T("sun"),
        A("Sunny.", reasoning="r2"),
        U("thanks, and tomorrow?"),
    ],
    tools=TOOLS,
    gen=True,
    enable_thinking=True,
)
CASES["user_tool_response_wrapper"] = conv(
    [U("real question"), A("calling", reasoning="r"), U("<tool_response>\nresult\n</tool_response>")], gen=True
)
CASES["tool_whitespace_content"] = conv([U("q"), A("", calls=[("search", {"query": "x"})]), T("\n  result  \n")])
CASES["tool_parts"] = conv([U("q"), A("", calls=[("search", {"query": "x"})]), T([txt("r1 "), txt("r2")])])
CASES["tool_first"] = conv([T("orphan result"), U("hi")])
CASES["tools_then_tool_first"] = conv([T("orphan"), U("hi")], tools=[SEARCH])
CASES["system_then_tool"] = conv([S("s"), T("result"), U("hi")], gen=True)

# ---- unicode and literal control text ----------------------------------------------------------
CASES["unicode_scripts"] = conv(
    [U("Hindi: क्षत्रिय नमस्ते, Thai: สวัสดีครับ, Arabic: مرحبا, 中文：你好世界, emoji 😊👍🏽")], gen=True
)
CASES["unicode_reasoning"] = conv([U("é?"), A("café ☕", reasoning="ça va — 思考中 🤔")])
CASES["literal_control_text"] = conv([U("write <|im_start|> and <think> literally</think> ok"), A("<tool_call> sure")])
CASES["literal_param_close"] = conv([U("q"), A("", calls=[("search", {"query": "a </parameter> b"})])], tools=TOOLS)


# ---- images --------------------------------------------------------------------------------------
@case("image_only")
def _(im: dict[str, str]) -> dict[str, Any]:
    return {"messages": [U([img(im["vga"])])], "add_generation_prompt": True}


@case("text_image")
def _(im: dict[str, str]) -> dict[str, Any]:
    return {"messages": [U([txt("What is this? "), img(im["wide"])])], "add_generation_prompt": True}


@case("multi_image")
def _(im: dict[str, str]) -> dict[str, Any]:
    return {"messages": [U([img(im["tall"]), txt(" compare with "), img(im["odd"]), txt(" please")])]}


@case("image_whitespace_trim")
def _(im: dict[str, str]) -> dict[str, Any]:
    return {"messages": [U([txt("  \n"), img(im["tiny"]), txt("  caption \n ")])], "add_generation_prompt": True}


@case("images_two_turns")
def _(im: dict[str, str]) -> dict[str, Any]:
    return {
        "messages": [
            U([img(im["vga"]), txt("first")]),
            A("A gradient.", reasoning="looked"),
            U([txt("second: "), img(im["square"])]),
        ],
        "add_generation_prompt": True,
    }


@case("tool_image")
def _(im: dict[str, str]) -> dict[str, Any]:
    return {
        "messages": [
            U("Take a screenshot."),
            A("", calls=[("search", {"query": "screen"})]),
            T([img(im["wide"])]),
        ],
        "tools": TOOLS,
        "add_generation_prompt": True,
    }


@case("tool_text_image_consecutive")
def _(im: dict[str, str]) -> dict[str, Any]:
    return {
        "messages": [
            U([txt("Look: "), img(im["odd"])]),
            A("", calls=[("search", {"query": "a"}), ("search", {"query": "b"})]),
            T([txt("first result "), img(im["tall"])]),
            T([img(im["tiny"]), txt(" second result")]),
        ],
        "tools": TOOLS,
        "add_generation_prompt": True,
    }


@case("vision_id")
def _(im: dict[str, str]) -> dict[str, Any]:
    return {
        "messages": [U([img(im["vga"]), txt("and"), img(im["tiny"])]), A("ok"), U([img(im["square"])])],
        "add_generation_prompt": True,
        "add_vision_id": True,
    }


@case("vision_id_tool")
def _(im: dict[str, str]) -> dict[str, Any]:
    return {
        "messages": [
            U([txt("  "), img(im["wide"])]),
            A("", calls=[("search", {"query": "x"})]),
            T([img(im["odd"])]),
        ],
        "tools": [SEARCH],
        "add_vision_id": True,
    }


@case("image_query_looks_like_tool_response")
def _(im: dict[str, str]) -> dict[str, Any]:
    return {
        "messages": [
            U("first"),
            A("a", reasoning="kept?"),
            U([txt("<tool_response>x</tool_response>"), img(im["tiny"])]),
        ],
        "add_generation_prompt": True,
    }


@case("image_same_twice")
def _(im: dict[str, str]) -> dict[str, Any]:
    return {"messages": [U([img(im["square"]), img(im["square"])])], "add_generation_prompt": True}


# ---- reasoning under the other names transformers accepts (thinking, reasoning) ------------------
def A_with(content: Any, **fields: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": content, **fields}


CASES["reasoning_thinking_key"] = conv([U("q"), A_with("42", thinking="Think hard.")])
CASES["reasoning_reasoning_key"] = conv([U("q"), A_with("42", reasoning="Reason it out.")])
CASES["reasoning_keys_precedence"] = conv(
    [
        U("q1"),
        A_with("a1", reasoning_content="rc wins", thinking="not me", reasoning="nor me"),
        U("q2"),
        A_with("a2", thinking="thinking wins", reasoning="not me"),
        A_with("a3", reasoning_content="", thinking="empty rc still wins"),
        A_with("a4", reasoning_content=None, thinking="None is absent"),
        A_with("<think>inline loses</think>a5", reasoning="field wins"),
    ]
)
CASES["reasoning_thinking_key_historical"] = conv(
    [U("q"), A_with("old", thinking="dropped"), U("next?"), A_with("new", thinking="kept")], gen=True
)


# ---- images in assistant messages (rendered, counted and numbered like any other) -----------------
@case("assistant_image_after_query")
def _(im: dict[str, str]) -> dict[str, Any]:
    return {"messages": [U("Draw it."), A([txt("Here: "), img(im["vga"]), txt(" done.")], reasoning="r")]}


@case("assistant_image_history_vision_id")
def _(im: dict[str, str]) -> dict[str, Any]:
    return {
        "messages": [
            U([img(im["tiny"]), txt("Edit this.")]),
            A([img(im["wide"]), txt("  edited ")]),
            U([txt("And this "), img(im["odd"])]),
            A([txt("\n"), img(im["square"])], reasoning="  second  "),
        ],
        "add_generation_prompt": True,
        "add_vision_id": True,
    }


@case("assistant_image_only")
def _(im: dict[str, str]) -> dict[str, Any]:
    return {"messages": [U("q"), A([img(im["tall"])]), U("q2"), A([img(im["tiny"])])], "add_vision_id": True}


@case("assistant_image_after_inline_think")
def _(im: dict[str, str]) -> dict[str, Any]:
    return {
        "messages": [
            U("q"),
            A([txt("<think>\nold\n</think>\n\n"), img(im["vga"])]),
            U("q2"),
            A([txt("<think>\nplan\n</think>\n\nresult "), img(im["odd"])]),
        ],
        "add_vision_id": True,
    }


@case("assistant_image_in_kept_reasoning")
def _(im: dict[str, str]) -> dict[str, Any]:
    return {
        "messages": [U("q"), A([txt("<think>look "), img(im["wide"]), txt("\n</think>\n\nanswer")])],
        "add_vision_id": True,
    }


@case("assistant_image_with_tool_call")
def _(im: dict[str, str]) -> dict[str, Any]:
    msg = A([img(im["tiny"])], calls=[("search", {"query": "x"})])
    return {"messages": [U("q"), msg, T([img(im["vga"])])], "tools": [SEARCH], "add_vision_id": True}
