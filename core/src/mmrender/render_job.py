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
from .records import RECORD_FIELDS, check_record_fields, guarded, parse_record, render_record, rendered_json
from .registry import get_renderer
from .renderer import Renderer
from .storage import default_store_url
from .types import RenderedTokens

__all__ = ["RECORD_FIELDS", "JobSummary", "check_record_fields", "record_json", "run_render_job"]


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
    return rendered_json(rendered, run_id)


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
            for index, (label, record) in enumerate(bar):
                line = _render_record(
                    label, record, index, base, model, store, options or {}, add_generation_prompt, renderers
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
    raw: Any,
    index: int,
    base: Path,
    model: str | None,
    store: str,
    options: Mapping[str, Any],
    add_generation_prompt: bool,
    renderers: dict[str, Renderer],
) -> dict[str, Any]:
    def work() -> dict[str, Any]:
        record = parse_record(raw, index, label=label)
        name = record.model or model
        if not name:
            raise ConversationError(f"{label}: no model given (pass --model or put 'model' in the record)")
        renderer = renderers.get(name)
        if renderer is None:
            renderer = renderers[name] = get_renderer(name, store=store, **dict(options))
        return render_record(renderer, record, add_generation_prompt=add_generation_prompt, base=base)

    return guarded(index, label, raw.get("id") if isinstance(raw, Mapping) else None, work)
