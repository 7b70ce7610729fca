"""A throwaway mmrender family for ``acme/toy-vl-1``, installed from outside the tree by the plugin tests.

It needs no tokenizer: text renders as its UTF-8 bytes (ids 0-255), each image as
``cell``-sized grid placeholders (id 256), and an assistant turn ends with id 257 (its stop
token). That keeps the plugin tiny while exercising everything a real family declares: routes,
aliases, ``model_type``, typed options, a template argument, a layout engine, a turn walker
(``walk``: the conversation as a core ``Plan``; core checks the template arguments and emits the
plan: tokenizes text, prepares images) and bridge rules whose tail goes through the same walker.
It passes the conformance kit (``mmrender.testing.check_family``).
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
    Renderer,
    RendererOptions,
    TokenBuffer,
    hookimpl,
)
from mmrender.bridging import BridgeRules, BridgeTurn
from mmrender.conversation import Conversation, Message
from mmrender.plan import EmitFacts, Plan
from mmrender.positions import TextPositions
from mmrender.refs import layout_fingerprint
from mmrender.template_settings import TemplateSpec
from mmrender.training import TrainingSpec, TurnBoundaries

FAMILY = "acme_toy"
MODEL_ID = "acme/toy-vl-1"
IMAGE_PLACEHOLDER = 256
END_OF_TURN = 257  # closes every assistant turn: what a model would stop sampling at
GENERATION_PROMPT = "<assistant>"
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


class Utf8Encoder:
    """The toy's whole tokenizer: text as its UTF-8 bytes (what core's emitter calls, see ``TextEncoder``)."""

    def encode_many(self, texts: Sequence[str]) -> list[list[int]]:
        return [list(text.encode()) for text in texts]

    def encode_offsets(self, text: str) -> tuple[list[int], list[int]]:
        ids: list[int] = []
        starts: list[int] = []
        for k, char in enumerate(text):
            data = char.encode()
            ids.extend(data)
            starts.extend([k] * len(data))
        return ids, starts


class ToyRenderer(Renderer):
    """``<role>`` + text bytes per message; image parts become ``num_placeholders`` × 256."""

    #: ``render(..., shout=True)`` overrides the option for one call.
    template_spec = TemplateSpec(names=("shout",))

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.emit_facts = EmitFacts(encoder=Utf8Encoder(), placeholder_id=IMAGE_PLACEHOLDER)

    def walk(self, conversation: Conversation, settings: Mapping[str, Any]) -> Plan:
        """Every message's turn, then the generation prompt; core emits the plan."""
        if conversation.tools:
            raise ConversationError("the toy family has no tool use: tools cannot be declared")
        plan = Plan()
        for message in conversation.messages:
            write_message(plan, message, shout=settings["shout"])
        if conversation.add_generation_prompt:
            plan.text(GENERATION_PROMPT, -1)
        return plan

    def compute_layout(self, width: int, height: int) -> ImageLayout:
        return toy_layout(width, height)

    def parse_response(
        self, completion_ids: Sequence[int], *, tools: Sequence[Mapping[str, Any]] | None = None
    ) -> ParsedResponse:
        ids = list(completion_ids)
        end = ids.index(END_OF_TURN) if END_OF_TURN in ids else len(ids)
        text = bytes(i for i in ids[:end] if i < 256).decode("utf-8", "replace")
        return ParsedResponse(content=text, truncated=end == len(ids))

    @property
    def training_spec(self) -> TrainingSpec:
        """An assistant turn is ``<assistant>`` + the generated text + the stop id; positions are 1-D."""
        turns = TurnBoundaries(turn_start=ord("<"), turn_end=END_OF_TURN, header_end=ord(">"))
        return TrainingSpec(turns=turns, positions=TextPositions(), grid_key="toy_grid")

    def bridge_rules(self) -> ToyBridgeRules:
        return ToyBridgeRules(self)


class ToyBridgeRules(BridgeRules):
    """How a toy turn closes and what follows it; core runs the bridge itself (guards, sidecar, join)."""

    def __init__(self, renderer: ToyRenderer) -> None:
        self.renderer = renderer
        self.generation_prompts = {"assistant": tuple(GENERATION_PROMPT.encode())}

    def closing(self, completion: tuple[int, ...], generation_prompt: str) -> tuple[int, ...] | None:
        if END_OF_TURN not in completion:
            return (END_OF_TURN,)  # cut off: a full render closes the turn with its stop id
        return () if completion.index(END_OF_TURN) == len(completion) - 1 else None

    def accepts(self, turn: BridgeTurn) -> bool:
        if turn.tools:
            raise ConversationError("the toy family has no tool use: tools cannot be declared")
        return True

    def write_tail(self, turn: BridgeTurn, previous: MultiModalData, buf: TokenBuffer) -> None:
        plan = Plan()
        for message in turn.messages:
            write_message(plan, message, shout=self.renderer.options.shout)
        plan.text(GENERATION_PROMPT, -1)
        self.renderer.emit(plan, buf)


def write_message(plan: Plan, message: Message, *, shout: bool) -> None:
    """One message's turn (all of it owned by the message): ``<role>``, its text and images, and the stop id after an assistant turn."""
    if message.tool_calls:
        raise ConversationError("the toy family cannot render tool calls", message_index=message.index)
    plan.text(f"<{message.role}>", message.index)
    for part in message.parts:
        if isinstance(part, ImagePart):
            plan.image(part, message.index)
        else:
            plan.text(part.text.upper() if shout else part.text, message.index)
    if message.role == "assistant":
        plan.special(END_OF_TURN, message.index)


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
