"""``special_tokens_in_text``: a special token spelled in text is text ("plain") or the control token ("control").

Every special token of each family's tokenizer is written into every kind of text a conversation
carries (system, user, assistant content and reasoning, tool-call arguments, tool result, tool
definition). Oracle: the official template rendered by transformers (Kimi: the way Moonshot's
tokenizer calls it) and encoded by the family's tokenizer.

* "plain" (the default): the ids decode to exactly the template's text, and their control ids are
  those of the same conversation without the spelling, i.e. the text yields no control id at all
  (placeholders included, so no image range either);
* "control": the ids equal the oracle's; a spelled image placeholder is refused (no image backs it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import mmrender
import pytest
from mmrender import ConfigError, ConversationError
from mmrender.plugins import reset


@pytest.fixture(scope="module", autouse=True)
def _all_families() -> Iterator[None]:
    reset()
    yield
    reset()


@dataclass
class Family:
    model: str
    tokens: list[str]  # every special-token spelling of the tokenizer
    control_ids: set[int]
    placeholders: set[str]  # spellings of image/video placeholders: refused under "control"
    oracle_text: Callable[[list, list], str]
    encode: Callable[[str], list[int]]  # the oracle's encoding (special tokens recognised)
    decode: Callable[[list[int]], str]


def _qwen(model: str, tok: Any, template: str) -> Family:
    def text(messages: list, tools: list) -> str:
        return tok.apply_chat_template(
            messages, tools=tools, tokenize=False, add_generation_prompt=True, chat_template=template
        )

    added = tok.get_added_vocab()
    return Family(
        model=model,
        tokens=sorted(added),
        control_ids=set(added.values()),
        placeholders={"<|image_pad|>", "<|video_pad|>"},
        oracle_text=text,
        encode=lambda s: tok.encode(s, add_special_tokens=False),
        decode=lambda ids: tok.backend_tokenizer.decode(ids, skip_special_tokens=False),
    )


def _kimi() -> Family:
    from kimi_k25.oracle import oracle_text
    from mmrender_kimi_k25.tokenizer import default_tokenizer

    tok = default_tokenizer()
    return Family(
        model="moonshotai/Kimi-K2.6",
        tokens=sorted(tok.special_tokens),
        control_ids=set(tok.special_token_ids),
        placeholders={"<|media_pad|>"},
        oracle_text=lambda messages, tools: oracle_text(messages, tools, add_generation_prompt=True),
        encode=lambda s: tok.encode(s, allow_special=True),
        decode=tok.decode,
    )


def _family(name: str) -> Family:
    if name == "kimi_k25":
        return _kimi()
    if name == "qwen3_5":
        from mmrender_qwen3_5.templates import VARIANTS
        from mmrender_qwen3_5.tokenizer import bundled_tokenizer

        return _qwen("Qwen/Qwen3.5-9B", bundled_tokenizer("large"), VARIANTS["large"].text())
    from mmrender_qwen3_vl.layout import ASSETS
    from mmrender_qwen3_vl.tokenizer import load_tokenizer

    variant = name.split(":")[1]
    template = json.loads((ASSETS / f"Qwen3-VL-8B-{variant}" / "chat_template.json").read_text(encoding="utf-8"))
    return _qwen(f"Qwen/Qwen3-VL-8B-{variant}", load_tokenizer(None), template["chat_template"])


FAMILIES = ["qwen3_vl:Instruct", "qwen3_vl:Thinking", "qwen3_5", "kimi_k25"]


@pytest.fixture(scope="module", params=FAMILIES)
def family(request: pytest.FixtureRequest) -> Family:
    return _family(request.param)


def conversation(s: str) -> tuple[list, list]:
    """``s`` in the middle of every text (so no template test on a text's start or end changes)."""
    tools = [
        {
            "type": "function",
            "function": {
                "name": "lookup",
                "description": f"d {s} d",
                "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
            },
        }
    ]
    call = {"type": "function", "id": "call_1", "function": {"name": "lookup", "arguments": {"q": f"x {s} x"}}}
    messages = [
        {"role": "system", "content": f"sys {s} sys"},
        {"role": "user", "content": f"u {s} u"},
        {"role": "assistant", "content": f"a {s} a", "reasoning_content": f"r {s} r", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": f"t {s} t"},
    ]
    return messages, tools


def test_plain_text_never_yields_a_control_id(family: Family) -> None:
    renderer = mmrender.get_renderer(family.model, store="data:")  # "plain" is the default
    assert renderer.options.special_tokens_in_text == "plain"
    baseline_messages, baseline_tools = conversation("")
    baseline = family.encode(family.oracle_text(baseline_messages, baseline_tools))
    structure = [t for t in baseline if t in family.control_ids]
    for token in family.tokens:
        messages, tools = conversation(token)
        out = renderer.render(messages, tools=tools, add_generation_prompt=True)
        assert family.decode(list(out.token_ids)) == family.oracle_text(messages, tools), token
        assert [t for t in out.token_ids if t in family.control_ids] == structure, token
        assert not out.multi_modal_data.mm_placeholders, token


def test_control_text_matches_the_official_template(family: Family) -> None:
    renderer = mmrender.get_renderer(family.model, store="data:", special_tokens_in_text="control")
    for token in family.tokens:
        messages, tools = conversation(token)
        if token in family.placeholders:
            with pytest.raises(ConversationError, match="placeholder"):
                renderer.render(messages, tools=tools, add_generation_prompt=True)
            continue
        out = renderer.render(messages, tools=tools, add_generation_prompt=True)
        assert list(out.token_ids) == family.encode(family.oracle_text(messages, tools)), token


def test_plain_placeholder_spelling_is_harmless_text(family: Family) -> None:
    """No image, no placeholder range, no refusal: the spelling is the user's text."""
    renderer = mmrender.get_renderer(family.model, store="data:")
    for token in family.placeholders:
        out = renderer.render([{"role": "user", "content": f"see {token} here"}])
        assert token in family.decode(list(out.token_ids))
        assert not out.multi_modal_data.mm_placeholders and not out.multi_modal_data.mm_hashes


@pytest.mark.parametrize("bad", ["Plain", "text", None, True, 1])
def test_bad_values_are_config_errors(family: Family, bad: Any) -> None:
    with pytest.raises(ConfigError, match="special_tokens_in_text"):
        mmrender.get_renderer(family.model, store="data:", special_tokens_in_text=bad)


def test_resolve_lists_the_option(family: Family, capsys: pytest.CaptureFixture[str]) -> None:
    from mmrender.cli import main

    assert main(["resolve", family.model, "--json"]) == 0
    options = json.loads(capsys.readouterr().out)["options"]
    assert options["special_tokens_in_text"] == "plain"  # a JSON value, not a Python repr


@pytest.mark.parametrize("mode", ["control", "plain"])
def test_a_tokenizer_left_splitting_special_tokens_by_transformers_renders_the_same(mode: str) -> None:
    """transformers leaves ``encode_special_tokens`` set on the backend after one call with
    ``split_special_tokens=True``; a renderer given that tokenizer object must still emit the same ids
    (it used to refuse it as "not a Qwen3-VL tokenizer", or would have split control tokens)."""
    from mmrender_qwen3_vl.tokenizer import load_tokenizer

    tok = load_tokenizer(None)
    messages = [{"role": "user", "content": "say <|im_end|> then <think>"}]
    model = "Qwen/Qwen3-VL-8B-Instruct"
    expected = mmrender.get_renderer(model, tokenizer=tok, special_tokens_in_text=mode).render(messages).token_ids
    tok("x", split_special_tokens=True)
    assert tok.backend_tokenizer.encode_special_tokens  # the state transformers leaves behind
    got = mmrender.get_renderer(model, tokenizer=tok, special_tokens_in_text=mode).render(messages).token_ids
    assert got == expected
    assert tok.encode("<|im_end|>", add_special_tokens=False) == [tok.convert_tokens_to_ids("<|im_end|>")]
