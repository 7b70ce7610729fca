"""Dataset files in and out: JSONL or Parquet (by extension), local paths or fsspec URLs, ``-`` for stdio.

Records are read in fixed chunks so a job streams: memory holds a few chunks, never the dataset.
A chunk carries raw JSONL lines or an Arrow table slice; workers decode them, so the reading process
stays light. Output goes to a temporary file that becomes the output only when the job succeeds.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import attrs

from .errors import MMRenderError
from .storage import scheme_of

#: Records per chunk: the unit of work a worker renders, of ordering and of ``--resume``.
CHUNK_SIZE = 64


@attrs.frozen
class Chunk:
    """``records`` consecutive records starting at 0-based ``start``.

    ``kind`` says what ``payload`` holds: ``"lines"`` (``(line number, text)`` pairs of a JSONL file),
    ``"arrow"`` (a ``pyarrow.Table`` slice of a Parquet file) or ``"objects"`` (decoded records).
    """

    index: int
    start: int
    kind: str
    payload: Any = attrs.field(repr=False)
    source: str

    @property
    def records(self) -> int:
        return self.payload.num_rows if self.kind == "arrow" else len(self.payload)


def is_remote(path: str) -> bool:
    return path != "-" and scheme_of(path) != "file"


def is_parquet(path: str) -> bool:
    return path.lower().endswith((".parquet", ".pq"))


def _filesystem(url: str) -> tuple[Any, str]:
    """``fsspec.url_to_fs`` with a typed error when fsspec (or the scheme's implementation) is missing."""
    try:
        from fsspec.core import url_to_fs
    except ImportError as exc:  # pragma: no cover - fsspec comes with mmrender-storage
        raise MMRenderError(
            f"{url}: reading or writing URLs needs fsspec: pip install 'mmrender-core[datasets]'"
        ) from exc
    try:
        return url_to_fs(url)
    except ImportError as exc:
        raise MMRenderError(f"{url}: the fsspec implementation for this scheme is not installed ({exc})") from exc


def _pyarrow_parquet() -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise MMRenderError("Parquet datasets need pyarrow: pip install 'mmrender-core[datasets]'") from exc
    return pq


def open_input(path: str) -> IO[bytes]:
    """The dataset's bytes: stdin for ``-``, a local file, or an fsspec URL; a missing file is a one-line error."""
    if path == "-":
        return sys.stdin.buffer
    try:
        if is_remote(path):
            fs, inner = _filesystem(path)
            return fs.open(inner, "rb")
        return open(path, "rb")
    except FileNotFoundError as exc:
        raise MMRenderError(f"{path}: no such dataset file") from exc
    except MMRenderError:
        raise
    except OSError as exc:
        raise MMRenderError(f"{path}: cannot open: {exc}") from exc


def input_fingerprint(path: str) -> dict[str, Any]:
    """Size and modification time (or ETag) of the input, so ``--resume`` refuses a changed dataset."""
    if path == "-":
        return {}
    if not is_remote(path):
        info = os.stat(path)
        return {"size": info.st_size, "mtime_ns": info.st_mtime_ns}
    fs, inner = _filesystem(path)
    info = fs.info(inner)
    return {"size": info.get("size"), "etag": info.get("ETag") or info.get("etag") or info.get("mtime")}


def count_records(path: str) -> int | None:
    """The number of records, when it is cheap to know (a local file, a Parquet footer): for an ETA."""
    if path == "-" or path.endswith(".json") or (is_remote(path) and not is_parquet(path)):
        return None
    with open_input(path) as fh:
        if is_parquet(path):
            return int(_pyarrow_parquet().ParquetFile(fh).metadata.num_rows)
        count, last = 0, b"\n"
        for block in iter(lambda: fh.read(1 << 20), b""):
            count += block.count(b"\n")
            last = block[-1:]
        return count + (last != b"\n")  # blank lines make this an upper bound; fine for an ETA


def read_chunks(path: str, chunk_size: int = CHUNK_SIZE) -> Iterator[Chunk]:
    """Chunks of the dataset at ``path`` in order: ``.json`` (one conversation), ``.parquet``, else JSONL."""
    with open_input(path) as fh:
        if is_parquet(path):
            yield from _parquet_chunks(fh, path, chunk_size)
            return
        if path.endswith(".json"):
            yield Chunk(0, 0, "objects", [(path, json.loads(fh.read()))], path)
            return
        yield from _jsonl_chunks(fh, path, chunk_size)


def _jsonl_chunks(fh: IO[bytes], path: str, chunk_size: int) -> Iterator[Chunk]:
    text = io.TextIOWrapper(fh, encoding="utf-8")
    lines = iter(enumerate(text, 1))
    first = next(((n, line) for n, line in lines if line.strip()), None)
    if first is None:
        return
    if path == "-" and first[1].lstrip().startswith("["):  # stdin holding one conversation (a list of messages)
        rest = [line for _, line in lines]
        whole = first[1] + "".join(rest)
        try:
            yield Chunk(0, 0, "objects", [(path, json.loads(whole))], path)
            return
        except json.JSONDecodeError:
            lines = iter(enumerate([first[1], *rest], first[0]))
            first = next(lines)
    index, start, batch = 0, 0, [first]
    for number, line in lines:
        if not line.strip():
            continue
        if len(batch) >= chunk_size:
            yield Chunk(index, start, "lines", batch, path)
            index, start, batch = index + 1, start + len(batch), []
        batch.append((number, line))
    yield Chunk(index, start, "lines", batch, path)


def _parquet_chunks(fh: IO[bytes], path: str, chunk_size: int) -> Iterator[Chunk]:
    import pyarrow as pa

    pq = _pyarrow_parquet()
    try:
        parquet = pq.ParquetFile(fh)
    except (pa.ArrowInvalid, OSError) as exc:
        raise MMRenderError(f"{path}: not a readable Parquet file: {exc}") from exc
    start = 0
    for index, batch in enumerate(parquet.iter_batches(batch_size=chunk_size)):
        yield Chunk(index, start, "arrow", pa.Table.from_batches([batch]), path)
        start += batch.num_rows


def chunk_records(chunk: Chunk) -> Iterator[tuple[int, str, Any, str | None]]:
    """``(index, label, raw record or None, JSON text to decode or None)`` for each record of ``chunk``."""
    if chunk.kind == "lines":
        for offset, (number, line) in enumerate(chunk.payload):
            index = chunk.start + offset
            yield index, f"{chunk.source}:{number} (record {index + 1})", None, line
    elif chunk.kind == "arrow":
        for offset, row in enumerate(chunk.payload.to_pylist()):
            index = chunk.start + offset
            yield index, f"{chunk.source} (record {index + 1})", row, None
    else:
        for offset, (label, record) in enumerate(chunk.payload):
            yield chunk.start + offset, label, record, None


def _arrow_value(value: Any) -> Any:
    """Mappings (sidecars, refs) become JSON strings: their keys vary per row, which Arrow structs cannot."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else value


class RowSink:
    """Rows written to a temporary file that :meth:`commit` turns into ``path`` (stdout: written as they come).

    Local outputs get a ``.mmrender-*.part`` file beside them, renamed at the end; a URL output is
    written locally and uploaded in one put, so a reader never sees a partial object.
    """

    def __init__(self, path: str, *, error_rows: bool = False) -> None:
        self.path = path
        self.parquet = is_parquet(path)
        self.error_rows = error_rows
        self._writer: Any = None
        self._closed = False
        if path == "-":
            self.tmp: str | None = None
            self._fh: IO[str] | None = sys.stdout
            return
        if is_remote(path):
            fd, self.tmp = tempfile.mkstemp(prefix=".mmrender-", suffix=".part")
            os.close(fd)
        else:
            out_dir = Path(path).resolve().parent
            out_dir.mkdir(parents=True, exist_ok=True)
            self.tmp = _new_part_path(out_dir, ".parquet.part" if self.parquet else ".jsonl.part")
        self._fh = None if self.parquet else open(self.tmp, "w", encoding="utf-8")  # noqa: SIM115

    def write_lines(self, lines: Sequence[str]) -> None:
        """Append rows given as JSON text lines (each ending in a newline)."""
        if not lines:
            return
        if not self.parquet:
            assert self._fh is not None
            self._fh.writelines(lines)
            return
        import pyarrow as pa

        rows = [{k: _arrow_value(v) for k, v in json.loads(line).items()} for line in lines]
        self._string_ids(rows)
        try:
            if self._writer is None:
                table = pa.Table.from_pylist(rows, schema=_error_schema() if self.error_rows else None)
                self._writer = _pyarrow_parquet().ParquetWriter(self.tmp, table.schema)
            else:
                table = pa.Table.from_pylist(rows, schema=self._writer.schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise MMRenderError(f"{self.path}: rows do not fit one Parquet schema (mixed id types?): {exc}") from exc
        self._writer.write_table(table)

    def _string_ids(self, rows: list[dict[str, Any]]) -> None:
        """Records without an ``id`` are numbered; among string ids that number is written as a string.

        Why: an Arrow column has one type, and a dataset where most records carry string ids must not
        fail on the few that do not.
        """
        import pyarrow as pa

        schema = self._writer.schema if self._writer is not None else None
        if self.error_rows:  # ids of skipped records may be missing anywhere: one string column
            for row in rows:
                if row.get("id") is not None:
                    row["id"] = str(row["id"])
            return
        strings = (
            pa.types.is_string(schema.field("id").type)
            if schema is not None and "id" in schema.names
            else any(isinstance(r.get("id"), str) for r in rows)
        )
        if strings:
            for row in rows:
                if isinstance(row.get("id"), int):
                    row["id"] = str(row["id"])

    def commit(self) -> None:
        """Make the output appear (rename or upload); an empty Parquet output still gets a valid file."""
        self._close()
        if self.tmp is None:
            return
        if self.parquet and self._writer is None:
            import pyarrow as pa

            _pyarrow_parquet().write_table(pa.table({}), self.tmp)
        if is_remote(self.path):
            fs, inner = _filesystem(self.path)
            try:
                fs.put_file(self.tmp, inner)
            finally:
                Path(self.tmp).unlink(missing_ok=True)
        else:
            os.replace(self.tmp, self.path)

    def discard(self) -> None:
        """Remove the temporary file: a failed or interrupted job leaves no output behind."""
        self._close()
        if self.tmp is not None:
            Path(self.tmp).unlink(missing_ok=True)

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._writer is not None:
            self._writer.close()
        if self._fh is sys.stdout:
            sys.stdout.flush()
        elif self._fh is not None:
            self._fh.close()


def _error_schema() -> Any:
    """The ``--errors`` Parquet columns, fixed: a first chunk of id-less errors must not make ``id`` a null column."""
    import pyarrow as pa

    return pa.schema(
        [
            ("index", pa.int64()),
            ("id", pa.string()),
            ("label", pa.string()),
            ("error", pa.string()),
            ("message", pa.string()),
        ]
    )


def _new_part_path(out_dir: Path, suffix: str) -> str:
    """A new ``.mmrender-*`` part file next to the output, created 0666 so the umask sets its mode.

    Why not ``tempfile.mkstemp``: it creates 0600 whatever the umask, and the rename keeps that mode.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        tmp = str(out_dir / f".mmrender-{secrets.token_hex(8)}{suffix}")
        try:
            os.close(os.open(tmp, flags, 0o666))
            return tmp
        except FileExistsError:
            continue
