"""One dataset job's per-record work: a record (JSON text or an Arrow row) in, an output or error row out.

A :class:`ChunkWorker` lives in each worker process (or in the command's own, for one worker) and turns
a chunk of records into JSON lines with one renderer per model, built on first use.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from .datasets import Chunk, chunk_records
from .errors import ConversationError
from .records import BadRecordError, error_row, guarded, length_record, parse_record, render_record, sample_record
from .renderer import Renderer
from .resolve import get_renderer

__all__ = ["COMMANDS", "ChunkResult", "ChunkWorker", "JobSpec"]

COMMANDS = ("render", "lengths", "samples")


@attrs.frozen(kw_only=True)
class JobSpec:
    """Everything a worker needs to turn records into rows; also the ``--resume`` key (with the input)."""

    command: str = attrs.field(validator=attrs.validators.in_(COMMANDS))
    model: str | None = None
    store: str | None = None
    options: Mapping[str, Any] = attrs.field(factory=dict)
    add_generation_prompt: bool = False
    max_length: int | None = None
    base: str | None = None
    skip_errors: bool = False


@attrs.frozen
class ChunkResult:
    """One chunk's rows (JSON text lines), error rows, counts, and the failure that stopped it, if any."""

    index: int
    lines: list[str]
    errors: list[str]
    records: int = 0
    tokens: int = 0
    images: int = 0
    videos: int = 0
    failure: BadRecordError | None = None
    fatal: str | None = None


def _dumps(row: Mapping[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False) + "\n"


def _items(row: Mapping[str, Any], modality: str) -> int:
    """How many items of ``modality`` (``image``, ``video``) a rendered row holds."""
    mm = row.get("multi_modal_data") or {}
    return len((mm.get("mm_hashes") or {}).get(modality, ()))


class ChunkWorker:
    """Turns chunks into rows with one renderer per model, built on first use in this process."""

    def __init__(self, spec: JobSpec) -> None:
        self.spec = spec
        self.renderers: dict[str, Renderer] = {}
        self.base = Path(spec.base) if spec.base else None

    def renderer(self, name: str) -> Renderer:
        renderer = self.renderers.get(name)
        if renderer is None:
            store = "data:" if self.spec.command == "lengths" else self.spec.store  # lengths store nothing
            renderer = self.renderers[name] = get_renderer(name, store=store, **dict(self.spec.options))
        return renderer

    def row(self, index: int, label: str, raw: Any, text: str | None) -> dict[str, Any]:
        if text is not None:
            try:
                raw = json.loads(text)
            except json.JSONDecodeError as exc:
                raise BadRecordError(label, f"not valid JSON: {exc}", index, None, type(exc).__name__) from exc
        record = parse_record(raw, index, label=label, from_arrow=text is None and not isinstance(raw, list))
        name = record.model or self.spec.model
        if not name:
            raise ConversationError(f"{label}: no model given (pass --model or put 'model' in the record)")
        renderer, spec = self.renderer(name), self.spec
        if spec.command == "lengths":
            return length_record(renderer, record, add_generation_prompt=spec.add_generation_prompt, base=self.base)
        if spec.command == "samples":
            return sample_record(renderer, record, max_length=spec.max_length, base=self.base)
        return render_record(renderer, record, add_generation_prompt=spec.add_generation_prompt, base=self.base)

    def run(self, chunk: Chunk) -> ChunkResult:
        """Rows of every record; the first bad one ends the chunk unless ``skip_errors``."""
        result = ChunkResult(chunk.index, [], [])
        records = tokens = images = videos = 0
        for index, label, raw, text in chunk_records(chunk):
            record_id = raw.get("id") if isinstance(raw, Mapping) else _id_of(text)
            try:
                row = guarded(index, label, record_id, lambda: self.row(index, label, raw, text))  # noqa: B023
            except BadRecordError as exc:
                if not self.spec.skip_errors:
                    counts = {"records": records, "tokens": tokens, "images": images, "videos": videos}
                    return attrs.evolve(result, **counts, failure=exc)
                result.errors.append(_dumps(error_row(exc)))
                continue
            records += 1
            tokens += int(row["num_tokens"]) if "num_tokens" in row else len(row.get("token_ids", ()))
            images += _items(row, "image")
            videos += _items(row, "video")
            result.lines.append(_dumps(row))
        return attrs.evolve(result, records=records, tokens=tokens, images=images, videos=videos)


def _id_of(text: str | None) -> Any:
    """A bad line's ``id`` for its error row, when the line at least parses."""
    try:
        value = json.loads(text) if text is not None else None
    except json.JSONDecodeError:
        return None
    return value.get("id") if isinstance(value, Mapping) else None
