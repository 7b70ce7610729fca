"""Ray Data integration: render (or count) a dataset's conversations on a cluster, one renderer per actor.

``import mmrender.integrations.ray as mr`` needs the ``ray`` extra (``pip install 'mmrender[ray]'``);
core itself never imports Ray.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

try:
    import pyarrow as pa
    import ray.data
except ImportError as exc:  # pragma: no cover - exercised in a subprocess without ray
    raise ImportError(
        f"mmrender.integrations.ray needs Ray Data and pyarrow ({exc}); install them with "
        "pip install 'mmrender[ray]' (or: pip install 'ray[data]' pyarrow)"
    ) from exc

from ..errors import ConfigError, MMRenderError
from ..registry import get_renderer
from ..renderer import Renderer
from ..storage import open_store
from ..types import to_jsonable
from .arrow_records import JSON_COLUMNS, as_table, record_at, record_columns, result_table

#: Columns :class:`RenderBatch` adds; ``error`` is null on a row that rendered.
RENDER_SCHEMA = pa.schema(
    [
        ("token_ids", pa.list_(pa.int64())),
        ("num_tokens", pa.int64()),
        ("multi_modal_data", pa.string()),
        ("error", pa.string()),
    ]
)
#: Columns :class:`LengthBatch` adds.
LENGTH_SCHEMA = pa.schema([("num_tokens", pa.int64()), ("error", pa.string())])
#: Rows per batch handed to an actor by :func:`render_dataset` and :func:`lengths`.
DEFAULT_BATCH_SIZE = 64


def error_text(exc: MMRenderError) -> str:
    """The ``error`` column's value: the error type, then its message (which names message and part)."""
    return f"{type(exc).__name__}: {exc}"


class _PerActorRenderer:
    """Holds the renderer's recipe, not the renderer: Ray pickles the class, and each actor builds its
    own renderer on its first batch (tokenizers and store connections do not travel)."""

    def __init__(
        self,
        model: str,
        *,
        store: str | None = None,
        store_options: Mapping[str, Any] | None = None,
        add_generation_prompt: bool = False,
        **options: Any,
    ) -> None:
        if options.get("multimodal_output", "raw") != "raw":
            raise ConfigError("the Ray integration writes JSON columns and supports only multimodal_output='raw'")
        self.model = model
        self.store = store
        self.store_options = dict(store_options or {})
        self.add_generation_prompt = add_generation_prompt
        self.options = options
        self._renderer: Renderer | None = None

    @property
    def renderer(self) -> Renderer:
        if self._renderer is None:
            store = open_store(self.store, **self.store_options) if self.store_options else self.store
            self._renderer = get_renderer(self.model, store=store, **self.options)
        return self._renderer

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_renderer": None}

    def _rows(self, batch: Any, row_of: Any, schema: pa.Schema) -> pa.Table:
        """Every row through ``row_of(record)``; a row whose record or render fails gets only ``error``."""
        table = as_table(batch)
        columns = record_columns(table)
        _ = self.renderer  # an unknown model or a bad option fails the batch, not each row
        rows = []
        for index in range(table.num_rows):
            try:
                rows.append(row_of(record_at(columns, index)))
            except MMRenderError as exc:
                rows.append({"error": error_text(exc)})
        return result_table(table.drop_columns(_replaced(table, schema)), rows, schema)


def _replaced(table: pa.Table, schema: pa.Schema) -> list[str]:
    """Input columns the output does not keep: the consumed JSON columns, and any the output recomputes."""
    return [name for name in table.column_names if name in JSON_COLUMNS or name in schema.names]


class RenderBatch(_PerActorRenderer):
    """``ds.map_batches(RenderBatch, fn_constructor_kwargs={"model": ..., "store": ...})``.

    Each row's ``messages`` (and optional ``tools``) become ``token_ids``, ``num_tokens``,
    ``multi_modal_data`` (the sidecar as JSON) and ``error``; other columns (``id``) pass through.
    """

    def __call__(self, batch: Any) -> pa.Table:
        return self._rows(batch, self._render, RENDER_SCHEMA)

    def _render(self, record: Mapping[str, Any]) -> dict[str, Any]:
        rendered = self.renderer.render(
            record["messages"], tools=record.get("tools"), add_generation_prompt=self.add_generation_prompt
        )
        return {
            "token_ids": list(rendered.token_ids),
            "num_tokens": len(rendered.token_ids),
            "multi_modal_data": json.dumps(to_jsonable(rendered.multi_modal_data), ensure_ascii=False),
        }


class LengthBatch(_PerActorRenderer):
    """Adds ``num_tokens`` (what :class:`RenderBatch` would give, from image headers alone: no hashing,
    no store) and ``error``; every input column passes through, so the result filters the input."""

    def __call__(self, batch: Any) -> pa.Table:
        return self._rows(batch, self._count, LENGTH_SCHEMA)

    def _count(self, record: Mapping[str, Any]) -> dict[str, Any]:
        count = self.renderer.count_tokens(
            record["messages"], tools=record.get("tools"), add_generation_prompt=self.add_generation_prompt
        )
        return {"num_tokens": count}


def _compute(concurrency: int | tuple[int, int] | None) -> ray.data.ActorPoolStrategy:
    """A fixed pool of ``n`` actors, an autoscaling ``(min, max)`` pool, or Ray's default (1 to unbounded)."""
    if concurrency is None:
        return ray.data.ActorPoolStrategy(min_size=1, max_size=None)
    if isinstance(concurrency, int):
        return ray.data.ActorPoolStrategy(size=concurrency)
    low, high = concurrency
    return ray.data.ActorPoolStrategy(min_size=low, max_size=high)


def _map(
    ds: ray.data.Dataset,
    udf: type[_PerActorRenderer],
    constructor: dict[str, Any],
    concurrency: int | tuple[int, int] | None,
    batch_size: int,
) -> ray.data.Dataset:
    return ds.map_batches(
        udf,
        fn_constructor_kwargs=constructor,
        compute=_compute(concurrency),
        batch_size=batch_size,
        batch_format="pyarrow",
        udf_modifying_row_count=False,
    )


def render_dataset(
    ds: ray.data.Dataset,
    *,
    model: str,
    store: str | None = None,
    store_options: Mapping[str, Any] | None = None,
    add_generation_prompt: bool = False,
    concurrency: int | tuple[int, int] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    **options: Any,
) -> ray.data.Dataset:
    """``ds`` rendered lazily by :class:`RenderBatch` actors (one CPU each, an autoscaling pool unless
    ``concurrency`` fixes it); ``options`` are the family's renderer options."""
    constructor = {
        "model": model,
        "store": store,
        "store_options": store_options,
        "add_generation_prompt": add_generation_prompt,
        **options,
    }
    return _map(ds, RenderBatch, constructor, concurrency, batch_size)


def lengths(
    ds: ray.data.Dataset,
    *,
    model: str,
    add_generation_prompt: bool = False,
    concurrency: int | tuple[int, int] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    **options: Any,
) -> ray.data.Dataset:
    """``ds`` with ``num_tokens`` and ``error`` added, for ``.filter(expr="num_tokens <= N")``."""
    # counting reads image headers only and stores nothing, so the actors need no asset store
    constructor = {"model": model, "store": "data:", "add_generation_prompt": add_generation_prompt, **options}
    return _map(ds, LengthBatch, constructor, concurrency, batch_size)


__all__ = ["LENGTH_SCHEMA", "RENDER_SCHEMA", "LengthBatch", "RenderBatch", "lengths", "render_dataset"]
