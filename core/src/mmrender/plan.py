"""Render plans: a chat template's output as special ids, text runs and images, each tagged with its message.

A family walks a conversation the way its Jinja template does and writes into a :class:`Plan`
(``Renderer.walk``); :func:`emit` then tokenizes every text run in one batched call and splices the images. Text written
back to back is one run even across messages (BPE merges across such joins), so a run only ends at
a structural special token, an image, or the end; a run spanning several messages is encoded once
and each token is owned by the message its first character came from.

Template text versus message text: a family's template may spell control tokens in its own text
(``<tool_call>`` in a tools prompt). Such text goes through :meth:`Plan.markup`, which turns those
spellings into special ops, so every text op holds only text a message or tool definition may
have supplied; how those spell special tokens is the ``special_tokens_in_text`` option (the
renderer's encoder), never the plan.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from . import background
from .errors import ConversationError

if TYPE_CHECKING:
    from .renderer import Renderer
    from .token_buffer import TokenBuffer

SPECIAL, TEXT, MIXED, IMAGE, VIDEO = 0, 1, 2, 3, 4


class TextEncoder(Protocol):
    """What :func:`emit` needs from a tokenizer: batch encoding, and offsets for multi-message runs."""

    def encode_many(self, texts: Sequence[str]) -> Sequence[Sequence[int]]: ...

    def encode_offsets(self, text: str) -> tuple[Sequence[int], Sequence[int]]:
        """Ids of ``text`` and the start character of each id."""
        ...


@attrs.frozen(kw_only=True)
class EmitFacts:
    """What core's emitter needs from a family to turn its plans into ids (``Renderer.emit_facts``).

    ``encoder``: how text runs are tokenized; ``placeholder_id``: the id an image's placeholders are
    written with; ``cached``: template constants (text -> ids) encoded once, never re-tokenized;
    ``forbidden``: the placeholder ids (id -> spelling) text must never produce, which are also the
    renderer's ``placeholder_token_ids``.
    """

    encoder: TextEncoder
    placeholder_id: int
    cached: Mapping[str, Sequence[int]] = attrs.field(factory=dict)
    forbidden: Mapping[int, str] = attrs.field(factory=dict)


class Plan:
    """Ops are ``(kind, payload, owner)``; MIXED runs carry ``[(text, owner), ...]`` pieces instead."""

    __slots__ = ("_owners", "_texts", "ops")

    def __init__(self) -> None:
        self.ops: list[tuple[int, Any, int]] = []
        # The pending run as two parallel lists: appends stay cheap, and the run joins and checks
        # its owners with C-level calls when it ends.
        self._texts: list[str] = []
        self._owners: list[int] = []

    def text(self, text: str, owner: int) -> None:
        if text:
            self._texts.append(text)
            self._owners.append(owner)

    def markup(self, text: str, owner: int, controls: Mapping[str, int | None]) -> None:
        """Template text (never message text): each spelling of a ``controls`` token becomes its id.

        Same ids as tokenizing the text with added tokens recognised, for tokens that tokenize
        as ``text | id | text``; a token mapped to None stays text.
        """
        if not controls:
            self.text(text, owner)
            return
        for piece in _control_splitter(tuple(controls)).split(text):
            tid = controls.get(piece)
            if tid is not None:
                self.special(tid, owner)
            else:
                self.text(piece, owner)

    def special(self, token_id: int, owner: int) -> None:
        if self._texts:
            self._flush()
        self.ops.append((SPECIAL, token_id, owner))

    def image(self, part: Any, owner: int) -> None:
        self._flush()
        self.ops.append((IMAGE, part, owner))

    def video(self, part: Any, owner: int) -> None:
        """A video: at emit time its whole expansion (the family's ``video_expansion_ids``) goes here."""
        self._flush()
        self.ops.append((VIDEO, part, owner))

    def finish(self) -> list[tuple[int, Any, int]]:
        self._flush()
        return self.ops

    def _flush(self) -> None:
        texts, owners = self._texts, self._owners
        if not texts:
            return
        if owners.count(owners[0]) == len(owners):  # one owner
            self.ops.append((TEXT, texts[0] if len(texts) == 1 else "".join(texts), owners[0]))
        else:
            self.ops.append((MIXED, list(zip(texts, owners, strict=True)), -1))
        self._texts = []
        self._owners = []


@functools.lru_cache(maxsize=16)
def _control_splitter(tokens: tuple[str, ...]) -> re.Pattern[str]:
    """A pattern whose ``split`` keeps every token spelling as its own piece (longest first)."""
    return re.compile("(" + "|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True)) + ")")


def _stray(token_name: str, owner: int) -> ConversationError:
    return ConversationError(
        f"text contains the literal placeholder token {token_name}, which would not match any image; "
        "pass images as content parts",
        message_index=owner if owner >= 0 else None,
    )


def emit(
    renderer: Renderer,
    ops: Sequence[tuple[int, Any, int]],
    buf: TokenBuffer,
    encoder: TextEncoder,
    *,
    placeholder_id: int,
    cached: Mapping[str, Sequence[int]] | None = None,
    forbidden: Mapping[int, str] | None = None,
) -> None:
    """Append the plan's ids to ``buf``.

    Every text run not in ``cached`` goes to the tokenizer in one batch; images are prepared (read,
    laid out from the header, hashed, stored) with :meth:`Renderer.prepare_images`. When there are
    both, the batch is tokenized on a worker thread while this one prepares the images: the
    tokenizer, file reads and sha256 all release the GIL. ``forbidden`` maps ids that must never
    come out of text (placeholder tokens) to their names.
    """
    cached = cached or {}
    forbidden = forbidden or {}
    videos = {i: renderer.prepare_video(p) for i, (k, p, _) in enumerate(ops) if k == VIDEO}
    joined = _joined_text(renderer, ops, videos) if videos else {}
    texts = [p for i, (k, p, _) in enumerate(ops) if k == TEXT and p not in cached and i not in joined]
    parts = [p for k, p, _ in ops if k == IMAGE]
    overlap = texts and parts and not renderer.counting  # a header read is too short to hide a thread hand-off
    tokenized = background.submit(functools.partial(encoder.encode_many, texts)) if overlap else None
    prepared = iter(renderer.prepare_images(parts) if parts else ())
    fresh = tokenized.result() if tokenized is not None else encoder.encode_many(texts)
    pos = 0
    ids, owners = buf.ids, buf.owners
    head: list[int] = []  # the start of a video's expansion that tokenized together with the text before it
    for i, (kind, payload, owner) in enumerate(ops):
        if kind == SPECIAL:
            ids.append(payload)
            owners.append(owner)
        elif kind == TEXT:
            if i in joined:
                run, head = _split_joined(encoder, payload, joined[i])
                for tid in forbidden:
                    if tid in run or tid in head:
                        raise _stray(forbidden[tid], owner)
            else:
                run = cached.get(payload)
                if run is None:
                    run = fresh[pos]
                    pos += 1
                    for tid in forbidden:
                        if tid in run:
                            raise _stray(forbidden[tid], owner)
            ids.extend(run)
            owners.extend([owner] * len(run))
        elif kind == IMAGE:
            buf.add_image(next(prepared), placeholder_id, owner)
        elif kind == VIDEO:
            video = videos[i]
            expansion = list(renderer.video_expansion_ids(video.layout))
            if i - 1 in joined:
                expansion = head + expansion[len(encoder.encode_many([joined[i - 1]])[0]) :]
                head = []
            buf.add_video(video, expansion, owner)
        else:
            _emit_mixed(payload, buf, encoder, forbidden)


def _joined_text(renderer: Renderer, ops: Sequence[tuple[int, Any, int]], videos: Mapping[int, Any]) -> dict[int, str]:
    """Text ops that tokenize together with the start of the video after them (``{op index: that start}``):
    a family whose expansion replaces template text (e.g. a leading timestamp with no marker before it)
    says so through ``video_leading_text``, as a processor that expands text before tokenizing does."""
    joined: dict[int, str] = {}
    for i, video in videos.items():
        leading = renderer.video_leading_text(video.layout)
        if leading and i > 0 and ops[i - 1][0] == TEXT and ops[i - 1][2] == ops[i][2]:
            joined[i - 1] = leading
    return joined


def _split_joined(encoder: TextEncoder, text: str, leading: str) -> tuple[list[int], list[int]]:
    """Encode ``text + leading`` once; ids before the video's, and the video's (from the token that
    reaches into ``leading``, so a token spanning the join counts as the video's)."""
    run, starts = encoder.encode_offsets(text + leading)
    cut = len(run)
    for k in range(len(starts)):
        end = starts[k + 1] if k + 1 < len(starts) else len(text) + len(leading)
        if end > len(text):
            cut = k
            break
    return list(run[:cut]), list(run[cut:])


def _emit_mixed(
    pieces: list[tuple[str, int]], buf: TokenBuffer, encoder: TextEncoder, forbidden: Mapping[int, str]
) -> None:
    """A run spanning several messages: one encode; each token goes to the piece its first character is in."""
    run, starts = encoder.encode_offsets("".join(p[0] for p in pieces))
    bounds, owners, end = [], [], 0
    for text, owner in pieces:
        end += len(text)
        bounds.append(end)
        owners.append(owner)
    k = 0
    for tid, start in zip(run, starts, strict=True):
        while k < len(bounds) - 1 and start >= bounds[k]:
            k += 1
        if tid in forbidden:
            raise _stray(forbidden[tid], owners[k])
        buf.ids.append(tid)
        buf.owners.append(owners[k])
