"""One dataset record in, one output row out: the per-record logic every dataset job shares.

The CLI's ``render``/``lengths`` commands and the Ray integration all go through these functions, so
a record is validated, rendered and reported the same way wherever it runs. A record is
``{"messages", "tools"?, "model"?, "id"?, "add_generation_prompt"?}`` (or a bare list of messages);
``messages`` and ``tools`` may be Python objects or JSON strings (how Parquet columns often hold them).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from .errors import (
    ConfigError,
    ConversationError,
    MissingBackendError,
    MMRenderError,
    PluginError,
    StoreNetworkError,
)
from .images import bare_base64_image
from .refs import dump
from .storage import scheme_of
from .types import RawMMItem, RawMMRef, RenderedTokens, to_jsonable

if TYPE_CHECKING:
    from .renderer import Renderer

T = TypeVar("T")

#: Record fields with a JSON type, and what they must be; ``bool("false")`` is True, so nothing is coerced.
RECORD_FIELDS: dict[str, tuple[tuple[type, ...], str]] = {
    "messages": ((list,), "a list of messages"),
    "model": ((str,), "a model id string"),
    "tools": ((list, type(None)), "a list of tool schemas or null"),
    "add_generation_prompt": ((bool,), "true or false"),
}

#: Errors that fail every record alike (an unreachable store, a missing backend, a bad option, a broken
#: plugin): they stop a job even with ``--errors``. Every other ``MMRenderError`` belongs to its record
#: (its messages, images, model name, a length its images do not fit) and ``--errors`` skips it.
JOB_ERRORS: tuple[type[BaseException], ...] = (StoreNetworkError, MissingBackendError, ConfigError, PluginError)


class BadRecordError(ConversationError):
    """One record could not be parsed or rendered; carries where it is and what went wrong.

    ``index`` is the record's 0-based position in the dataset (the default ``id``), ``label`` a human
    locator (``data.jsonl:3 (record 2)``), ``error`` the original error's class name. Picklable, so
    worker processes can hand it back.
    """

    def __init__(self, label: str, message: str, index: int, record_id: Any = None, error: str = "") -> None:
        super().__init__(f"{label}: {message}")
        self.label, self.message, self.index, self.record_id = label, message, index, record_id
        self.error = error or "ConversationError"
        self.args = (label, message, index, record_id, self.error)

    def __str__(self) -> str:
        return f"{self.label}: {self.message}"


@attrs.frozen
class Record:
    """A validated record: ``index`` is its 0-based position, ``label`` where a person finds it."""

    index: int
    label: str
    messages: list[Any]
    tools: list[Any] | None = None
    model: str | None = None
    id: Any = None
    add_generation_prompt: bool | None = None

    @property
    def row_id(self) -> Any:
        """The ``id`` output rows carry: the record's own, else its 0-based index, so rows join back."""
        return self.index if self.id is None else self.id


def check_record_fields(label: str, record: Mapping[str, Any]) -> None:
    """Every typed field present in ``record`` has its JSON type, or a ``ConversationError`` names it."""
    for field, (types, expected) in RECORD_FIELDS.items():
        if field in record and not isinstance(record[field], types):
            value = record[field]
            raise ConversationError(
                f"{label}: field {field!r} must be {expected}, got {value!r} ({type(value).__name__})"
            )


def _drop_nulls(value: Any) -> Any:
    """Remove ``None`` entries from mappings: Arrow struct columns give every row every key, null where absent."""
    if isinstance(value, Mapping):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_drop_nulls(v) for v in value]
    return value


def _decoded(label: str, record: dict[str, Any], field: str) -> None:
    """A JSON-string ``messages``/``tools`` column becomes the objects it spells; bad JSON names the field."""
    value = record.get(field)
    if isinstance(value, str):
        try:
            record[field] = json.loads(value)
        except json.JSONDecodeError as exc:
            expected = RECORD_FIELDS[field][1]
            raise ConversationError(
                f"{label}: field {field!r} must be {expected} (or a JSON string of one), got {value[:60]!r} (str), "
                f"which is not valid JSON: {exc}"
            ) from exc


def parse_record(raw: Any, index: int, *, label: str | None = None, from_arrow: bool = False) -> Record:
    """Validate one record; ``from_arrow`` drops the null keys Arrow struct columns add to nested values.

    Raises ``ConversationError`` naming ``label`` (default ``record N``, 1-based) and the field.
    """
    label = label or f"record {index + 1}"
    if isinstance(raw, list):
        raw = {"messages": raw}
    if not isinstance(raw, Mapping):
        raise ConversationError(f"{label}: a record must be a list of messages or an object with 'messages'")
    record = dict(raw)
    if from_arrow:  # the top-level null columns (no tools, no model) mean "absent" too
        record = {k: v for k, v in record.items() if v is not None}
    if "messages" not in record:
        raise ConversationError(f"{label}: a record must be a list of messages or an object with 'messages'")
    for field in ("messages", "tools"):
        if from_arrow and field in record and not isinstance(record[field], str):  # JSON text keeps its nulls
            record[field] = _drop_nulls(record[field])
        _decoded(label, record, field)
    check_record_fields(label, record)
    return Record(
        index=index,
        label=label,
        messages=record["messages"],
        tools=record.get("tools"),
        model=record.get("model"),
        id=record.get("id"),
        add_generation_prompt=record.get("add_generation_prompt"),
    )


