"""Family checks on one render: signatures, determinism, placeholder runs, message owners, layouts, refusals."""

from __future__ import annotations

import base64
import inspect
import itertools
from typing import Any

from ..errors import ConversationError, WireValidationError
from ..ref_codecs import layout_fingerprint
from ..renderer import Renderer
from ..types import ImageLayout, PlaceholderRange, RawMMItem, RenderedTokens
from .family_context import FamilyContext
from .registry import NotApplicable, family_check

#: The methods a renderer overrides or inherits, whose parameters callers rely on by name.
ABC_METHODS = (
    "render",
    "walk",
    "render_conversation",
    "compute_layout",
    "parse_response",
    "bridge_to_next_turn",
    "bridge_turn",
)

#: Methods whose ``**kwargs`` are the family's own options: an override need not take any.
FAMILY_KEYWORDS = frozenset({"bridge_turn"})


def _incompatible(name: str, base: inspect.Signature, mine: inspect.Signature) -> list[str]:
    """Ways ``mine`` cannot be called as ``base`` documents it: positional parameters by position, the rest by name."""
    problems = []
    params = list(mine.parameters.values())
    var_kw = any(p.kind is p.VAR_KEYWORD for p in params)
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    base_positional = [p for p in base.parameters.values() if p.kind is p.POSITIONAL_OR_KEYWORD]
    var_pos = any(p.kind is p.VAR_POSITIONAL for p in params)
    if len(positional) < len(base_positional) and not var_pos:  # callers pass these by position
        problems.append(
            f"{name}() takes {len(positional)} positional parameters, the ABC passes {len(base_positional)}"
        )
    for param in base.parameters.values():
        if param.kind is param.KEYWORD_ONLY:
            own = mine.parameters.get(param.name)
            if (own is None and not var_kw) or (own is not None and own.kind is own.POSITIONAL_ONLY):
                problems.append(f"{name}() has no keyword parameter {param.name}=")
        elif param.kind is param.VAR_KEYWORD and not var_kw and name not in FAMILY_KEYWORDS:
            problems.append(f"{name}() does not accept **{param.name}")
    extra = positional[len(base_positional) :] + [p for p in params if p.kind is p.KEYWORD_ONLY]
    for param in extra:
        if param.default is param.empty and param.name not in base.parameters:
            problems.append(f"{name}() requires a parameter the ABC does not pass: {param.name!r}")
    return problems


@family_check
def check_signatures(ctx: FamilyContext) -> None:
    """The renderer's methods take every parameter of the Renderer ABC (``tools=``, ``start_index=`` …)."""
    cls = type(ctx.renderer)
    problems = []
    for name in ABC_METHODS:
        base = inspect.signature(getattr(Renderer, name))
        mine = inspect.signature(getattr(cls, name))
        problems += _incompatible(name, base, mine)
    assert not problems, f"{cls.__qualname__}: " + "; ".join(problems)


def _differences(a: RenderedTokens, b: RenderedTokens) -> list[str]:
    out = []
    if a.token_ids != b.token_ids:
        k = next((i for i, (x, y) in enumerate(zip(a.token_ids, b.token_ids, strict=False)) if x != y), None)
        where = f"first at position {k}" if k is not None else f"lengths {len(a.token_ids)} vs {len(b.token_ids)}"
        out.append(f"token_ids differ ({where})")
    if a.message_indices != b.message_indices:
        out.append("message_indices differ")
    mm_a, mm_b = a.multi_modal_data, b.multi_modal_data
    for field in ("mm_hashes", "mm_placeholders", "mm_items"):
        if dict(getattr(mm_a, field)) != dict(getattr(mm_b, field)):
            out.append(f"multi_modal_data.{field} differ")
    return out


def assert_same_render(got: RenderedTokens, expected: RenderedTokens, what: str) -> None:
    problems = _differences(got, expected)
    assert not problems, f"{what}: " + ", ".join(problems)


def _with_sources(conversation: list[dict[str, Any]], sources: list[Any]) -> list[dict[str, Any]]:
    """The conversation with its images, in order, replaced by ``sources``."""
    it = iter(sources)
    out = []
    for message in conversation:
        content = message["content"]
        if isinstance(content, list):
            content = [{"type": "image", "image": next(it)} if p.get("type") == "image" else p for p in content]
        out.append({**message, "content": content})
    return out


