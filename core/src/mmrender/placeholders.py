"""Every image-placeholder id in a prompt must sit inside a sidecar range, or the server gets pads without features.

Core knows no family: a renderer names its placeholder ids (``Renderer.placeholder_token_ids``,
carried on each result as ``RenderedTokens.placeholder_ids``), and the first id of every sidecar
range is a placeholder id too, so a sidecar read back from JSON checks itself. The counts are taken
with C-level ``tuple.count``: on the stretches no range covers when the ranges are in-bounds ints
(a pad run is never scanned; overlapping ranges cover their union, each position once), else on the
ids and on each range's slice; positions are searched only to word the error.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .errors import UnbackedPlaceholderError


def placeholder_set(
    token_ids: Sequence[int], spans: Sequence[tuple[int, int]], declared: Iterable[int] = ()
) -> set[int]:
    """The declared placeholder ids plus the id each ``(offset, end)`` span starts with."""
    ids = set(declared)
    ids.update(token_ids[start] for start, end in spans if 0 <= start < end <= len(token_ids))
    return ids


def first_unbacked(
    token_ids: Sequence[int], spans: Sequence[tuple[int, int]], declared: Iterable[int] = (), *, keyed: bool = True
) -> tuple[int, int, int] | None:
    """``(position, id, count)`` of the first placeholder id outside every span (and how many are), or None.

    ``keyed``: every span starts with its placeholder id (False when the caller already added those of
    the spans that do to ``declared``: a video's range starts with timestamp text)."""
    candidates = placeholder_set(token_ids, spans, declared) if keyed else set(declared)
    gaps = _gaps(spans, len(token_ids))
    if gaps is not None:  # counted where no span reaches, never in the spans' long pad runs
        counts = {p: n for p in candidates if (n := sum(token_ids[start:end].count(p) for start, end in gaps))}
        if not counts:
            return None
        ids, unbacked = sorted(counts), sum(counts.values())
    else:
        # An id the prompt never holds needs no span counts.
        counts = {p: n for p in candidates if (n := token_ids.count(p))}
        if not counts:
            return None
        ids = sorted(counts)
        total = sum(counts[p] for p in ids)
        unbacked = total - sum(token_ids[start:end].count(p) for start, end in spans for p in ids)
        if unbacked == 0:
            return None
    ordered = sorted(spans)
    first: tuple[int, int] | None = None
    for p in ids:
        position = _outside(token_ids, p, ordered)
        if position is not None and (first is None or position < first[0]):
            first = (position, p)
    assert first is not None  # a count outside the spans means some occurrence lies there
    return first[0], first[1], unbacked


def _gaps(spans: Sequence[tuple[int, int]], size: int) -> list[tuple[int, int]] | None:
    """The stretches of a ``size``-id prompt no span covers, when the spans are in-bounds int ranges
    (overlapping or nested ones cover their union, each position once); None otherwise, and the counts
    decide."""
    if not spans:
        return [(0, size)]
    if not all(type(start) is int and type(end) is int for start, end in spans):
        return None
    gaps, covered = [], 0
    for start, end in sorted(spans):
        if not 0 <= start <= end <= size:
            return None
        if start > covered:
            gaps.append((covered, start))
        covered = max(covered, end)
    gaps.append((covered, size))
    return gaps


def _outside(token_ids: Sequence[int], token: int, spans: list[tuple[int, int]]) -> int | None:
    """The first position of ``token`` not covered by a (sorted) span; the error path only."""
    position, k = 0, 0
    while True:
        try:
            position = token_ids.index(token, position)
        except ValueError:
            return None
        while k < len(spans) and spans[k][1] <= position:
            k += 1
        if k < len(spans) and spans[k][0] <= position:
            position = spans[k][1]
            continue
        return position


def check_placeholders(
    token_ids: Sequence[int],
    spans: Sequence[tuple[int, int]],
    declared: Iterable[int] = (),
    *,
    what: str = "prompt",
    keyed: bool = True,
) -> None:
    """Raise :class:`UnbackedPlaceholderError` when a placeholder id lies outside every sidecar span."""
    found = first_unbacked(token_ids, spans, declared, keyed=keyed)
    if found is not None:
        position, token, count = found
        raise UnbackedPlaceholderError(
            f"{what}: {count} image-placeholder id(s) have no multi_modal_data entry, the first is id {token} "
            f"at position {position}; a server would get pads without features",
            position=position,
            token_id=token,
        )