#: Part keys whose string value may name a local file, and the OpenAI-style keys holding ``{"url": …}``.
_SOURCE_KEYS = ("image", "path", "url", "video")
_URL_KEYS = ("image_url", "video_url")


def _absolutize(value: Any, base: str) -> Any:
    """Resolve a relative image or video path against ``base`` so datasets are relocatable."""
    if (
        isinstance(value, str)
        and value
        and "://" not in value
        and not value.startswith("data:")
        and scheme_of(value) == "file"
        and bare_base64_image(value) is None
    ):
        return os.path.join(base, os.path.expanduser(value))  # an absolute path stays as it is
    return value


def resolve_image_paths(messages: Any, base: Path) -> Any:
    """A copy of ``messages`` whose relative image and video paths are resolved against the dataset's folder."""
    if not isinstance(messages, list):
        return messages
    root = os.fspath(base)
    out = []
    for msg in messages:
        if isinstance(msg, Mapping) and isinstance(msg.get("content"), list):
            parts = []
            for part in msg["content"]:
                if isinstance(part, Mapping):
                    part = dict(part)
                    for key in _SOURCE_KEYS:
                        if key in part:
                            part[key] = _absolutize(part[key], root)
                    for key in _URL_KEYS:
                        if isinstance(part.get(key), Mapping):
                            part[key] = {**part[key], "url": _absolutize(part[key].get("url"), root)}
                parts.append(part)
            msg = {**msg, "content": parts}
        out.append(msg)
    return out


def rendered_json(rendered: RenderedTokens, run_id: str | None = None) -> dict[str, Any]:
    """Ids, owners, the sidecar and one ``mmraw`` ref per image, as JSON values."""
    mm = rendered.multi_modal_data
    refs: dict[str, list[str]] = {}
    for modality, items in mm.mm_items.items():
        for mm_hash, item in zip(mm.mm_hashes[modality], items, strict=True):
            if isinstance(item, RawMMItem):
                refs.setdefault(modality, []).append(dump(RawMMRef.from_item(item, mm_hash, run_id)))
    return {
        "token_ids": list(rendered.token_ids),
        "message_indices": list(rendered.message_indices),
        "multi_modal_data": to_jsonable(mm),
        "refs": refs,
    }


def _messages(record: Record, base: Path | None) -> Any:
    return record.messages if base is None else resolve_image_paths(record.messages, base)


def _generation_prompt(record: Record, default: bool) -> bool:
    return default if record.add_generation_prompt is None else record.add_generation_prompt


def render_record(
    renderer: Renderer, record: Record, *, add_generation_prompt: bool = False, base: Path | None = None
) -> dict[str, Any]:
    """The output row of one record: ``model``, ``id`` (its own or its index), ids, sidecar and refs."""
    rendered = renderer.render(
        _messages(record, base),
        tools=record.tools,
        add_generation_prompt=_generation_prompt(record, add_generation_prompt),
    )
    line = rendered_json(rendered, getattr(renderer.options, "run_id", None))
    return {"model": renderer.model_id if record.model is None else record.model, "id": record.row_id, **line}


def length_record(
    renderer: Renderer, record: Record, *, add_generation_prompt: bool = False, base: Path | None = None
) -> dict[str, Any]:
    """``{"id", "num_tokens"}``: the length :func:`render_record` would give, from image headers alone."""
    n = renderer.count_tokens(
        _messages(record, base),
        tools=record.tools,
        add_generation_prompt=_generation_prompt(record, add_generation_prompt),
    )
    return {"id": record.row_id, "num_tokens": n}


def sample_record(
    renderer: Renderer,
    record: Record,
    *,
    max_length: int | None = None,
    add_generation_prompt: bool = False,
    base: Path | None = None,
) -> dict[str, Any]:
    """A training sample row (``renderer.build_training_sample``), truncated to ``max_length`` ids."""
    sample = renderer.build_training_sample(_messages(record, base), tools=record.tools, max_length=max_length)
    return {"id": record.row_id, **to_jsonable(sample)}


def error_row(error: BadRecordError) -> dict[str, Any]:
    """What ``--errors`` writes for a skipped record: where it is, its id, the error's type and message."""
    return {
        "index": error.index,
        "id": error.record_id,
        "label": error.label,
        "error": error.error,
        "message": error.message,
    }


def guarded(index: int, label: str, record_id: Any, work: Callable[[], T]) -> T:
    """Run ``work`` for one record; a record-level error comes back as :class:`BadRecordError`.

    Errors that fail every record alike (an unreachable store) and bugs pass through unchanged.
    """
    try:
        return work()
    except BadRecordError:
        raise
    except JOB_ERRORS:
        raise
    except MMRenderError as exc:
        message = str(exc)
        prefix = f"{label}: "
        if message.startswith(prefix):  # parse_record's own errors already name the record
            message = message[len(prefix) :]
        raise BadRecordError(label, message, index, record_id, type(exc).__name__) from exc
