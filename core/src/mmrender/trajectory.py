"""RL rollouts turn by turn: sample from a prompt, extend it through the family's bridge, and hand the
trainer one :class:`~mmrender.samples.TrainingSample` per segment with the loss on sampled ids only.

A bridge keeps every sampled id byte for byte, so a whole rollout stays one sequence as long as the
family's bridge accepts each turn. When it refuses (returns None: a full render of the longer
conversation would not start with the ids the model saw), the current segment ends after its last
completion and a new one starts from a full re-render of the conversation so far. The re-render writes
earlier assistant turns from their parsed form (``parse_response``), not as sampled, so those ids get
no loss there: each sampled id is trained on exactly once, in the segment that holds it as sampled.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from .errors import MMRenderError, UnbackedPlaceholderError
from .turns import id_tuple
from .types import ParsedResponse, RenderedTokens

if TYPE_CHECKING:
    from .renderer import Renderer
    from .samples import TrainingSample


#: Bridge parameters the trajectory sets itself, never taken from the template options.
_BRIDGE_OWN = frozenset(
    {"previous", "previous_completion_ids", "new_messages", "tools", "start_index", "previous_multi_modal_data"}
)


class TrajectoryError(MMRenderError, ValueError):
    """A trajectory was given inconsistent input (logprobs that do not match the completion, …)."""


class TrajectoryStateError(TrajectoryError):
    """A trajectory method was called out of order (a second completion before new messages, …)."""


def assistant_message(parsed: ParsedResponse) -> dict[str, Any]:
    """The assistant message a full re-render writes for a completion: its parsed content, reasoning and
    tool calls in the OpenAI shape every family renders."""
    message: dict[str, Any] = {"role": "assistant", "content": parsed.content}
    if parsed.reasoning_content is not None:
        message["reasoning_content"] = parsed.reasoning_content
    if parsed.tool_calls:
        message["tool_calls"] = [
            {
                **({"id": call.id} if call.id is not None else {}),
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in parsed.tool_calls
        ]
    return message


@attrs.frozen
class _Turn:
    """One sampled completion: its ids, the sampler's logprobs (or None) and where it starts in its segment."""

    ids: tuple[int, ...]
    logprobs: tuple[float, ...] | None
    start: int


@attrs.define
class _Segment:
    """One piece of the rollout kept as a single id sequence: its current prompt and the turns sampled in it.

    ``prompt`` ends with a generation prompt; its ``message_indices`` number every id as a full render
    would (a bridge result's -1 history is replaced by the indices the segment already had).
    ``closed`` is the segment's ids up to the end of its last completion, once one was bridged past.
    """

    prompt: RenderedTokens
    turns: list[_Turn] = attrs.field(factory=list)
    closed: RenderedTokens | None = None


