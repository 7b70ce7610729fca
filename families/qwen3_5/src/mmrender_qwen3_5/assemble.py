"""Turn template output (text, control tokens, images) into token ids in as few tokenizer calls as possible.

The renderer writes what the template writes, but as a stream of pieces: text, control tokens
(by id, looked up from the tokenizer) and images. Adjacent text is joined into one run before
encoding, whichever message it came from, because BPE merges across such joins (``\\n`` +
``\\n`` is one token); every run is then encoded in one batched call. Text is encoded with the
tokenizer's own added-token matching, exactly as ``tokenizer.encode`` treats the template's
output string, so literal control-token text inside content gets the same ids the oracle gives.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import attrs
from mmrender import PreparedImage, TokenBuffer
from mmrender.errors import ConversationError


@attrs.define
class _Run:
    """Joined text plus where each contributing message's text starts in it."""

    parts: list[tuple[int, int]]  # (start offset, message index)
    chunks: list[str]

    @property
    def text(self) -> str:
        return "".join(self.chunks)


@attrs.frozen
class _Special:
    token_id: int
    owner: int


@attrs.frozen
class _Image:
    image: PreparedImage
    owner: int


class Pieces:
    """An ordered stream of template output, each piece tagged with the message index that owns it."""

    def __init__(self) -> None:
        self.items: list[_Run | _Special | _Image] = []
        self._length = 0  # chars in the current run

    def text(self, text: str, owner: int) -> None:
        if not text:
            return
        last = self.items[-1] if self.items else None
        if isinstance(last, _Run):
            if last.parts[-1][1] != owner:
                last.parts.append((self._length, owner))
            last.chunks.append(text)
        else:
            last = _Run([(0, owner)], [text])
            self.items.append(last)
            self._length = 0
        self._length += len(text)

    def special(self, token_id: int, owner: int) -> None:
        self.items.append(_Special(token_id, owner))

    def image(self, image: PreparedImage, owner: int) -> None:
        self.items.append(_Image(image, owner))


def encode_runs(
    tokenizer: Any, texts: Sequence[str], *, offsets: bool = False
) -> list[tuple[list[int], list[tuple[int, int]] | None]]:
    """Ids (and char offsets if asked and available) per text, in one batched call for fast tokenizers.

    ``encode_batch_fast`` skips offset tracking, which is most of the cost beyond BPE itself.
    """
    if not texts:
        return []
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        if offsets:
            return [(enc.ids, enc.offsets) for enc in backend.encode_batch(list(texts), add_special_tokens=False)]
        fast = getattr(backend, "encode_batch_fast", backend.encode_batch)
        return [(enc.ids, None) for enc in fast(list(texts), add_special_tokens=False)]
    return [(list(tokenizer.encode(text, add_special_tokens=False)), None) for text in texts]


def _owners(run: _Run, ids: list[int], offsets: list[tuple[int, int]] | None) -> Iterable[tuple[int, int]]:
    """(id, message index) pairs: a token belongs to the message its first character came from."""
    if len(run.parts) == 1 or offsets is None:
        owner = run.parts[0][1]
        return ((tid, owner) for tid in ids)
    starts = [start for start, _ in run.parts]
    out = []
    part = 0
    for tid, (begin, _end) in zip(ids, offsets, strict=True):
        while part + 1 < len(starts) and begin >= starts[part + 1]:
            part += 1
        out.append((tid, run.parts[part][1]))
    return out


def assemble(
    pieces: Pieces,
    tokenizer: Any,
    *,
    image_pad_id: int,
    forbidden: dict[int, str],
    offset: int = 0,
) -> TokenBuffer:
    """Encode every run, splice control tokens and image placeholders, and return the filled buffer.

    ``forbidden`` maps ids that must not come out of text (the image/video pad tokens: a literal
    one in content would desynchronise placeholders and images) to their names.
    """
    runs = [item for item in pieces.items if isinstance(item, _Run)]
    single = [run.text for run in runs if len(run.parts) == 1]
    mixed = [run.text for run in runs if len(run.parts) > 1]  # rare: text of two messages touching
    by_kind = iter(encode_runs(tokenizer, single)), iter(encode_runs(tokenizer, mixed, offsets=True))
    encoded = (next(by_kind[len(run.parts) > 1]) for run in runs)
    buf = TokenBuffer(offset)
    for item in pieces.items:
        if isinstance(item, _Special):
            buf.add((item.token_id,), item.owner)
        elif isinstance(item, _Image):
            buf.add_image(item.image, image_pad_id, item.owner)
        else:
            ids, offsets = next(encoded)
            bad = next((tid for tid in ids if tid in forbidden), None)
            if bad is not None:
                owner = next(o for t, o in _owners(item, ids, offsets) if t == bad)
                raise ConversationError(
                    f"text contains the literal {forbidden[bad]} token, which would not match any image",
                    message_index=owner if owner >= 0 else None,
                )
            if len(item.parts) == 1:
                buf.add(ids, item.parts[0][1])
            else:
                for tid, owner in _owners(item, ids, offsets):
                    buf.add((tid,), owner)
    return buf
