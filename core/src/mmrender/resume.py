"""``--resume``: finished chunks kept in a folder beside the output, keyed by the job's arguments.

The folder ``.<output name>.mmrender-resume/`` holds ``manifest.json`` (the arguments, the input's size
and modification time, the chunk size) and one file per finished chunk, written to a temporary name
and renamed, so a chunk file is complete or absent whatever kills the job. A rerun with the same
arguments reads those chunks back instead of rendering them; different arguments are refused rather
than mixed. The folder is removed once the output is written.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import attrs

from .chunk_worker import ChunkResult, JobSpec
from .datasets import input_fingerprint, is_remote
from .errors import MMRenderError

#: Bumped when the chunk file layout changes, so an old folder is refused, not misread.
FORMAT = 1


def _absolute(path: str) -> str:
    return path if path == "-" or is_remote(path) else str(Path(path).resolve())


class ResumeState:
    """The resume folder of one output; :meth:`open` creates it or checks it belongs to this job."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.reused = 0

    @classmethod
    def open(cls, output: str, input_path: str, spec: JobSpec, chunk_size: int) -> ResumeState:
        if output == "-" or is_remote(output):
            raise MMRenderError("--resume needs a local output file (-o PATH), where finished chunks are kept")
        if input_path == "-":
            raise MMRenderError("--resume cannot resume stdin; give the dataset as a file")
        out = Path(output).resolve()
        folder = out.parent / f".{out.name}.mmrender-resume"
        manifest = {
            "format": FORMAT,
            "input": _absolute(input_path),
            "input_file": input_fingerprint(input_path),
            "output": str(out),
            "chunk_size": chunk_size,
            "job": {k: v for k, v in attrs.asdict(spec).items()},
        }
        manifest = json.loads(json.dumps(manifest))  # the form it has when read back
        path = folder / "manifest.json"
        if path.exists():
            kept = json.loads(path.read_text(encoding="utf-8"))
            if kept != manifest:
                changed = sorted(_differences(kept, manifest))
                raise MMRenderError(
                    f"--resume: {folder} was made by a job with other arguments or another input "
                    f"({', '.join(changed)} changed); delete that folder to start afresh"
                )
        else:
            folder.mkdir(parents=True, exist_ok=True)
            _write_atomically(path, json.dumps(manifest, indent=1, sort_keys=True))
        for stale in folder.glob(".*.tmp"):  # a chunk being written when a previous run was killed
            stale.unlink(missing_ok=True)
        return cls(folder)

    def _chunk_path(self, index: int) -> Path:
        return self.folder / f"{index:08d}.jsonl"

    def done(self, index: int) -> bool:
        return self._chunk_path(index).exists()

    def save(self, result: ChunkResult) -> None:
        """Keep a finished chunk: a header line (counts), its error rows, then its rows."""
        head = {"records": result.records, "tokens": result.tokens, "images": result.images, "videos": result.videos}
        head["errors"] = len(result.errors)
        text = json.dumps(head) + "\n" + "".join(result.errors) + "".join(result.lines)
        _write_atomically(self._chunk_path(result.index), text)

    def load(self, index: int) -> ChunkResult:
        lines = self._chunk_path(index).read_text(encoding="utf-8").splitlines(keepends=True)
        head = json.loads(lines[0])
        n = int(head["errors"])
        self.reused += 1
        return ChunkResult(
            index,
            lines[1 + n :],
            lines[1 : 1 + n],
            records=head["records"],
            tokens=head["tokens"],
            images=head["images"],
            videos=head.get("videos", 0),
        )

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _differences(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out.extend(_differences(a, b, f"{prefix}{key}."))
        elif a != b:
            out.append(f"{prefix}{key}")
    return out


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
