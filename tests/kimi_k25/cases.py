"""The parity corpus: hand-written conversations for each template branch plus seeded random ones.

Texts avoid special-token spellings (``<|…|>``, ``<think>``, ``[EOS]``…): the oracle's tokenizer
turns those into control tokens, mmrender keeps them as text (tested separately).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Return the weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "unit": {"type": "string", "enum": ["c", "f"], "description": "Unit"},
                "city": {"type": "string"},
            },
            "required": ["city"],
        },
    },
}
SEARCH = {
    "type": "function",
    "function": {
        "name": "search",
        "description": "Cherche sur le web — 检索.\nSecond line.",
        "parameters": {
            "type": "object",
            "properties": {
                "query": {"type": "string", "minLength": 1},
                "max_results": {"type": "integer", "default": 5, "minimum": 1, "maximum": 10},
                "filters": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["query"],
        },
    },
}
#: The TypeScript encoder rejects this schema, so the template prints the tools as JSON.
BROKEN = {
    "type": "function",
    "function": {
        "name": "describe_only",
        "description": "Property schema with only a description.",
        "parameters": {"type": "object", "properties": {"note": {"description": "Free text"}}},
    },
}
NOT_A_FUNCTION = {"type": "web_search", "web_search": {"enable": True}}

TEXTS = (
    "Hello",
    "What is 2+2?",
    "  leading spaces",
    "trailing spaces   ",
    "line1\nline2\n\nline4",
    "tabs\tand\r\nCRLF\r\n",
    "def f(x):\n    return x ** 2  # square\n",
    "日本語のテキストと中文混合",
    "emoji 🎉🚀👍🏽 family 👨‍👩‍👧",
    "مرحبا بالعالم",
    "e\u0301 combining and \u200bzero width",
    '{"json": [1, 2, 3], "k": null}',
    "## Return of nothing",
    "   ",
    "\n",
    "x" * 300,
    "数字123和English混合",
    "100000000000 digits 3.14159",
    "ÅÄÖ åäö ß",
    "<b>html</b> &amp; <think-ish>",
    "path/to/file.py:42",
    "    indented\n        more\n",
    "😀😀😀😀😀",
    "Ünïcödé",
    "multiple     spaces     here",
    "",
)


def img(path: str, style: int = 0) -> dict[str, Any]:
    if style == 0:
        return {"type": "image_url", "image_url": {"url": path}}
    return {"type": "image", "image": path}


def call(name: str, idx: int, args: Any, *, with_id: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "function", "function": {"name": name, "arguments": args}}
    if with_id:
        out["id"] = f"functions.{name}:{idx}"
    return out


def hand_written(im: dict[str, str]) -> list[tuple[str, list[dict[str, Any]], list[dict[str, Any]] | None]]:
    """(name, messages, tools) for each template branch."""
    sys_ = {"role": "system", "content": "You are concise."}
    user = {"role": "user", "content": "What is 2+2?"}
    tool_turn = [
        {"role": "user", "content": "Weather in Paris and Tokyo?"},
        {
            "role": "assistant",
            "content": "Checking both.",
            "reasoning_content": "Two cities, two calls.",
            "tool_calls": [call("get_weather", 0, {"city": "Paris"}), call("get_weather", 1, '{"city":"Tokyo"}')],
        },
        {"role": "tool", "tool_call_id": "functions.get_weather:0", "content": "Sunny, 21°C"},
        {"role": "tool", "tool_call_id": "functions.get_weather:1", "content": "雨 (rain)"},
    ]
    return [
        ("single_user", [user], None),
        ("system_user", [sys_, user], None),
        ("golden_inputs", [sys_, user], [WEATHER]),
        ("answered", [sys_, user, {"role": "assistant", "content": "Four.", "reasoning_content": "2+2=4"}], None),
        ("tool_cycle", [sys_, *tool_turn], [WEATHER]),
        (
            "tool_cycle_answered",
            [*tool_turn, {"role": "assistant", "content": "Paris sunny, Tokyo rain.", "reasoning_content": "Sum up."}],
            [WEATHER, SEARCH],
        ),
        (
            "reasoning_in_history",
            [
                user,
                {"role": "assistant", "content": "Four.", "reasoning_content": "Easy."},
                {"role": "user", "content": "Search cats."},
                {
                    "role": "assistant",
                    "content": None,
                    "reasoning_content": "Use search.",
                    "tool_calls": [call("search", 0, {"query": "cats", "max_results": 3})],
                },
                {"role": "tool", "tool_call_id": "functions.search:0", "content": "Cats are mammals."},
            ],
            [SEARCH],
        ),
        (
            "many_turns_reasoning",
            [
                sys_,
                *[
                    m
                    for k in range(6)
                    for m in (
                        {"role": "user", "content": f"Question {k}: {TEXTS[k]}"},
                        {"role": "assistant", "content": f"Answer {k}", "reasoning_content": f"Thought {k}\n"},
                    )
                ],
                {"role": "user", "content": "Last one?"},
            ],
            None,
        ),
        (
            "image_then_text",
            [{"role": "user", "content": [img(im["wide"]), {"type": "text", "text": "What is this?"}]}],
            None,
        ),
        (
            "text_image_text_newline",
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Compare "},
                        img(im["tall"], 1),
                        {"type": "text", "text": "\nwith "},
                        img(im["big"]),
                        {"type": "text", "text": "\n\n  done"},
                    ],
                }
            ],
            None,
        ),
        (
            "images_only",
            [{"role": "user", "content": [img(im["tiny"]), img(im["patch"], 1), img(im["wide"])]}],
            None,
        ),
        (
            "image_in_tool_result",
            [
                {"role": "user", "content": "Take a screenshot."},
                {"role": "assistant", "content": "", "tool_calls": [call("screenshot", 0, {})]},
                {
                    "role": "tool",
                    "tool_call_id": "functions.screenshot:0",
                    "content": [{"type": "text", "text": "Here:"}, img(im["wide"])],
                },
            ],
            None,
        ),
        (
            "image_in_assistant_and_system",
            [
                {"role": "system", "content": [img(im["patch"]), {"type": "text", "text": "Logo above."}]},
                {"role": "user", "content": [img(im["tall"]), {"type": "text", "text": "Again"}]},
                {"role": "assistant", "content": [{"type": "text", "text": "Seen "}, img(im["tiny"])]},
                {"role": "user", "content": [img(im["tall"])]},
            ],
            None,
        ),
        (
            "names",
            [
                {"role": "system", "content": "Rules.", "name": "policy"},
                {"role": "user", "content": "Hi", "name": "alice"},
                {"role": "assistant", "content": "", "name": "bot", "tool_calls": [call("lookup", 0, {"q": "x"})]},
                {"role": "tool", "tool_call_id": "functions.lookup:0", "name": "lookup", "content": "found"},
            ],
            None,
        ),
        (
            "string_arguments_and_unicode",
            [
                {"role": "user", "content": "Go"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        call("a", 0, '{"a":1,  "b" : [true,null]}'),
                        call("b", 1, {"城市": "北京", "emoji": "🎉", "nested": {"k": [1.5, -2, "x"]}}),
                        call("c", 2, "not json at all"),
                    ],
                },
            ],
            None,
        ),
        (
            "missing_ids",
            [
                {"role": "user", "content": "Go"},
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [call("get_weather", 0, {"city": "Oslo"}, with_id=False)],
                },
                {"role": "tool", "content": "Cold"},
            ],
            [WEATHER],
        ),
        (
            "reasoning_key_variants",
            [
                {"role": "user", "content": "Q1"},
                {
                    "role": "assistant",
                    "content": "",
                    "reasoning": "from reasoning",
                    "reasoning_content": "from reasoning_content",
                    "tool_calls": [call("f", 0, {})],
                },
                {"role": "tool", "tool_call_id": "functions.f:0", "content": "ok"},
                {"role": "assistant", "content": "", "thinking": "from thinking", "tool_calls": [call("f", 1, {})]},
                {"role": "tool", "tool_call_id": "functions.f:1", "content": "ok"},
                {"role": "assistant", "content": "", "reasoning": "only reasoning", "tool_calls": [call("f", 2, {})]},
            ],
            None,
        ),
        ("encoder_fallback_json", [user], [WEATHER, BROKEN]),
        ("no_function_tools_json", [user], [NOT_A_FUNCTION]),
        ("empty_tools_list", [user], []),
        (
            "text_parts_and_empty",
            [
                {"role": "system", "content": ""},
                {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b c"}]},
                {"role": "assistant", "content": [{"type": "text", "text": ""}], "reasoning_content": ""},
                {"role": "user", "content": None},
            ],
            None,
        ),
        (
            "system_in_middle",
            [
                user,
                {"role": "system", "content": "Now answer in French."},
                {"role": "assistant", "content": "Quatre."},
                {"role": "system", "content": "Back to English."},
                {"role": "user", "content": "And 3+3?"},
            ],
            None,
        ),
        (
            "assistant_last_with_calls",
            [
                {"role": "user", "content": "Do it"},
                {
                    "role": "assistant",
                    "content": "Working",
                    "reasoning_content": "Plan:\n1. call",
                    "tool_calls": [call("run", 0, {"cmd": "ls -la"})],
                },
            ],
            [SEARCH],
        ),
        (
            "developer_role",
            [
                {"role": "developer", "content": "Answer in haiku."},
                user,
                {"role": "assistant", "content": "Four, plainly."},
                {"role": "developer", "content": [{"type": "text", "text": "Now see: "}, img(im["tiny"])]},
                {"role": "developer", "name": "ops", "content": None},
                {"role": "user", "content": "And 3+3?"},
            ],
            None,
        ),
        (
            "reasoning_keys_none_and_empty",
            [
                user,
                {
                    "role": "assistant",
                    "content": "",
                    "reasoning_content": None,
                    "thinking": "t1",
                    "tool_calls": [call("f", 0, {})],
                },
                {"role": "tool", "tool_call_id": "functions.f:0", "content": "ok"},
                {
                    "role": "assistant",
                    "content": "",
                    "reasoning_content": "",
                    "thinking": "t2",
                    "tool_calls": [call("f", 1, {})],
                },
                {"role": "tool", "tool_call_id": "functions.f:1", "content": "ok"},
                {"role": "assistant", "content": "done", "thinking": "t3", "reasoning": None},
            ],
            None,
        ),
    ]


def _user(rng: random.Random, im: dict[str, str]) -> dict[str, Any]:
    if rng.random() < 0.6:
        return {"role": "user", "content": rng.choice(TEXTS)}
    parts: list[dict[str, Any]] = []
    for _ in range(rng.randint(1, 4)):
        if rng.random() < 0.4:
            parts.append(img(rng.choice(list(im.values())), rng.randint(0, 1)))
        else:
            parts.append({"type": "text", "text": rng.choice(TEXTS)})
    return {"role": "user", "content": parts}


def _assistant(rng: random.Random, calls: list[dict[str, Any]] | None) -> dict[str, Any]:
    m: dict[str, Any] = {"role": "assistant", "content": rng.choice((*TEXTS[:12], None))}
    r = rng.random()
    if r < 0.5:
        m["reasoning_content"] = rng.choice(TEXTS)
    elif r < 0.6:
        m["reasoning"] = rng.choice(TEXTS)
    if calls:
        m["tool_calls"] = calls
    return m


def random_conversation(seed: int, im: dict[str, str]) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    msgs: list[dict[str, Any]] = []
    if rng.random() < 0.4:
        msgs.append({"role": "system", "content": rng.choice(TEXTS)})
    for _ in range(rng.randint(1, 4)):
        msgs.append(_user(rng, im))
        for _cycle in range(rng.randint(0, 2)):
            names = [rng.choice(("get_weather", "search", "f")) for _ in range(rng.randint(1, 2))]
            calls = [
                call(n, k, rng.choice(({"city": rng.choice(TEXTS)}, '{"q": "x"}', {}))) for k, n in enumerate(names)
            ]
            msgs.append(_assistant(rng, calls))
            for k, n in enumerate(names):
                content: Any = rng.choice(TEXTS)
                if rng.random() < 0.2:
                    content = [{"type": "text", "text": content}, img(rng.choice(list(im.values())))]
                msgs.append({"role": "tool", "tool_call_id": f"functions.{n}:{k}", "content": content})
        if rng.random() < 0.8:
            msgs.append(_assistant(rng, None))
    if rng.random() < 0.5 and msgs[-1]["role"] == "assistant":
        msgs.append(_user(rng, im))
    return msgs


def corpus(im: dict[str, str], n_random: int = 36) -> list[tuple[str, list[dict[str, Any]], Any]]:
    cases = hand_written(im)
    tool_choices: list[Callable[[], Any]] = [lambda: None, lambda: [WEATHER], lambda: [SEARCH, WEATHER]]
    for seed in range(n_random):
        cases.append((f"random_{seed}", random_conversation(seed, im), tool_choices[seed % 3]()))
    return cases


#: (thinking, preserve_thinking, add_generation_prompt)
SETTINGS = (
    (True, False, True),
    (True, False, False),
    (False, False, True),
    (True, True, False),
    (False, True, True),
)
