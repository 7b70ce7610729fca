"""The parity corpus: conversations covering every template branch, with and without images.

Each builder takes the image :class:`Sources` and returns ``(messages, tools, add_vision_id)``.
Every case is rendered with and without the generation prompt.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city — «temp» & <b>wind</b>, 東京 OK",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
            "required": ["city"],
        },
    },
}
ZOOM = {
    "type": "function",
    "function": {
        "name": "zoom",
        "description": "Crop and zoom an image region.",
        "parameters": {"type": "object", "properties": {"bbox": {"type": "array", "items": {"type": "number"}}}},
    },
}


def txt(text: str) -> dict:
    return {"type": "text", "text": text}


def img(source: Any) -> dict:
    return {"type": "image", "image": source}


def call(name: str, arguments: Any) -> dict:
    return {"type": "function", "function": {"name": name, "arguments": arguments}}


Case = tuple[list[dict], list[dict] | None, bool]


class NoImages:
    """Stands in for the image sources when only the shape of a case is needed."""

    def __getattr__(self, _name):
        return lambda _image: "unused"


CASES: dict[str, Callable[[Any], Case]] = {}


def case(fn: Callable[[Any], Case]) -> Callable[[Any], Case]:
    CASES[fn.__name__] = fn
    return fn


@case
def text_single(s):
    return [{"role": "user", "content": "Hello!"}], None, False


@case
def system_user(s):
    return [{"role": "system", "content": "You are helpful."}, {"role": "user", "content": "Hi there"}], None, False


@case
def system_list_content(s):
    msgs = [
        {"role": "system", "content": [txt("Be brief. "), txt("Answer in French.")]},
        {"role": "user", "content": "What is a cat?"},
    ]
    return msgs, None, False


@case
def multi_turn_text(s):
    msgs = [
        {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": "4."},
        {"role": "user", "content": "And 3+3?"},
        {"role": "assistant", "content": "6."},
        {"role": "user", "content": "Thanks"},
    ]
    return msgs, None, False


@case
def image_then_text_path(s):
    return [{"role": "user", "content": [img(s.path("jpg640")), txt("Describe this image.")]}], None, False


@case
def text_then_image_uri(s):
    return [{"role": "user", "content": [txt("What is in "), img(s.uri("png333")), txt("?")]}], None, False


@case
def multi_image_interleaved(s):
    content = [
        txt("Compare "),
        img(s.path("jpg640")),
        txt(" with "),
        img(s.data_uri("webp_wide")),
        txt(" and "),
        img(s.raw("gif")),
        txt("."),
    ]
    return [{"role": "system", "content": "Look carefully."}, {"role": "user", "content": content}], None, False


@case
def multi_image_vision_id(s):
    content = [img(s.path("jpg640")), img(s.uri("bmp_tiny")), txt("Which is larger?")]
    return [{"role": "user", "content": content}], None, True


@case
def multi_turn_images_vision_id(s):
    msgs = [
        {"role": "user", "content": [img(s.path("png333")), txt("First.")]},
        {"role": "assistant", "content": "A noisy picture."},
        {"role": "user", "content": [txt("Second: "), img(s.data_uri("jpg_odd"))]},
        {"role": "assistant", "content": "Also noise."},
        {"role": "user", "content": [img(s.raw("gif")), img(s.pil("webp_wide")), txt("And these?")]},
    ]
    return msgs, None, True


@case
def image_only_user(s):
    return [{"role": "user", "content": [img(s.path("jpg_big"))]}], None, False


@case
def openai_image_url_data(s):
    part = {"type": "image_url", "image_url": {"url": s.data_uri("png333")}}
    return [{"role": "user", "content": [txt("OpenAI style"), part]}], None, False


@case
def hf_path_and_url_keys(s):
    content = [{"type": "image", "path": s.path("jpg_odd")}, {"type": "image", "url": s.uri("png_tie")}, txt("ok")]
    return [{"role": "user", "content": content}], None, False


@case
def pil_and_bytes(s):
    content = [img(s.pil("jpg640")), txt("vs"), img(s.raw("bmp_tiny"))]
    return [{"role": "user", "content": content}], None, True


@case
def same_image_twice(s):
    content = [img(s.path("gif")), txt("again:"), img(s.path("gif"))]
    return [{"role": "user", "content": content}], None, False


@case
def tools_with_system(s):
    msgs = [{"role": "system", "content": "You can call tools."}, {"role": "user", "content": "Weather in Paris?"}]
    return msgs, [WEATHER], False


@case
def tools_without_system(s):
    return [{"role": "user", "content": "Weather in Oslo?"}], [WEATHER, ZOOM], False


@case
def tools_system_trailing_newline(s):
    msgs = [{"role": "system", "content": "Rules:\n- be short\n"}, {"role": "user", "content": "Go"}]
    return msgs, [ZOOM], False


@case
def tools_system_trailing_punct(s):
    msgs = [{"role": "system", "content": "Careful!"}, {"role": "user", "content": "Go"}]
    return msgs, [WEATHER], False


@case
def tool_call_dict_args(s):
    msgs = [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [call("get_weather", {"city": "Paris", "unit": "c"})]},
        {"role": "tool", "content": "18C, sunny"},
    ]
    return msgs, [WEATHER], False


@case
def tool_call_string_args(s):
    msgs = [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": None, "tool_calls": [call("get_weather", '{"city":"Rome",  "unit": "f"}')]},
        {"role": "tool", "content": "77F"},
        {"role": "assistant", "content": "It is 77F in Rome."},
    ]
    return msgs, [WEATHER], False


@case
def tool_calls_with_content(s):
    calls = [call("get_weather", {"city": "Lyon"}), call("get_weather", {"city": "Nice"})]
    msgs = [
        {"role": "user", "content": "Lyon and Nice?"},
        {"role": "assistant", "content": "Checking both.", "tool_calls": calls},
        {"role": "tool", "content": "15C"},
        {"role": "tool", "content": "21C"},
        {"role": "assistant", "content": "Lyon 15C, Nice 21C."},
    ]
    return msgs, [WEATHER], False


@case
def tool_call_unicode_nested_args(s):
    args = {"city": "Zürich", "options": {"days": [1, 2.5, None], "flag": True}, "note": 'a<b>&"q"'}
    msgs = [
        {"role": "user", "content": "Zürich?"},
        {"role": "assistant", "content": "", "tool_calls": [call("get_weather", args)]},
    ]
    return msgs, [WEATHER], False


@case
def tool_call_null_args(s):
    msgs = [
        {"role": "user", "content": "ping"},
        {"role": "assistant", "content": "", "tool_calls": [call("zoom", None)]},
    ]
    return msgs, [ZOOM], False


@case
def tool_call_top_level_shape(s):
    msgs = [
        {"role": "user", "content": "zoom"},
        {"role": "assistant", "content": "", "tool_calls": [{"name": "zoom", "arguments": {"bbox": [0, 0, 1, 1]}}]},
    ]
    return msgs, [ZOOM], False


@case
def tool_response_with_image(s):
    msgs = [
        {"role": "user", "content": [img(s.path("jpg640")), txt("Zoom on the left.")]},
        {"role": "assistant", "content": "", "tool_calls": [call("zoom", {"bbox": [0, 0, 0.5, 1]})]},
        {"role": "tool", "content": [txt("Zoomed: "), img(s.path("png333"))]},
    ]
    return msgs, [ZOOM], True


@case
def tool_responses_grouped_images(s):
    msgs = [
        {"role": "user", "content": "zoom twice"},
        {"role": "assistant", "content": "", "tool_calls": [call("zoom", {"bbox": [0, 0, 1, 1]})] * 2},
        {"role": "tool", "content": [img(s.uri("bmp_tiny"))]},
        {"role": "tool", "content": [txt("second"), img(s.data_uri("webp_wide")), txt("done")]},
        {"role": "user", "content": "Thanks, summarise."},
    ]
    return msgs, [ZOOM], False


@case
def tool_first_message(s):
    return [{"role": "tool", "content": "orphan result"}, {"role": "user", "content": "hm"}], None, False


@case
def unicode_content(s):
    msgs = [
        {"role": "user", "content": "日本語のテキスト 🚀✨ ünïcödé — Ελληνικά"},
        {"role": "assistant", "content": "Ответ: 好的 👍"},
    ]
    return msgs, None, False


@case
def whitespace_edges(s):
    msgs = [
        {"role": "system", "content": "\n\n  spaced  \n"},
        {"role": "user", "content": "  \n\nhi\t\n\n"},
        {"role": "assistant", "content": "\n lead and trail \n\n"},
        {"role": "user", "content": "\r\nCRLF\r\n"},
    ]
    return msgs, None, False


@case
def numbers_and_code(s):
    code = "def f(x):\n    return x**2  # 12345678901234567890\n\n\nprint(f(3.14159))"
    return [{"role": "user", "content": f"Explain:\n```python\n{code}\n```"}], None, False


@case
def literal_special_text(s):
    msgs = [
        {"role": "user", "content": "Write <tool_call> and </tool_call> and <think> literally."},
        {"role": "assistant", "content": "Sure: <tool_response>x</tool_response>"},
    ]
    return msgs, None, False


@case
def assistant_think_in_content(s):
    msgs = [
        {"role": "user", "content": "Why?"},
        {"role": "assistant", "content": "<think>\nLet me think.\n</think>\n\nBecause."},
        {"role": "user", "content": "OK"},
    ]
    return msgs, None, False


@case
def assistant_reasoning_field(s):
    msgs = [
        {"role": "user", "content": "Why?"},
        {"role": "assistant", "content": "Because.", "reasoning_content": "hidden chain"},
        {"role": "user", "content": "OK"},
    ]
    return msgs, None, False


@case
def assistant_list_content(s):
    msgs = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": [txt("Part one. "), txt("Part two.")]}]
    return msgs, None, False


@case
def empty_user_content(s):
    return [{"role": "user", "content": ""}, {"role": "assistant", "content": ""}], None, False


@case
def text_parts_only(s):
    return [{"role": "user", "content": [txt("a"), txt(" b"), txt("\n"), txt("c")]}], None, False


@case
def long_conversation(s):
    msgs = [{"role": "system", "content": "Count with me."}]
    for i in range(10):
        msgs += [{"role": "user", "content": f"Number {i}?"}, {"role": "assistant", "content": f"{i} ({i * i})"}]
    return msgs, None, False


@case
def big_and_tiny_images(s):
    content = [img(s.path("jpg_big")), txt("big; tiny:"), img(s.path("bmp_tiny")), img(s.path("png_tie"))]
    return [{"role": "user", "content": content}], None, True


@case
def agent_loop_images(s):
    msgs = [
        {"role": "system", "content": "You are an agent."},
        {"role": "user", "content": [txt("Find the cat in "), img(s.path("jpg_odd"))]},
        {"role": "assistant", "content": "I will zoom.", "tool_calls": [call("zoom", {"bbox": [0.1, 0.2, 0.3, 0.4]})]},
        {"role": "tool", "content": [img(s.raw("jpg640"))]},
        {"role": "assistant", "content": "", "tool_calls": [call("zoom", '{"bbox": [0, 0, 1, 1]}')]},
        {"role": "tool", "content": "nothing found"},
        {"role": "assistant", "content": "No cat."},
        {"role": "user", "content": [txt("Look again at "), img(s.uri("png333")), txt(" please")]},
    ]
    return msgs, [ZOOM, WEATHER], True


@case
def input_text_type(s):
    return [{"role": "user", "content": [{"type": "input_text", "text": "resp-api style"}]}], None, False


@case
def tools_empty_list(s):
    return [{"role": "user", "content": "no tools"}], [], False


@case
def null_image_keys_outside_vision_turns(s):
    """System/assistant turns only look for 'text': a null 'image' key (HF datasets) is harmless there."""
    msgs = [
        {"role": "system", "content": [{"type": "text", "text": "Sys.", "image": None}]},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [{"type": "text", "text": "Hello.", "image_url": None}]},
    ]
    return msgs, None, False


@case
def reasoning_keys_ignored_by_instruct(s):
    msgs = [
        {"role": "user", "content": "Q"},
        {"role": "assistant", "content": "A", "reasoning_content": "rc", "thinking": "t", "reasoning": "r"},
        {"role": "user", "content": "Q2"},
        {"role": "assistant", "content": "B", "thinking": "only thinking"},
    ]
    return msgs, None, False
