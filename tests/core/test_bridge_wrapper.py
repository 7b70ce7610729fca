"""Core owns every family's ``bridge_to_next_turn``, a third party's included: the family's ``bridge_turn``
gets plain previous ids, callers may pass the previous ``RenderedTokens``, and pads without a sidecar entry raise."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from mmrender import (
    FamilySpec,
    ModelRoute,
    MultiModalData,
    PlaceholderRange,
    RenderedTokens,
    Renderer,
    RendererOptions,
    merge_multi_modal_data,
)
from mmrender.errors import UnbackedPlaceholderError

PAD = 900


class NaiveRenderer(Renderer):
    """A family whose bridge just joins ids and trusts whatever sidecar it is given (the silent-loss shape)."""

    seen: list[Any]

    def render_conversation(self, conversation: Any) -> RenderedTokens:
        raise NotImplementedError

    def compute_layout(self, width: int, height: int) -> Any:
        raise NotImplementedError

    def parse_response(self, completion_ids: Sequence[int], *, tools: Any = None) -> Any:
        raise NotImplementedError

    @property
    def placeholder_token_ids(self) -> frozenset[int]:
        return frozenset({PAD})

    def bridge_turn(
        self,
        previous: Sequence[int],
        previous_completion_ids: Sequence[int],
        new_messages: Sequence[Mapping[str, Any]],
        *,
        tools: Any = None,
        previous_multi_modal_data: MultiModalData | None = None,
        start_index: int = 0,
    ) -> RenderedTokens | None:
        self.seen.append(previous)
        ids = (*previous, *previous_completion_ids, 1, 2)
        return RenderedTokens(ids, [-1] * len(ids), merge_multi_modal_data(previous_multi_modal_data, None))


def _renderer() -> NaiveRenderer:
    spec = FamilySpec(id="naive", routes=(ModelRoute("naive/1"),), create=NaiveRenderer, options_class=RendererOptions)
    r = NaiveRenderer(family=spec, route=spec.routes[0], tokenizer=None, store=None, options=RendererOptions())  # type: ignore[arg-type]
    r.seen = []
    return r


def _previous() -> RenderedTokens:
    mm = MultiModalData(
        mm_hashes={"image": ("a" * 32,)},
        mm_placeholders={"image": (PlaceholderRange(1, 3),)},
        mm_items={"image": (None,)},
    )
    return RenderedTokens([5, PAD, PAD, PAD, 6], [0] * 5, mm, placeholder_ids={PAD})


def test_the_family_receives_ids_and_the_sidecar_from_a_rendered_object() -> None:
    r, previous = _renderer(), _previous()
    out = r.bridge_to_next_turn(previous, [7, 8], [{"role": "user", "content": "x"}])
    assert r.seen == [previous.token_ids] and isinstance(r.seen[0], tuple)
    assert out is not None and out.multi_modal_data == previous.multi_modal_data
    assert out.placeholder_ids == {PAD}


def test_bare_ids_without_sidecar_are_refused_for_a_third_party_family() -> None:
    r, previous = _renderer(), _previous()
    with pytest.raises(UnbackedPlaceholderError, match="pass the previous RenderedTokens") as err:
        r.bridge_to_next_turn(list(previous.token_ids), [7, 8], [])
    assert err.value.position == 1


def test_a_sampled_pad_is_refused_with_its_completion_position() -> None:
    r, previous = _renderer(), _previous()
    with pytest.raises(UnbackedPlaceholderError, match="completion position 1"):
        r.bridge_to_next_turn(previous, [7, PAD, 8], [])
