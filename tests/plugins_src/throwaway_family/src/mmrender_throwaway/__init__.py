"""A throwaway mmrender family for ``acme/toy-vl-1``, installed from outside the tree by the plugin tests.

It needs no tokenizer: text renders as its UTF-8 bytes (ids 0-255), each image as
``cell``-sized grid placeholders (id 256), and an assistant turn ends with id 257 (its stop
token). That keeps the plugin tiny while exercising everything a real family uses: routes,
aliases, ``model_type``, typed options, a layout engine, ``prepare_image`` (probe, hash, store)
and the ``TokenBuffer``. It passes the conformance kit (``mmrender.testing.check_family``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from mmrender import (
    ConversationError,
    FamilySpec,
    ImageLayout,
    ImagePart,
    LayoutEngine,
    ModelRoute,
    MultiModalData,
    ParsedResponse,
    RenderedTokens,
    Renderer,
    RendererOptions,
    TokenBuffer,
    hookimpl,
)
from mmrender.conversation import Conversation
from mmrender.refs import layout_fingerprint

FAMILY = "acme_toy"
MODEL_ID = "acme/toy-vl-1"
IMAGE_PLACEHOLDER = 256
END_OF_TURN = 257  # closes every assistant turn: what a model would stop sampling at
DEFAULT_PARAMS: dict[str, int] = {"cell": 64}


def toy_layout(width: int, height: int, params: Mapping[str, Any] = DEFAULT_PARAMS) -> ImageLayout:
    """One placeholder per ``cell``×``cell`` tile, rounded up."""
    cell = int(params["cell"])
    grid = (1, math.ceil(height / cell), math.ceil(width / cell))
    tokens = grid[1] * grid[2]
    return ImageLayout(
        family=FAMILY,
        fingerprint=layout_fingerprint(FAMILY, params),
        grid=grid,
        num_tokens=tokens,
        num_placeholders=tokens,
        payload={"toy_grid": [list(grid)]},
    )


@attrs.frozen(kw_only=True)
class ToyOptions(RendererOptions):
    """The toy's own option, to prove per-family typed options work for a third party."""

    shout: bool = False


class ToyRenderer(Renderer):
    """``<role>:`` + text bytes per message; image parts become ``num_placeholders`` × 256."""

    def render_conversation(self, conversation: Conversation) -> RenderedTokens:
        if conversation.tools:
            raise ConversationError("the toy family has no tool use: tools cannot be declared")
        buf = TokenBuffer()
        for message in conversation.messages:
            if message.tool_calls:
                raise ConversationError("the toy family cannot render tool calls", message_index=message.index)
            buf.add(list(f"<{message.role}>".encode()), -1)
            for part in message.parts:
                if isinstance(part, ImagePart):
                    buf.add_image(self.prepare_image(part), IMAGE_PLACEHOLDER, message.index)
                else:
                    text = part.text.upper() if self.options.shout else part.text
                    buf.add(list(text.encode()), message.index)
            if message.role == "assistant":
                buf.add([END_OF_TURN], message.index)
        if conversation.add_generation_prompt:
            buf.add(list(b"<assistant>"), -1)
        return buf.result()

    def compute_layout(self, width: int, height: int) -> ImageLayout:
        return toy_layout(width, height)

    def parse_response(
        self, completion_ids: Sequence[int], *, tools: Sequence[Mapping[str, Any]] | None = None
    ) -> ParsedResponse:
        ids = list(completion_ids)
        end = ids.index(END_OF_TURN) if END_OF_TURN in ids else len(ids)
        text = bytes(i for i in ids[:end] if i < 256).decode("utf-8", "replace")
        return ParsedResponse(content=text, truncated=end == len(ids))

    def bridge_turn(
        self,
        prompt: tuple[int, ...],
        completion: tuple[int, ...],
        new_messages: Sequence[Mapping[str, Any]],
        *,
        tools: Sequence[Mapping[str, Any]] | None = None,
        previous_multi_modal_data: MultiModalData | None = None,
        start_index: int = 0,
    ) -> RenderedTokens | None:
        return None  # the toy never claims a bridge is safe


def _create(*, route: ModelRoute, tokenizer: Any, store: Any, options: ToyOptions) -> ToyRenderer:
    return ToyRenderer(family=SPEC, route=route, tokenizer=tokenizer, store=store, options=options)


SPEC = FamilySpec(
    id=FAMILY,
    routes=(ModelRoute(MODEL_ID), ModelRoute("acme/toy-vl-1-large", {"size": "large"})),
    create=_create,
    options_class=ToyOptions,
    aliases={"toy-vl": MODEL_ID},
    model_types=("acme_toy_vl",),
    layout=LayoutEngine(family=FAMILY, compute=toy_layout, default_params=DEFAULT_PARAMS),
    description="Throwaway test family (UTF-8 byte ids).",
)


@hookimpl
def register_families(register: Any) -> None:
    register(SPEC)
