"""Dataset batches (Arrow tables, pandas frames, dicts of numpy arrays) as plain JSON-shaped records, and
result rows back as an Arrow table: the engine-neutral half of the Ray Data integration.

Why a module of its own: a batch reaches a UDF in one of three formats whose nested values differ
(Python dicts, numpy arrays of dicts of numpy arrays, Arrow structs with unified keys), and every
per-record step after this module sees the same plain lists and dicts ``json.loads`` would give.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from ..errors import ConversationError

#: Input columns the records are built from; every other column passes through untouched.
JSON_COLUMNS = ("messages", "tools")


def as_table(batch: Any) -> pa.Table:
    """A Ray batch of any format (``pyarrow``, ``pandas``, ``numpy`` dict) as one Arrow table."""
    if isinstance(batch, pa.Table):
        return batch
    if isinstance(batch, pa.RecordBatch):
        return pa.Table.from_batches([batch])
    if isinstance(batch, Mapping):  # batch_format="numpy": column name -> numpy array
        return pa.table({name: _arrow_column(values) for name, values in batch.items()})
    if callable(getattr(batch, "to_dict", None)) and hasattr(batch, "columns"):  # a pandas DataFrame
        return pa.table({str(name): _arrow_column(batch[name].to_numpy()) for name in batch.columns})
    raise TypeError(f"unsupported batch type {type(batch).__name__} (expected pyarrow, pandas or numpy)")


def _arrow_column(values: Any) -> pa.Array:
    """One numpy column as Arrow; object columns (nested lists, dicts) through their plain Python values."""
    if getattr(getattr(values, "dtype", None), "kind", "O") != "O":
        return pa.array(values)
    return pa.array([plain(value) for value in values])


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


def drop_absent_keys(value: Any) -> Any:
    """Struct fields that are None removed, recursively: Arrow gives every struct the union of the keys
    of all rows, so a key one message never had comes back as None, where ``json.loads`` has no key.

    A JSON ``null`` kept in a struct is indistinguishable from an absent key; a column of JSON strings
    keeps it exactly.
    """
    if isinstance(value, Mapping):
        return {key: drop_absent_keys(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [drop_absent_keys(item) for item in value]
    return value


def _field(value: Any, column: str, row: int) -> Any:
    """One ``messages``/``tools`` cell as JSON would give it: a JSON string parsed, nested values cleaned."""
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8")
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ConversationError(f"row {row}: column {column!r} is not valid JSON: {exc}") from exc
    return drop_absent_keys(plain(value))


def record_columns(table: pa.Table) -> dict[str, list[Any]]:
    """The ``messages`` and ``tools`` cells of a batch as Python values (Arrow maps as dicts)."""
    if "messages" not in table.column_names:
        raise ConversationError(f"the dataset has no 'messages' column (columns: {', '.join(table.column_names)})")
    return {
        name: table.column(name).to_pylist(maps_as_pydicts="lossy")
        for name in JSON_COLUMNS
        if name in table.column_names
    }


def record_at(columns: Mapping[str, Sequence[Any]], row: int) -> dict[str, Any]:
    """Row ``row`` as a record ``{"messages", "tools"?}`` shaped as ``json.loads`` gives it, or a
    :class:`ConversationError` naming the row and column."""
    record = {"messages": _field(columns["messages"][row], "messages", row)}
    tools = columns["tools"][row] if "tools" in columns else None
    if tools is not None:
        record["tools"] = _field(tools, "tools", row)
    return record


def result_table(passthrough: pa.Table, rows: Sequence[Mapping[str, Any]], schema: pa.Schema) -> pa.Table:
    """``passthrough``'s columns followed by one column per field of ``schema``, filled from ``rows``."""
    table = passthrough
    for field in schema:
        table = table.append_column(field, pa.array([row.get(field.name) for row in rows], type=field.type))
    return table
