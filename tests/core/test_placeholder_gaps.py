"""The unbacked-placeholder check against a brute-force reference: every position outside every range.

``first_unbacked`` counts ids only in the stretches between well-formed ranges (it never scans a pad
run); this checks that shortcut reports exactly the occurrences a position-by-position walk finds.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from mmrender.placeholders import first_unbacked

IDS = st.lists(st.sampled_from([1, 2, 7, 7, 9]), max_size=40)


@st.composite
def prompts(draw: st.DrawFn) -> tuple[list[int], list[tuple[int, int]]]:
    """Ids and non-overlapping in-bounds ranges, in shuffled order (as sidecar modalities interleave)."""
    token_ids = draw(IDS)
    cuts = sorted(draw(st.lists(st.integers(0, len(token_ids)), max_size=6)))
    spans = [(cuts[k], cuts[k + 1]) for k in range(0, len(cuts) - 1, 2)]
    return token_ids, draw(st.permutations(spans))


def reference(token_ids: list[int], spans: list[tuple[int, int]], declared: set[int], keyed: bool):
    candidates = set(declared)
    if keyed:
        candidates |= {token_ids[start] for start, end in spans if start < end}
    covered = {k for start, end in spans for k in range(start, end)}
    outside = [k for k, tid in enumerate(token_ids) if tid in candidates and k not in covered]
    return (outside[0], token_ids[outside[0]], len(outside)) if outside else None


@settings(max_examples=400, deadline=None)
@given(prompts(), st.sets(st.sampled_from([7, 9])), st.booleans(), st.booleans())
def test_first_unbacked_matches_a_position_walk(prompt, declared, keyed, as_tuple) -> None:
    token_ids, spans = prompt
    ids = tuple(token_ids) if as_tuple else token_ids
    assert first_unbacked(ids, spans, declared, keyed=keyed) == reference(token_ids, spans, declared, keyed)


@st.composite
def overlapping_prompts(draw: st.DrawFn) -> tuple[list[int], list[tuple[int, int]]]:
    """Ids and in-bounds ranges that may overlap or nest (a malformed sidecar read back from JSON)."""
    token_ids = draw(IDS)
    bound = st.integers(0, len(token_ids))
    pairs = draw(st.lists(st.tuples(bound, bound), max_size=5))
    return token_ids, [(min(a, b), max(a, b)) for a, b in pairs]


@settings(max_examples=400, deadline=None)
@given(overlapping_prompts(), st.sets(st.sampled_from([7, 9])), st.booleans())
def test_overlapping_ranges_back_each_position_once(prompt, declared, keyed) -> None:
    """Ids [7, 7, 1, 7] with ranges (0, 2) and (1, 3) leave position 3 unbacked: overlaps must not count twice."""
    token_ids, spans = prompt
    assert first_unbacked(token_ids, spans, declared, keyed=keyed) == reference(token_ids, spans, declared, keyed)


def test_the_overlap_example() -> None:
    assert first_unbacked([7, 7, 1, 7], [(0, 2), (1, 3)], {7}) == (3, 7, 1)
