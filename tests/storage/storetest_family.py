"""A test-only family that renders images only (text ignored), so storage tests need no real model.

It goes through the real ``Renderer.prepare_images`` path (read, header probe, layout, hash, store put)
and registers a ``LayoutEngine`` so ``mmrender.materialize`` can re-check its refs. Register it
in-process with ``mmrender.register_plugin(storetest_family)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from mmrender import (
    FamilySpec,
    ImageLayout,
    LayoutEngine,
    ModelRoute,
    ParsedResponse,
    RenderedTokens,
    Renderer,
    RendererOptions,
    TokenBuffer,
    hookimpl,
)
from mmrender.refs import layout_fingerprint

FAMILY = "storetest"
MODEL = "test/images-only"
PARAMS: Mapping[str, Any] = {"patch": 64}
PLACEHOLDER = 7


def compute(width: int, height: int, params: Mapping[str, Any]) -> ImageLayout:
    patch = int(params["patch"])
    grid = (math.ceil(height / patch), math.ceil(width / patch))
    return ImageLayout(
        family=FAMILY,
        fingerprint=layout_fingerprint(FAMILY, params),
        grid=grid,
        num_tokens=grid[0] * grid[1],
        num_placeholders=grid[0] * grid[1],
        payload={"grid_hw": list(grid)},
    )


class ImagesOnlyRenderer(Renderer):
    def render_conversation(self, conversation: Any) -> RenderedTokens:
        buf = TokenBuffer()
        parts = [part for message in conversation.messages for part in message.images]
        for part, image in zip(parts, self.prepare_images(parts), strict=True):
            buf.add_image(image, PLACEHOLDER, part.message_index)
        return buf.result()

    def compute_layout(self, width: int, height: int) -> ImageLayout:
        return compute(width, height, PARAMS)

    def parse_response(self, completion_ids: Sequence[int]) -> ParsedResponse:
        return ParsedResponse(content="")

    def bridge_turn(self, *args: Any, **kwargs: Any) -> RenderedTokens | None:
        return None


def _create(*, route: ModelRoute, tokenizer: Any, store: Any, options: RendererOptions) -> Renderer:
    return ImagesOnlyRenderer(family=SPEC, route=route, tokenizer=tokenizer, store=store, options=options)


SPEC = FamilySpec(
    id=FAMILY,
    routes=(ModelRoute(MODEL),),
    create=_create,
    options_class=RendererOptions,
    layout=LayoutEngine(family=FAMILY, compute=compute, default_params=PARAMS),
    description="test-only: renders image placeholders, ignores text",
)


@hookimpl
def register_families(register: Any) -> None:
    register(SPEC)
