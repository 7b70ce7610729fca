"""The main job: render a conversation file or JSONL dataset to JSONL of ids + sidecar, assets offloaded."""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from .errors import ConversationError, MMRenderError
from .images import bare_base64_image
from .refs import dump
from .renderer import Renderer
from .resolve import get_renderer
from .storage import default_store_url, scheme_of
from .types import RawMMItem, RawMMRef, RenderedTokens, to_jsonable


@attrs.define
class JobSummary:
    conversations: int = 0
    tokens: int = 0
    images: int = 0
    output: str = "-"
    store: str = ""


def _records(path: str) -> Iterator[tuple[str, Any]]:
    """Yield (label, record) from a .json conversation or a .jsonl dataset (``-`` reads stdin)."""
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    stripped = text.lstrip()
    if path.endswith(".json") or (path == "-" and stripped.startswith("[")):
        yield path, json.loads(text)
        return
    number = 0
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.strip():
            number += 1
            try:
                yield f"{path}:{lineno} (record {number})", json.loads(line)
            except json.JSONDecodeError as exc:
                raise MMRenderError(f"{path}:{lineno}: not valid JSON: {exc}") from exc


def _absolutize(value: Any, base: Path) -> Any:
    """Resolve relative image paths against the input file's folder so datasets are relocatable."""
    if (
        isinstance(value, str)
        and scheme_of(value) == "file"
        and "://" not in value
        and not value.startswith("data:")
        and bare_base64_image(value) is None
    ):
        path = Path(value).expanduser()
        return str(path if path.is_absolute() else base / path)
    return value


def _fix_paths(messages: Any, base: Path) -> Any:
    if not isinstance(messages, list):
        return messages
    out = []
    for msg in messages:
        if isinstance(msg, Mapping) and isinstance(msg.get("content"), list):
            parts = []
            for part in msg["content"]:
                if isinstance(part, Mapping):
                    part = dict(part)
                    for key in ("image", "path", "url"):
                        if key in part:
                            part[key] = _absolutize(part[key], base)
                    if isinstance(part.get("image_url"), Mapping):
                        part["image_url"] = {
                            **part["image_url"],
                            "url": _absolutize(part["image_url"].get("url"), base),
                        }
                parts.append(part)
            msg = {**msg, "content": parts}
        out.append(msg)
    return out


def _open_part_file(out_dir: Path) -> tuple[str, Any]:
    """A new ``.mmrender-*.jsonl.part`` next to the output, created 0666 so the umask sets its mode.

    Why not ``tempfile.mkstemp``: it creates 0600 whatever the umask, and the rename keeps that mode.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        tmp = str(out_dir / f".mmrender-{secrets.token_hex(8)}.jsonl.part")
        try:
            return tmp, os.fdopen(os.open(tmp, flags, 0o666), "w", encoding="utf-8")
        except FileExistsError:
            continue


def record_json(rendered: RenderedTokens, run_id: str | None = None) -> dict[str, Any]:
    """One output line: ids, owners, the sidecar and one ``mmraw`` ref per image."""
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


def run_render_job(
    input_path: str,
    *,
    output: str = "-",
    model: str | None = None,
    store: str | None = None,
    options: Mapping[str, Any] | None = None,
    add_generation_prompt: bool = False,
    progress: bool = True,
) -> JobSummary:
    """Render every record; the output file appears only when the whole dataset rendered."""
    from tqdm import tqdm

    base = Path(input_path).resolve().parent if input_path != "-" else Path.cwd()
    store = store or default_store_url()
    if (options or {}).get("multimodal_output", "raw") != "raw":
        raise MMRenderError("the render job writes JSONL and supports only multimodal_output=raw")
    renderers: dict[str, Renderer] = {}
    summary = JobSummary(output=output, store=store)
    records = list(_records(input_path))
    out_dir = Path(output).resolve().parent if output != "-" else None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        tmp, sink = _open_part_file(out_dir)
    else:
        tmp, sink = None, sys.stdout
    try:
        # a with-block closes the bar on an error or interrupt too, so a message after it starts a line
        with tqdm(records, unit="conv", disable=not progress or len(records) < 2, file=sys.stderr) as bar:
            for label, record in bar:
                line = _render_record(
                    label, record, base, model, store, options or {}, add_generation_prompt, renderers
                )
                summary.conversations += 1
                summary.tokens += len(line["token_ids"])
                summary.images += sum(len(v) for v in line["refs"].values())
                sink.write(json.dumps(line, ensure_ascii=False) + "\n")
        if tmp is not None:
            sink.close()
            os.replace(tmp, output)
    except BaseException:
        if tmp is not None:
            sink.close()
            Path(tmp).unlink(missing_ok=True)
        raise
    return summary


def _render_record(
    label: str,
    record: Any,
    base: Path,
    model: str | None,
    store: str,
    options: Mapping[str, Any],
    add_generation_prompt: bool,
    renderers: dict[str, Renderer],
) -> dict[str, Any]:
    if isinstance(record, list):
        record = {"messages": record}
    if not isinstance(record, Mapping) or "messages" not in record:
        raise MMRenderError(f"{label}: a record must be a list of messages or an object with 'messages'")
    check_record_fields(label, record)
    name = record.get("model") or model
    if not name:
        raise MMRenderError(f"{label}: no model given (pass --model or put 'model' in the record)")
    renderer = renderers.get(name)
    if renderer is None:
        renderer = renderers[name] = get_renderer(name, store=store, **dict(options))
    try:
        rendered = renderer.render(
            _fix_paths(record["messages"], base),
            tools=record.get("tools"),
            add_generation_prompt=record.get("add_generation_prompt", add_generation_prompt),
        )
    except ConversationError as exc:
        raise MMRenderError(f"{label}: {exc}") from exc
    line = record_json(rendered, getattr(renderer.options, "run_id", None))
    if "id" in record:
        line = {"id": record["id"], **line}
    return {"model": name, **line}


#: Record fields with a JSON type, and what they must be; ``bool("false")`` is True, so nothing is coerced.
RECORD_FIELDS: dict[str, tuple[tuple[type, ...], str]] = {
    "messages": ((list,), "a list of messages"),
    "model": ((str,), "a model id string"),
    "tools": ((list, type(None)), "a list of tool schemas or null"),
    "add_generation_prompt": ((bool,), "true or false"),
}


def check_record_fields(label: str, record: Mapping[str, Any]) -> None:
    """Every typed field present in ``record`` has its JSON type, or a ``ConversationError`` names it."""
    for field, (types, expected) in RECORD_FIELDS.items():
        if field in record and not isinstance(record[field], types):
            value = record[field]
            raise ConversationError(
                f"{label}: field {field!r} must be {expected}, got {value!r} ({type(value).__name__})"
            )