class Trajectory:
    """A multi-turn rollout: :meth:`prompt` to sample from, :meth:`add_completion` with what the sampler
    returned, :meth:`add_messages` with the environment's reply, and :meth:`samples` for the trainer.

    Build it with :meth:`Renderer.start_trajectory`. Methods that fail leave the trajectory unchanged.
    """

    def __init__(
        self,
        renderer: Renderer,
        messages: Sequence[Any],
        *,
        tools: Sequence[Mapping[str, Any]] | None = None,
        **template_kwargs: Any,
    ) -> None:
        self.renderer = renderer
        self.tools = tools
        self.template_kwargs = dict(template_kwargs)
        self._messages: list[Any] = list(messages)
        self._segments = [_Segment(self._full_render())]
        self._pending: _Turn | None = None
        self._with_logprobs: bool | None = None

    # -- the rollout -------------------------------------------------------------------------
    @property
    def messages(self) -> tuple[Any, ...]:
        """The conversation so far: the given messages and an assistant message parsed from each completion."""
        return tuple(self._messages)

    @property
    def num_segments(self) -> int:
        """Segments started so far (one more each time a bridge refused)."""
        return len(self._segments)

    def prompt(self) -> RenderedTokens:
        """The ids (and image sidecar) to sample the next completion from."""
        if self._pending is not None:
            raise TrajectoryStateError(
                "prompt(): a completion was already added for this prompt; add the next messages "
                "(add_messages) to get the next prompt"
            )
        return self._segments[-1].prompt

    def add_completion(self, completion_ids: Sequence[int], logprobs: Sequence[float] | None = None) -> None:
        """Record what the sampler returned for :meth:`prompt`; ``logprobs`` has one value per id."""
        if self._pending is not None:
            raise TrajectoryStateError(
                "add_completion() called twice for one prompt: call add_messages() with the environment's "
                "reply before adding the next completion"
            )
        ids = id_tuple(completion_ids)
        values = None if logprobs is None else tuple(float(v) for v in logprobs)
        turn = len(self._messages)  # the message index the assistant reply will have
        if values is not None and len(values) != len(ids):
            raise TrajectoryError(
                f"completion for message {turn} has {len(ids)} ids but {len(values)} logprobs; "
                "pass one logprob per sampled id"
            )
        if self._with_logprobs is not None and self._with_logprobs != (values is not None):
            given = "with" if self._with_logprobs else "without"
            raise TrajectoryError(
                f"completion for message {turn}: earlier completions were added {given} logprobs; give logprobs "
                "for every completion or for none (a missing value would read as probability 1)"
            )
        placeholders = self.renderer.placeholder_token_ids
        for position, token in enumerate(ids):
            if token in placeholders:
                raise UnbackedPlaceholderError(
                    f"the completion for message {turn} holds image-placeholder id {token} at completion "
                    f"position {position}: the sampler emitted it, and no image backs it (drop or mask this sample)",
                    position=len(self._segments[-1].prompt.token_ids) + position,
                    token_id=token,
                )
        self._with_logprobs = values is not None
        self._pending = _Turn(ids, values, len(self._segments[-1].prompt.token_ids))

    def add_messages(self, new_messages: Sequence[Any]) -> RenderedTokens:
        """Append the environment's reply (user/tool messages) after the last completion; returns the next
        prompt. Bridged in place when the family allows it, else a new segment starts from a full re-render."""
        turn = self._pending
        if turn is None:
            what = "twice in a row" if any(s.turns for s in self._segments) else "before any completion"
            raise TrajectoryStateError(
                f"add_messages() called {what}: add the sampler's completion (add_completion) for the "
                "current prompt first"
            )
        if isinstance(new_messages, str | bytes | Mapping) or not isinstance(new_messages, Sequence):
            raise TrajectoryError("add_messages() takes a list of messages")
        segment = self._segments[-1]
        assistant = assistant_message(self.renderer.parse_response(turn.ids, tools=self.tools))
        start_index = len(self._messages) + 1
        bridged = self.renderer.bridge_to_next_turn(
            segment.prompt,
            turn.ids,
            list(new_messages),
            tools=self.tools,
            start_index=start_index,
            **self._bridge_kwargs(),
        )
        history = [*self._messages, assistant, *new_messages]
        if bridged is None:
            following = _Segment(self._full_render(history))
            segment.closed = self._through(segment.prompt, turn)
            segment.turns.append(turn)
            self._segments.append(following)
        else:
            closed = self._through(segment.prompt, turn)
            if bridged.token_ids[: len(closed.token_ids)] != closed.token_ids:
                raise TrajectoryError(
                    f"{self.renderer.family.id}'s bridge_to_next_turn changed the previous prompt or the "
                    f"completion for message {start_index - 1}; a bridge must keep them byte for byte"
                )
            segment.prompt = self._numbered(segment.prompt, bridged, start_index - 1)
            segment.closed = closed
            segment.turns.append(turn)
        self._messages = history
        self._pending = None
        return self._segments[-1].prompt

    # -- what the trainer gets ------------------------------------------------------------------
    def samples(self) -> list[TrainingSample]:
        """One sample per segment that holds a completion: its ids up to the end of its last completion,
        ``loss_mask`` 1 exactly on sampled ids, ``logprobs`` aligned (0.0 elsewhere) when they were given."""
        from .samples import sample_from_rendered

        pieces = []
        for segment in self._segments:
            turns = list(segment.turns)
            rendered = segment.closed
            if segment is self._segments[-1] and self._pending is not None:
                turns.append(self._pending)
                rendered = self._through(segment.prompt, self._pending)
            if rendered is not None:
                pieces.append((rendered, turns))
        out = []
        for index, (rendered, turns) in enumerate(pieces):
            n = len(rendered.token_ids)
            mask = [0] * n
            logprobs = [0.0] * n if self._with_logprobs else None
            for turn in turns:
                end = turn.start + len(turn.ids)
                mask[turn.start : end] = [1] * len(turn.ids)
                if logprobs is not None and turn.logprobs is not None:
                    logprobs[turn.start : end] = turn.logprobs
            out.append(
                sample_from_rendered(
                    self.renderer, rendered, mask, logprobs=logprobs, segment=index, num_segments=len(pieces)
                )
            )
        return out

    # -- helpers -------------------------------------------------------------------------------
    def _full_render(self, messages: Sequence[Any] | None = None) -> RenderedTokens:
        return self.renderer.render(
            self._messages if messages is None else messages,
            tools=self.tools,
            add_generation_prompt=True,
            **self.template_kwargs,
        )

    def _bridge_kwargs(self) -> dict[str, Any]:
        """The template options the family's bridge (``bridge_rules``, or an overridden ``bridge_turn``) also takes
        (e.g. ``add_vision_id``), so bridged ids follow the same options as the renders."""
        renderer = self.renderer
        accepted = {
            *inspect.signature(renderer.bridge_rules).parameters,
            *inspect.signature(renderer.bridge_turn).parameters,
        }
        return {k: v for k, v in self.template_kwargs.items() if k in accepted and k not in _BRIDGE_OWN}

    def _through(self, prompt: RenderedTokens, turn: _Turn) -> RenderedTokens:
        """``prompt`` + the completion as sampled, numbered as the next assistant message."""
        assistant = len(self._messages)
        return RenderedTokens.trusted(
            prompt.token_ids + turn.ids,
            _opened(prompt.message_indices, assistant) + (assistant,) * len(turn.ids),
            prompt.multi_modal_data,
            prompt.placeholder_ids,
            placeholders_checked=prompt.placeholders_checked,
        )

    @staticmethod
    def _numbered(previous: RenderedTokens, bridged: RenderedTokens, assistant: int) -> RenderedTokens:
        """``bridged`` with the previous prompt's own message indices in place of the bridge's -1s."""
        n = len(previous.token_ids)
        return RenderedTokens.trusted(
            bridged.token_ids,
            _opened(previous.message_indices, assistant) + bridged.message_indices[n:],
            bridged.multi_modal_data,
            bridged.placeholder_ids,
            placeholders_checked=bridged.placeholders_checked,
        )


def _opened(indices: tuple[int, ...], assistant: int) -> tuple[int, ...]:
    """A prompt's message indices once ``assistant`` answered it: its generation prompt (the trailing
    scaffold, -1) becomes that message's header, as a full render numbers it."""
    k = len(indices)
    while k and indices[k - 1] == -1:
        k -= 1
    if k == 0:
        return indices
    return indices[:k] + (assistant,) * (len(indices) - k)
