"""Dataset batches (Arrow tables, pandas frames, dicts of numpy arrays) as raw records for
:mod:`mmrender.records`, and result rows back as an Arrow table: the engine-neutral half of the Ray
Data integration.

Why a module of its own: a batch reaches a UDF in one of three formats whose nested values differ
(Python dicts, numpy arrays of dicts of numpy arrays, Arrow structs), so every batch is first made one
Arrow table whose cells are plain lists and dicts; :func:`mmrender.records.parse_record` then treats
them exactly as the CLI treats a JSONL record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from ..records import RECORD_FIELDS

#: Input columns a record is read from (``messages``, ``tools``, ``model``, ``add_generation_prompt``, ``id``).
RECORD_COLUMNS = (*RECORD_FIELDS, "id")


def as_table(batch: Any) -> pa.Table:
    """A Ray batch of any format (``pyarrow``, ``pandas``, ``numpy`` dict) as one Arrow table."""
    if isinstance(batch, pa.Table):
        return batch
    if isinstance(batch, pa.RecordBatch):
        return pa.Table.from_batches([batch])
    if isinstance(batch, Mapping):  # batch_format="numpy": column name -> numpy array
        return pa.table({name: _arrow_column(values) for name, values in batch.items()})
    if callable(getattr(batch, "to_numpy", None)) and hasattr(batch, "columns"):  # a pandas DataFrame
        # Ray's frames hold Arrow-backed columns (pd.ArrowDtype, <NA> for null): pyarrow reads them back as is
        return pa.Table.from_pandas(batch, preserve_index=False)
    raise TypeError(f"unsupported batch type {type(batch).__name__} (expected pyarrow, pandas or numpy)")


def _arrow_column(values: Any) -> pa.Array:
    """One numpy column as Arrow; object columns (nested lists, dicts) through their plain Python values."""
    if getattr(getattr(values, "dtype", None), "kind", "O") != "O":
        return pa.array(values)
    return pa.array([plain(value) for value in values], from_pandas=True)


def plain(value: Any) -> Any:
    """``value`` with numpy arrays and scalars (pandas and numpy batches nest them) as lists and numbers."""
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, str | bytes | int | float | bool) or value is None:
        return value
    if callable(getattr(value, "tolist", None)):  # numpy array or scalar
        return plain(value.tolist())
    return value


def raw_records(table: pa.Table) -> list[dict[str, Any]]:
    """Each row's record columns as Python values (Arrow maps as dicts); other columns are not read."""
    names = [name for name in RECORD_COLUMNS if name in table.column_names]
    return table.select(names).to_pylist(maps_as_pydicts="lossy")


def result_table(passthrough: pa.Table, rows: Sequence[Mapping[str, Any]], schema: pa.Schema) -> pa.Table:
    """``passthrough``'s columns followed by one column per field of ``schema``, filled from ``rows``."""
    table = passthrough
    for field in schema:
        table = table.append_column(field, pa.array([row.get(field.name) for row in rows], type=field.type))
    return table
