"""Build :class:`RenderedTokens` from tuples this package assembled, skipping core's per-id conversion.

``RenderedTokens`` converts both sequences with ``tuple(int(v) for v in value)``, a Python-level
loop over every id. A bridge must cost O(new tokens), and the previous ids it extends are already
tuples of Python ints (from the tokenizer or the caller), so the instance is filled directly; the
length invariant is still checked. (Suggested core change: a ``RenderedTokens.trusted``
constructor, or a C-level converter.)
"""

from __future__ import annotations

from mmrender import MultiModalData, RenderedTokens


def trusted_rendered(
    token_ids: tuple[int, ...], message_indices: tuple[int, ...], multi_modal_data: MultiModalData
) -> RenderedTokens:
    if len(token_ids) != len(message_indices):
        raise ValueError("token_ids and message_indices must have the same length")
    obj = object.__new__(RenderedTokens)
    object.__setattr__(obj, "token_ids", token_ids)
    object.__setattr__(obj, "message_indices", message_indices)
    object.__setattr__(obj, "multi_modal_data", multi_modal_data)
    return obj
