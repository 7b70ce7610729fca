"""Ray Data integration: render (or count) a dataset's conversations on a cluster, one renderer per actor.

``import mmrender.integrations.ray as mr`` needs the ``ray`` extra (``pip install 'mmrender[ray]'``);
core itself never imports Ray.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

try:
    import pyarrow as pa
    import ray.data
except ImportError as exc:  # pragma: no cover - exercised in a subprocess without ray
    raise ImportError(
        f"mmrender.integrations.ray needs Ray Data and pyarrow ({exc}); install them with "
        "pip install 'mmrender[ray]' (or: pip install 'ray[data]' pyarrow)"
    ) from exc

from ..dispatch import open_store
from ..errors import ConfigError, ConversationError
from ..records import BadRecordError, guarded, length_record, parse_record, render_record
from ..renderer import Renderer
from ..resolve import get_renderer
from .arrow_records import as_table, raw_records, result_table

#: Columns :class:`RenderBatch` adds: the CLI's output row (sidecar and refs as JSON text), the length,
#: and ``error``, which is null on a row that rendered and holds ``"ErrorType: message"`` on one that did not.
RENDER_SCHEMA = pa.schema(
    [
        ("model", pa.string()),
        ("token_ids", pa.list_(pa.int64())),
        ("message_indices", pa.list_(pa.int64())),
        ("num_tokens", pa.int64()),
        ("multi_modal_data", pa.string()),
        ("refs", pa.string()),
        ("error", pa.string()),
    ]
)
#: Columns :class:`LengthBatch` adds.
LENGTH_SCHEMA = pa.schema([("num_tokens", pa.int64()), ("error", pa.string())])
#: Rows per batch handed to an actor by :func:`render_dataset` and :func:`lengths`.
DEFAULT_BATCH_SIZE = 64


class _PerActorRenderer:
    """Holds the renderer's recipe, not the renderer: Ray pickles the class, and each actor builds its
    own renderer on its first batch (tokenizers and store connections do not travel)."""

    #: Input columns the output drops (a rendered dataset no longer needs its conversations).
    consumed: tuple[str, ...] = ()
    schema: pa.Schema

    def __init__(
        self,
        model: str,
        *,
        store: str | None = None,
        store_options: Mapping[str, Any] | None = None,
        add_generation_prompt: bool = False,
        image_root: str | None = None,
        **options: Any,
    ) -> None:
        if options.get("multimodal_output", "raw") != "raw":
            raise ConfigError("the Ray integration writes JSON columns and supports only multimodal_output='raw'")
        self.model = model
        self.store = store
        self.store_options = dict(store_options or {})
        self.add_generation_prompt = add_generation_prompt
        #: Relative image paths resolve against this folder (as the CLI resolves them against the
        #: dataset's); without it they resolve against each actor's working directory.
        self.image_root = image_root
        self.options = options
        self._renderers: dict[str, Renderer] = {}

    def renderer(self, model: str | None = None) -> Renderer:
        """The renderer for ``model`` (a record's own ``model`` column, else the constructor's), built once."""
        name = model or self.model
        if name not in self._renderers:
            store = open_store(self.store, **self.store_options) if self.store_options else self.store
            self._renderers[name] = get_renderer(name, store=store, **self.options)
        return self._renderers[name]

    @property
    def base(self) -> Path | None:
        return None if self.image_root is None else Path(self.image_root).expanduser().resolve()

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_renderers": {}}

    def row(self, raw: Mapping[str, Any], index: int) -> dict[str, Any]:
        raise NotImplementedError

    def __call__(self, batch: Any) -> pa.Table:
        """Every row through :meth:`row`; a bad record's row gets only ``error``, and the batch goes on."""
        table = as_table(batch)
        if "messages" not in table.column_names:
            raise ConversationError(f"the dataset has no 'messages' column (columns: {', '.join(table.column_names)})")
        self.renderer()  # an unknown model or a bad option fails the batch, not each row
        rows = []
        for index, raw in enumerate(raw_records(table)):
            try:
                rows.append(self.row(raw, index))
            except BadRecordError as exc:
                rows.append({"error": f"{exc.error}: {exc.message}"})
        dropped = [name for name in table.column_names if name in self.consumed or name in self.schema.names]
        return result_table(table.drop_columns(dropped), rows, self.schema)

    def _guarded(self, raw: Mapping[str, Any], index: int, work: Any) -> dict[str, Any]:
        """``work(renderer, record)`` with :func:`mmrender.records.guarded`'s split of record and job errors."""
        record_id = raw.get("id")
        label = f"record id {record_id!r}" if record_id is not None else f"batch row {index}"

        def run() -> dict[str, Any]:
            record = parse_record(raw, index, label=label, from_arrow=True)
            return work(self.renderer(record.model), record)

        return guarded(index, label, record_id, run)


