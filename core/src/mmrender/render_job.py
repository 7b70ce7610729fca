"""The dataset commands as functions: render (or count, or build samples for) every record of a dataset."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .dataset_job import JobSpec, JobSummary, run_job
from .datasets import CHUNK_SIZE, is_remote
from .errors import MMRenderError
from .records import RECORD_FIELDS, check_record_fields, rendered_json
from .storage import default_store_url
from .types import RenderedTokens

__all__ = ["RECORD_FIELDS", "JobSummary", "check_record_fields", "record_json", "run_lengths_job", "run_render_job"]


def record_json(rendered: RenderedTokens, run_id: str | None = None) -> dict[str, Any]:
    """One output line: ids, owners, the sidecar and one ``mmraw`` ref per image."""
    return rendered_json(rendered, run_id)


def _base(input_path: str) -> str | None:
    """The folder relative image paths resolve against: the dataset's own (stdin: the working directory)."""
    if input_path == "-":
        return str(Path.cwd())
    return None if is_remote(input_path) else str(Path(input_path).resolve().parent)


def run_render_job(
    input_path: str,
    *,
    output: str = "-",
    model: str | None = None,
    store: str | None = None,
    options: Mapping[str, Any] | None = None,
    add_generation_prompt: bool = False,
    progress: bool = True,
    workers: int | None = 1,
    errors: str | None = None,
    resume: bool = False,
    samples: bool = False,
    max_length: int | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> JobSummary:
    """Render every record; the output file appears only when the whole dataset rendered.

    ``samples`` writes training samples (truncated to ``max_length`` ids) instead of rendered prompts;
    ``errors`` names a file for bad records, which are then skipped instead of stopping the job.
    """
    if (options or {}).get("multimodal_output", "raw") != "raw":
        raise MMRenderError("the render job writes JSONL and supports only multimodal_output=raw")
    if max_length is not None and not samples:
        raise MMRenderError("--max-length applies to --samples only")
    return _run(
        input_path,
        "samples" if samples else "render",
        model=model,
        store=store or default_store_url(),
        options=options,
        add_generation_prompt=add_generation_prompt,
        max_length=max_length,
        errors=errors,
        output=output,
        workers=workers,
        resume=resume,
        progress=progress,
        chunk_size=chunk_size,
    )


def run_lengths_job(
    input_path: str,
    *,
    output: str = "-",
    model: str | None = None,
    options: Mapping[str, Any] | None = None,
    add_generation_prompt: bool = False,
    progress: bool = True,
    workers: int | None = 1,
    errors: str | None = None,
    resume: bool = False,
    chunk_size: int = CHUNK_SIZE,
) -> JobSummary:
    """``{"id", "num_tokens"}`` per record, from image headers alone: nothing is hashed or stored."""
    return _run(
        input_path,
        "lengths",
        model=model,
        store="data:",
        options=options,
        add_generation_prompt=add_generation_prompt,
        errors=errors,
        output=output,
        workers=workers,
        resume=resume,
        progress=progress,
        chunk_size=chunk_size,
    )


def _run(
    input_path: str,
    command: str,
    *,
    model: str | None,
    store: str,
    options: Mapping[str, Any] | None,
    add_generation_prompt: bool,
    errors: str | None,
    max_length: int | None = None,
    **run: Any,
) -> JobSummary:
    """The job spec both commands share (bad records are skipped exactly when an errors file is named), run."""
    spec = JobSpec(
        command=command,
        model=model,
        store=store,
        options=dict(options or {}),
        add_generation_prompt=add_generation_prompt,
        max_length=max_length,
        base=_base(input_path),
        skip_errors=errors is not None,
    )
    return run_job(input_path, spec, errors=errors, **run)
