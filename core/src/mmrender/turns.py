"""The core side of every ``bridge_to_next_turn``: take the previous turn as a ``RenderedTokens``
(or ids + sidecar), and never return placeholder ids that no sidecar range covers.

``Renderer.bridge_to_next_turn`` (core's, for every family) runs these around the family's
``bridge_turn``, so the check holds for third-party families too and a family's own code receives
plain previous ids.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .errors import ConfigError, UnbackedPlaceholderError
from .placeholders import first_unbacked, placeholder_set
from .types import MultiModalData, RenderedTokens


def id_tuple(ids: Sequence[int]) -> tuple[int, ...]:
    """Tuples and lists of Python ints are taken as they are; arrays and tensors go through ``tolist``."""
    if isinstance(ids, tuple):
        return ids
    if isinstance(ids, list):
        return tuple(ids)
    tolist = getattr(ids, "tolist", None)
    return tuple(tolist()) if tolist is not None else tuple(int(i) for i in ids)


def previous_turn(
    previous: RenderedTokens | Sequence[int], sidecar: MultiModalData | Mapping[str, Any] | None
) -> tuple[tuple[int, ...], MultiModalData | Mapping[str, Any] | None, frozenset[int]]:
    """The previous prompt's ids, its sidecar and the placeholder ids a renderer checked it for (none for
    bare ids or an object not checked by a renderer), from either calling form."""
    if isinstance(previous, RenderedTokens):
        if sidecar is not None:
            raise ConfigError(
                "previous is a RenderedTokens, which carries its own multi_modal_data: "
                "do not also pass previous_multi_modal_data"
            )
        checked = previous.placeholder_ids if previous.placeholders_checked else frozenset()
        return previous.token_ids, previous.multi_modal_data, checked
    return id_tuple(previous), sidecar, frozenset()


def check_bridged(
    result: RenderedTokens,
    declared: frozenset[int],
    prompt_length: int,
    completion_length: int,
    *,
    vouched: bool,
    had_sidecar: bool,
) -> RenderedTokens:
    """Stamp ``declared`` on a bridge result and refuse placeholder ids outside its sidecar, saying whose they are.

    ``vouched``: the previous prompt is a ``RenderedTokens`` a renderer checked for every declared id
    when it made it, so only the completion and the new ids are scanned (O(new), the bridge's cost
    promise). Bare ids, and objects changed or built by hand, are scanned whole: nothing vouches for them.
    """
    stamped = result.with_placeholder_ids(declared, checked=True)
    start = prompt_length if vouched else 0
    spans = [(max(a, start) - start, b - start) for a, b in stamped.placeholder_spans() if b > start]
    keyed = placeholder_set(stamped.token_ids, stamped.keyed_spans(), stamped.placeholder_ids)
    found = first_unbacked(stamped.token_ids[start:], spans, keyed, keyed=False)
    if found is None:
        return stamped  # marked checked: a bridge from it need not scan this prefix again
    position, token, count = found[0] + start, found[1], found[2]
    if prompt_length <= position < prompt_length + completion_length:
        problem = (
            f"the previous completion holds image-placeholder id {token} at completion position "
            f"{position - prompt_length}: the sampler emitted it, and no image backs it (drop or mask this sample)"
        )
    elif position < prompt_length:
        hint = (
            "pass the previous RenderedTokens itself (or previous_multi_modal_data)"
            if not had_sidecar
            else "previous_multi_modal_data does not match the previous prompt"
        )
        problem = (
            f"the previous prompt holds {count} image-placeholder id(s) with no multi_modal_data entry "
            f"(id {token} at position {position}): {hint}"
        )
    else:
        problem = f"bridged ids hold image-placeholder id {token} at position {position} with no multi_modal_data entry"
    raise UnbackedPlaceholderError(problem, position=position, token_id=token)