@family_check
def check_deterministic(ctx: FamilyContext) -> None:
    """Rendering twice, with a fresh renderer, and with the images as bytes, paths or data: URIs gives one result."""
    first = ctx.rendered
    conv = ctx.image_conversation
    assert_same_render(ctx.renderer.render(conv, add_generation_prompt=True), first, "second render")
    fresh = ctx.make_renderer(tokenizer=ctx.renderer.tokenizer)  # tokenizer loading is tokenizer_forms' business
    assert_same_render(fresh.render(conv, add_generation_prompt=True), first, "fresh renderer")
    paths = []
    for k, image in enumerate(ctx.images):
        path = ctx.tmp / f"image-{k}.{image.loaded.format.lower()}"
        path.write_bytes(image.loaded.data)
        paths.append(str(path))
    data_uris = [
        f"data:{image.loaded.mime};base64,{base64.b64encode(image.loaded.data).decode('ascii')}" for image in ctx.images
    ]
    forms = {"bytes": [i.loaded.data for i in ctx.images], "file paths": paths, "data: URIs": data_uris}
    for form, sources in forms.items():
        again = ctx.renderer.render(_with_sources(conv, sources), add_generation_prompt=True)
        assert_same_render(again, first, f"images given as {form}")


def image_ranges(rendered: RenderedTokens) -> list[tuple[str, int, PlaceholderRange]]:
    """``(modality, index within modality, range)`` for every item, in stream order."""
    found = [
        (modality, k, rng)
        for modality, ranges in rendered.multi_modal_data.mm_placeholders.items()
        for k, rng in enumerate(ranges)
    ]
    return sorted(found, key=lambda item: item[2].offset)


def engine_layouts(ctx: FamilyContext) -> list[ImageLayout]:
    if ctx.spec.layout is None:
        raise AssertionError(
            f"family {ctx.spec.id!r} registers no LayoutEngine (FamilySpec.layout): "
            "consumers cannot re-check its refs against their pixels"
        )
    return ctx.layout_engine_layouts()


@family_check
def check_placeholder_runs(ctx: FamilyContext) -> None:
    """Each image's placeholder run is one id, ``layout.num_placeholders`` long, and no placeholder id strays outside."""
    rendered, ids = ctx.rendered, ctx.rendered.token_ids
    ranges = image_ranges(rendered)
    layouts = engine_layouts(ctx)
    assert len(ranges) == len(ctx.images), f"{len(ctx.images)} images rendered but {len(ranges)} placeholder ranges"
    placeholder_ids: set[int] = set()
    inside: set[int] = set()
    for k, ((modality, _, rng), layout) in enumerate(zip(ranges, layouts, strict=True)):
        w, h = ctx.images[k].size
        assert rng.length == layout.num_placeholders, (
            f"image {k} ({w}x{h}): mm_placeholders[{modality!r}] range at {rng.offset} has length {rng.length}, "
            f"but the family's LayoutEngine says num_placeholders={layout.num_placeholders}"
        )
        assert rng.offset >= 0 and rng.end <= len(ids), f"image {k}: range {rng} lies outside the {len(ids)} ids"
        run = set(ids[rng.offset : rng.end])
        assert len(run) == 1, f"image {k}: its placeholder range holds {len(run)} different ids {sorted(run)[:5]}"
        placeholder_ids |= run
        inside.update(range(rng.offset, rng.end))
    stray = [i for i, t in enumerate(ids) if t in placeholder_ids and i not in inside]
    assert not stray, (
        f"placeholder id(s) {sorted(placeholder_ids)} also appear outside every mm_placeholders range, "
        f"at positions {stray[:10]}: the consumer would count more placeholders than items"
    )


@family_check
def check_message_indices(ctx: FamilyContext) -> None:
    """``message_indices`` name real messages in order, every message owns ids, and images belong to their message."""
    rendered = ctx.rendered
    owners = rendered.message_indices
    n = len(ctx.image_conversation)
    bad = sorted({o for o in owners if o != -1 and not 0 <= o < n})
    assert not bad, f"message_indices has {bad}, but the conversation has {n} messages (and -1 for scaffolding)"
    named = [o for o in owners if o != -1]
    backwards = [(a, b) for a, b in itertools.pairwise(named) if b < a]
    assert not backwards, f"message_indices go backwards ({backwards[0][0]} then {backwards[0][1]})"
    missing = sorted(set(range(n)) - set(named))
    assert not missing, f"message(s) {missing} own no ids in message_indices"
    for k, (_, _, rng) in enumerate(image_ranges(rendered)):
        got = set(owners[rng.offset : rng.end])
        want = ctx.image_owners[k]
        assert got == {want}, f"image {k}'s placeholders are owned by {sorted(got)}, but it is in message {want}"


