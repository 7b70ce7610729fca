"""Parse scaffolding every family's response parser starts from: find ids, cut at the first stop id.

Why here: each parser used to write its own ``_index`` and stop-token loop (three ways, one of them
a Python-level scan); these use ``list.index``, so finding a boundary costs C-level time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def index_of(ids: list[int], token: int | None, start: int = 0, stop: int | None = None) -> int:
    """Position of the first ``token`` in ``ids[start:stop]``, or -1 (also for a token the vocabulary lacks: None)."""
    if token is None:
        return -1
    try:
        return ids.index(token, start) if stop is None else ids.index(token, start, stop)
    except ValueError:
        return -1


def cut_at_stop(completion_ids: Sequence[int], stop_ids: Iterable[int | None]) -> tuple[list[int], bool]:
    """The completion's ids before its first stop id, and ``truncated``: True when it has none."""
    ids = [int(t) for t in completion_ids]
    found = [k for k in (index_of(ids, stop) for stop in stop_ids) if k >= 0]
    if not found:
        return ids, True
    return ids[: min(found)], False