class RenderBatch(_PerActorRenderer):
    """``ds.map_batches(RenderBatch, fn_constructor_kwargs={"model": ..., "store": ...})``.

    Each row's ``messages`` (and optional ``tools``, ``model``, ``add_generation_prompt``) become the
    columns of :data:`RENDER_SCHEMA`; ``messages`` and ``tools`` are dropped, other columns (``id``) kept.
    """

    consumed = ("messages", "tools")
    schema = RENDER_SCHEMA

    def row(self, raw: Mapping[str, Any], index: int) -> dict[str, Any]:
        line = self._guarded(raw, index, self._render)
        return {
            **line,
            "num_tokens": len(line["token_ids"]),
            "multi_modal_data": json.dumps(line["multi_modal_data"], ensure_ascii=False),
            "refs": json.dumps(line["refs"], ensure_ascii=False),
        }

    def _render(self, renderer: Renderer, record: Any) -> dict[str, Any]:
        return render_record(renderer, record, add_generation_prompt=self.add_generation_prompt, base=self.base)


class LengthBatch(_PerActorRenderer):
    """Adds ``num_tokens`` (what :class:`RenderBatch` gives, from image headers alone: no hashing, no
    store) and ``error``; every input column is kept, so the result filters the input."""

    schema = LENGTH_SCHEMA

    def row(self, raw: Mapping[str, Any], index: int) -> dict[str, Any]:
        return self._guarded(raw, index, self._count)

    def _count(self, renderer: Renderer, record: Any) -> dict[str, Any]:
        return length_record(renderer, record, add_generation_prompt=self.add_generation_prompt, base=self.base)


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
    num_cpus: float,
) -> ray.data.Dataset:
    return ds.map_batches(
        udf,
        fn_constructor_kwargs=constructor,
        compute=_compute(concurrency),
        batch_size=batch_size,
        num_cpus=num_cpus,
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
    image_root: str | None = None,
    concurrency: int | tuple[int, int] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    num_cpus: float = 1,
    **options: Any,
) -> ray.data.Dataset:
    """``ds`` rendered lazily by :class:`RenderBatch` actors (``num_cpus`` each, an autoscaling pool unless
    ``concurrency`` fixes it); ``options`` are the family's renderer options.

    A fixed pool must leave CPUs for the read and write tasks: ``concurrency`` actors of ``num_cpus``
    that take every CPU of the cluster wait forever for the read that feeds them.
    """
    constructor = {
        "model": model,
        "store": store,
        "store_options": store_options,
        "add_generation_prompt": add_generation_prompt,
        "image_root": image_root,
        **options,
    }
    return _map(ds, RenderBatch, constructor, concurrency, batch_size, num_cpus)


def lengths(
    ds: ray.data.Dataset,
    *,
    model: str,
    add_generation_prompt: bool = False,
    image_root: str | None = None,
    concurrency: int | tuple[int, int] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    num_cpus: float = 1,
    **options: Any,
) -> ray.data.Dataset:
    """``ds`` with ``num_tokens`` and ``error`` added, for ``.filter(expr=col("num_tokens") <= N)``."""
    # counting reads image headers only and stores nothing, so the actors need no asset store
    constructor = {
        "model": model,
        "store": "data:",
        "add_generation_prompt": add_generation_prompt,
        "image_root": image_root,
        **options,
    }
    return _map(ds, LengthBatch, constructor, concurrency, batch_size, num_cpus)


__all__ = ["LENGTH_SCHEMA", "RENDER_SCHEMA", "LengthBatch", "RenderBatch", "lengths", "render_dataset"]
