"""The token-for-token parity check shared by the Instruct and Thinking parity tests.

One comparison = the renderer's ids, placeholder ranges and grids against the oracle's for one
conversation and one (add_generation_prompt, add_vision_id) pair, plus the raw image refs: each
stored image is the caller's bytes, named by its sha256.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from mmrender import RawMMItem, RawMMRef, refs
from mmrender.dispatch import open_store

from .oracle import PARITY, Oracle, image_parts


def _source_bytes(source: Any) -> bytes | None:
    """The encoded bytes a source stands for (None for PIL objects, which mmrender re-encodes)."""
    if isinstance(source, bytes):
        return source
    if not isinstance(source, str):
        return None
    if source.startswith("data:"):
        return base64.b64decode(source.split(",", 1)[1])
    if source.startswith("file://"):
        return Path(unquote(urlsplit(source).path)).read_bytes()
    return Path(source).read_bytes()


def check_parity(
    oracle: Oracle,
    make_renderer: Any,
    model: str,
    case: tuple[list[dict], list[dict] | None, bool],
    *,
    add_generation_prompt: bool,
    flip_vision_id: bool,
    store: Path,
) -> None:
    """``flip_vision_id``: flip the case's add_vision_id and pass it per call (else as the renderer option)."""
    messages, tools, add_vision_id = case
    add_vision_id ^= flip_vision_id
    expected, ranges, grids = oracle.render(
        messages, tools=tools, add_generation_prompt=add_generation_prompt, add_vision_id=add_vision_id
    )
    if flip_vision_id:  # exercise the per-call template argument
        renderer = make_renderer(model, **PARITY)
        got = renderer.render(
            messages, tools=tools, add_generation_prompt=add_generation_prompt, add_vision_id=add_vision_id
        )
    else:  # and the renderer option
        renderer = make_renderer(model, add_vision_id=add_vision_id, **PARITY)
        got = renderer.render(messages, tools=tools, add_generation_prompt=add_generation_prompt)

    assert list(got.token_ids) == expected
    assert len(got.message_indices) == len(got.token_ids)
    mm = got.multi_modal_data
    placeholders = [(p.offset, p.length) for p in mm.mm_placeholders.get("image", ())]
    assert placeholders == ranges
    items = mm.mm_items.get("image", ())
    assert [tuple(i.payload["image_grid_thw"][0]) for i in items] == grids

    opened = open_store(str(store))
    sources = image_parts(messages, oracle.image_roles)
    for source, item, mm_hash in zip(sources, items, mm.mm_hashes.get("image", ()), strict=True):
        assert isinstance(item, RawMMItem) and item.kind == "prime_raw_mm_item"
        ref = RawMMRef.from_item(item, mm_hash)
        assert refs.parse(refs.dump(ref)) == ref
        data = opened.get(item.raw_uri)  # verified read: the name is the content's sha256
        assert hashlib.sha256(data).hexdigest()[:32] == mm_hash
        original = _source_bytes(source)
        if original is not None:
            assert data == original