@family_check
def check_header_only_layout(ctx: FamilyContext) -> None:
    """The renderer's layout of each image equals ``LayoutEngine.compute`` on its header size (what consumers re-check)."""
    layouts = engine_layouts(ctx)
    renderer = ctx.renderer
    for image, expected in zip(ctx.images, layouts, strict=True):
        w, h = image.size
        for how, got in (
            ("image_layout (the layout hook)", renderer.image_layout(w, h)),
            ("compute_layout", renderer.compute_layout(w, h)),
        ):
            assert got == expected, f"{w}x{h}: renderer.{how} gives {got}, LayoutEngine.compute gives {expected}"
    items = raw_items(ctx.rendered)
    for k, (item, expected) in enumerate(zip(items, layouts, strict=True)):
        assert dict(item.payload) == dict(expected.payload), (
            f"image {k}: mm_items payload {dict(item.payload)} differs from LayoutEngine.compute's {dict(expected.payload)}"
        )


def raw_items(rendered: RenderedTokens) -> list[RawMMItem]:
    items = []
    for modality, k, _ in image_ranges(rendered):
        item = rendered.multi_modal_data.mm_items[modality][k]
        assert isinstance(item, RawMMItem), f"raw mode produced a {type(item).__name__}, not a RawMMItem"
        items.append(item)
    return items


@family_check
def check_fingerprint_family(ctx: FamilyContext) -> None:
    """Layouts and refs name the LayoutEngine's family and the fingerprint of its ``default_params``."""
    layouts = engine_layouts(ctx)
    engine = ctx.spec.layout
    assert engine is not None
    fingerprint = layout_fingerprint(engine.family, engine.default_params)
    for k, layout in enumerate(layouts):
        assert layout.family == engine.family, f"image {k}: layout family {layout.family!r} != engine {engine.family!r}"
        assert layout.fingerprint == fingerprint, (
            f"image {k}: layout fingerprint {layout.fingerprint} is not layout_fingerprint({engine.family!r}, "
            f"default_params) = {fingerprint}"
        )
    for k, (item, layout) in enumerate(zip(raw_items(ctx.rendered), layouts, strict=True)):
        got = (item.family, item.layout_fingerprint, item.modality, item.vllm_modality)
        want = (engine.family, fingerprint, layout.modality, layout.vllm_modality)
        assert got == want, f"image {k}: mm_items (family, fingerprint, modality, vllm_modality) {got} != {want}"


def placeholder_text(ctx: FamilyContext) -> str:
    """How the family's image placeholder token is spelled, from the renderer's tokenizer."""
    ranges = image_ranges(ctx.rendered)
    tokenizer = ctx.renderer.tokenizer
    decode = getattr(tokenizer, "decode", None)
    if not ranges or decode is None:
        raise NotApplicable("the renderer has no tokenizer with decode() to spell its placeholder token")
    text = decode([ctx.rendered.token_ids[ranges[0][2].offset]])
    if not isinstance(text, str) or not text.strip():
        raise NotApplicable(f"the placeholder token decodes to {text!r}, which text cannot spell")
    return text


@family_check
def check_placeholder_text_refused(ctx: FamilyContext) -> str:
    """Text spelling the image placeholder token raises ConversationError or stays text: it never fakes an image."""
    text = placeholder_text(ctx)
    placeholder = ctx.rendered.token_ids[image_ranges(ctx.rendered)[0][2].offset]
    cases = {
        "a user string": [{"role": "user", "content": f"look {text} here"}],
        "a text part beside an image": [
            {"role": "user", "content": [ctx.images[0].part(), {"type": "text", "text": f"and {text}"}]}
        ],
    }
    refused = []
    for where, messages in cases.items():
        try:
            rendered = ctx.renderer.render(messages, add_generation_prompt=True)
        except (ConversationError, WireValidationError):
            refused.append(where)
            continue
        expected = sum(rng.length for _, _, rng in image_ranges(rendered))  # the image's own run, however long
        count = rendered.token_ids.count(placeholder)
        assert count == expected, (
            f"{text!r} in {where} became placeholder id {placeholder} ({count} of them for {expected} image "
            "placeholders): text can fake an image; refuse it with ConversationError or tokenize it as plain text"
        )
    return f"refused in {len(refused)} of {len(cases)} cases, plain text otherwise"
