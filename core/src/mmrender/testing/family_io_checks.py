"""Family checks across its inputs and outputs: refs through every kind of store, tokenizer forms, processed mode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..dispatch import open_store
from ..errors import MMRenderError
from ..materialize import materialize
from ..refs import dump, mm_hash_of
from ..storage import Store
from ..types import ProcessedMMItem, RawMMRef
from .family_checks import assert_same_render, engine_layouts, image_ranges, raw_items
from .family_context import FamilyContext
from .memory_store import MemoryStore
from .registry import NotApplicable, family_check


def _refs_through(ctx: FamilyContext, store: Store, ways: dict[str, Store | None]) -> None:
    rendered = ctx.make_renderer(store=store).render(ctx.image_conversation, add_generation_prompt=True)
    layouts = engine_layouts(ctx)
    items = raw_items(rendered)
    for k, ((modality, index, _), item) in enumerate(zip(image_ranges(rendered), items, strict=True)):
        data = ctx.images[k].loaded.data
        mm_hash = rendered.multi_modal_data.mm_hashes[modality][index]
        assert mm_hash == mm_hash_of(data), f"image {k}: mm_hash {mm_hash} is not the hash of its bytes"
        text = dump(RawMMRef.from_item(item, mm_hash))
        for how, given in ways.items():
            try:
                got = materialize(text, store=given)
            except MMRenderError as exc:
                raise AssertionError(
                    f"image {k}: materialize({how}) refused the ref: {type(exc).__name__}: {exc}"
                ) from exc
            assert got.image.data == data, f"image {k}: materialize({how}) returned other bytes"
            assert got.layout == layouts[k], f"image {k}: materialize({how}) laid it out as {got.layout}"


@family_check
def check_refs_materialize(ctx: FamilyContext) -> None:
    """Refs of a render in a file store, a ``data:`` store and a memory store materialise to the same bytes and layout."""
    file_store, data_store, memory_store = open_store(str(ctx.tmp / "refs-store")), open_store("data:"), MemoryStore()
    stores = {  # how each store's refs are read back: through the store, or by the ref's raw_uri alone
        "file": (file_store, {"with the store": file_store, "from the ref alone": None}),
        "data:": (data_store, {"from the ref alone": None}),
        "memory": (memory_store, {"with the store": memory_store}),
    }
    for name, (store, ways) in stores.items():
        try:
            _refs_through(ctx, store, ways)
        except AssertionError as exc:
            raise AssertionError(f"{name} store {store.url[:40]}: {exc}") from exc


def tokenizer_directory(ctx: FamilyContext, tokenizer: Any) -> Path | None:
    """A directory the tokenizer loads from: the caller's ``tokenizer_path``, its ``name_or_path``, or a saved copy."""
    if ctx.tokenizer_path is not None:
        return Path(ctx.tokenizer_path)
    name = getattr(tokenizer, "name_or_path", None)
    if isinstance(name, str) and name and Path(name).is_dir():
        return Path(name)
    save = getattr(tokenizer, "save_pretrained", None)
    if save is not None:
        target = ctx.tmp / "saved-tokenizer"
        save(str(target))
        return target
    return None


@family_check
def check_tokenizer_forms(ctx: FamilyContext) -> str | None:
    """``tokenizer=`` None, a directory and a tokenizer object render the same; a missing directory is a typed error."""
    tokenizer = ctx.renderer.tokenizer
    if tokenizer is None:
        raise NotApplicable("the renderer keeps no tokenizer (renderer.tokenizer is None)")
    conv = ctx.image_conversation
    expected = ctx.rendered
    got = ctx.make_renderer(tokenizer=tokenizer).render(conv, add_generation_prompt=True)
    assert_same_render(got, expected, "tokenizer given as an object")
    missing = ctx.tmp / "no-such-tokenizer"
    try:
        ctx.make_renderer(tokenizer=str(missing))
    except MMRenderError as exc:
        assert str(missing) in str(exc), f"the error for a missing tokenizer directory does not name it: {exc}"
    else:
        raise AssertionError(f"tokenizer={str(missing)!r} (no such directory) built a renderer instead of raising")
    directory = tokenizer_directory(ctx, tokenizer)
    if directory is None:
        return "path form not checked: the tokenizer has no name_or_path or save_pretrained (pass tokenizer_path=)"
    got = ctx.make_renderer(tokenizer=str(directory)).render(conv, add_generation_prompt=True)
    assert_same_render(got, expected, f"tokenizer given as the directory {str(directory)!r}")
    return None


@family_check
def check_processed_mode(ctx: FamilyContext) -> str | None:
    """``multimodal_output="processed"`` renders the same ids with processor outputs, or raises a typed error."""
    try:
        rendered = ctx.make_renderer(multimodal_output="processed").render(
            ctx.image_conversation, add_generation_prompt=True
        )
    except MMRenderError as exc:
        return f"processed mode refused with {type(exc).__name__}: {exc}"
    raw = ctx.rendered
    assert rendered.token_ids == raw.token_ids, "processed mode renders other token ids than raw mode"
    assert rendered.message_indices == raw.message_indices, "processed mode gives other message_indices"
    mm, raw_mm = rendered.multi_modal_data, raw.multi_modal_data
    assert dict(mm.mm_hashes) == dict(raw_mm.mm_hashes), "processed mode gives other mm_hashes"
    assert dict(mm.mm_placeholders) == dict(raw_mm.mm_placeholders), "processed mode gives other mm_placeholders"
    for modality, items in mm.mm_items.items():
        for k, item in enumerate(items):
            assert isinstance(item, ProcessedMMItem) and item.data, (
                f"processed mm_items[{modality!r}][{k}] is {type(item).__name__}, not a non-empty ProcessedMMItem"
            )
    return None
