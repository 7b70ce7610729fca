"""Token-for-token parity with the official Qwen3-VL-8B-Instruct template and transformers' image processor."""

from __future__ import annotations

import hashlib

import pytest
from mmrender import RawMMItem, RawMMRef, refs
from mmrender.storage import open_store

from .corpus import CASES
from .oracle import Oracle, image_parts


@pytest.fixture(scope="module")
def oracle(oracle_tokenizer, oracle_image_processor) -> Oracle:
    return Oracle(oracle_tokenizer, oracle_image_processor)


def _source_bytes(source, sources) -> bytes | None:
    """The encoded bytes a source stands for (None for PIL objects, which mmrender re-encodes)."""
    import base64
    from pathlib import Path
    from urllib.parse import unquote, urlsplit

    if isinstance(source, bytes):
        return source
    if not isinstance(source, str):
        return None
    if source.startswith("data:"):
        return base64.b64decode(source.split(",", 1)[1])
    if source.startswith("file://"):
        return Path(unquote(urlsplit(source).path)).read_bytes()
    return Path(source).read_bytes()


@pytest.mark.parametrize("add_generation_prompt", [False, True], ids=["no-gen", "gen"])
@pytest.mark.parametrize("flip_vision_id", [False, True], ids=["vid-default", "vid-flipped"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_parity(name, add_generation_prompt, flip_vision_id, oracle, sources, make_renderer, tmp_path):
    messages, tools, add_vision_id = CASES[name](sources)
    add_vision_id ^= flip_vision_id
    expected, ranges, grids = oracle.render(
        messages, tools=tools, add_generation_prompt=add_generation_prompt, add_vision_id=add_vision_id
    )
    if flip_vision_id:  # exercise the per-call template argument
        renderer = make_renderer()
        got = renderer.render(
            messages, tools=tools, add_generation_prompt=add_generation_prompt, add_vision_id=add_vision_id
        )
    else:  # and the renderer option
        renderer = make_renderer(add_vision_id=add_vision_id)
        got = renderer.render(messages, tools=tools, add_generation_prompt=add_generation_prompt)

    assert list(got.token_ids) == expected
    assert len(got.message_indices) == len(got.token_ids)
    mm = got.multi_modal_data
    placeholders = [(p.offset, p.length) for p in mm.mm_placeholders.get("image", ())]
    assert placeholders == ranges
    items = mm.mm_items.get("image", ())
    assert [tuple(i.payload["image_grid_thw"][0]) for i in items] == grids

    store = open_store(str(tmp_path / "store"))
    for source, item, mm_hash in zip(image_parts(messages), items, mm.mm_hashes.get("image", ()), strict=True):
        assert isinstance(item, RawMMItem) and item.kind == "prime_raw_mm_item"
        ref = RawMMRef.from_item(item, mm_hash)
        assert refs.parse(refs.dump(ref)) == ref
        data = store.get(item.raw_uri)  # verified read: the name is the content's sha256
        assert hashlib.sha256(data).hexdigest()[:32] == mm_hash
        original = _source_bytes(source, sources)
        if original is not None:
            assert data == original


class _NoImages:
    """Stands in for the image sources when only the shape of a case is needed."""

    def __getattr__(self, _name):
        return lambda _image: "unused"


def _plain_cases() -> list[str]:
    """Cases without tools or tool turns (those share turns between messages; see test_q3vl_indices)."""
    names = []
    for name, build in sorted(CASES.items()):
        messages, tools, _ = build(_NoImages())
        if not tools and all(m["role"] in ("system", "user", "assistant") for m in messages):
            names.append(name)
    return names


@pytest.mark.parametrize("name", _plain_cases())
def test_message_indices_match_template_growth(name, oracle, sources, make_renderer):
    """Ids owned by message k are exactly what the template adds when message k is appended."""
    messages, _, add_vision_id = CASES[name](sources)
    renderer = make_renderer(add_vision_id=add_vision_id)
    got = renderer.render(messages)
    previous: list[int] = []
    for k in range(len(messages)):
        full, _, _ = oracle.render(messages[: k + 1], add_vision_id=add_vision_id)
        assert full[: len(previous)] == previous
        owned = [t for t, o in zip(got.token_ids, got.message_indices, strict=True) if o == k]
        assert owned == full[len(previous) :]
        previous = full
    assert -1 not in got.message_indices
