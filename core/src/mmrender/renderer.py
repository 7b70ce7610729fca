"""The renderer base class families extend: option handling, image preparation and token assembly."""

from __future__ import annotations

import abc
import contextlib
import functools
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import attrs

from . import background
from .bridging import (
    BridgeRules,
    BridgeTurn,
    checked_rules,
    generation_prompt_of,
    join_turn,
    new_turns,
    previous_sidecar,
)
from .bundled_tokenizer import BundledTokenizer
from .conversation import Conversation, ImagePart, VideoPart, normalize_conversation
from .errors import ConfigError, ConversationError, ImageSourceError, PluginError, StorageError
from .family import FamilySpec, ModelRoute
from .host import UNBOUND, PluginHost
from .image_headers import read_header
from .images import ImageBytes, load_image
from .layout_engines import params_to_stamp
from .plan import EmitFacts, Plan
from .plan import emit as emit_ops
from .samples import TrainingSample, build_training_sample
from .storage import Store, sha256_hex
from .template_settings import TemplateSpec
from .token_buffer import PreparedImage, PreparedVideo, TokenBuffer
from .trajectory import Trajectory
from .turns import check_bridged, id_tuple, previous_turn
from .types import (
    ImageLayout,
    MultiModalData,
    ParsedResponse,
    ProcessedMMItem,
    RawMMItem,
    RenderedTokens,
)

if TYPE_CHECKING:
    from .training import TrainingSpec
    from .video import VideoLayout
    from .video_probe import LoadedVideo, VideoHeader


@attrs.frozen(kw_only=True)
class RendererOptions:
    """Options every family accepts; families subclass this with their own fields."""

    multimodal_output: Literal["raw", "processed"] = attrs.field(
        default="raw", validator=attrs.validators.in_(("raw", "processed"))
    )
    run_id: str | None = None
    processed_cache_size: int = 64


T = TypeVar("T")


@contextlib.contextmanager
def _located(part: ImagePart | VideoPart | None) -> Iterator[None]:
    """Prefix image and storage errors with the message and part they came from."""
    try:
        yield
    except ImageSourceError as exc:  # unreadable, or a size the layout refuses
        if part is None:
            raise
        raise exc.located(part.message_index, part.part_index) from exc
    except StorageError as exc:
        if part is None:
            raise
        raise exc.located(part.message_index, part.part_index) from exc


def _run_located(fn: Callable[[], T], part: ImagePart | None) -> T:
    with _located(part):
        return fn()


def _check_processed_grid(item: ProcessedMMItem, layout: ImageLayout, image: ImageBytes) -> None:
    """The processor's grid must equal the header-only layout, or placeholders would lie."""
    if item.grid is None:
        raise ConfigError(
            f"processed item for {image.origin} declares no grid (ProcessedMMItem.grid), so it cannot be "
            "checked against the layout; the family's process_image must set it"
        )
    got = [int(v) for v in item.grid]
    if got != list(layout.grid):
        raise ConfigError(
            f"image processor grid {got} differs from the layout grid {list(layout.grid)} ({image.origin})"
        )


#: True while :meth:`Renderer.count_tokens` renders: images are laid out from their headers, never hashed or stored.
_COUNTING: ContextVar[bool] = ContextVar("mmrender_counting", default=False)

#: Images of one render held in memory at once while earlier ones are hashed on worker threads.
PIPELINE_DEPTH = 4

#: Image layouts a renderer remembers: sizes repeat across a dataset, and each hook call costs ~15 µs.
LAYOUT_CACHE_SIZE = 4096


class Renderer(abc.ABC):
    """Renders one model's conversations; a family implements :meth:`walk` and the abstract methods.

    Core owns the render pipeline (:meth:`render_conversation`): check the call's template arguments
    against :attr:`template_spec`, let the family's :meth:`walk` write the conversation into a
    :class:`~mmrender.plan.Plan`, and emit that plan with :attr:`emit_facts`.
    """

    options_class: type[RendererOptions] = RendererOptions
    #: The template arguments the family's template reads (none by default); core checks every call's.
    template_spec: TemplateSpec = TemplateSpec()
    #: How the family's plans become ids; a family that walks sets it (usually in ``__init__``).
    emit_facts: EmitFacts | None = None

    def __new__(cls, *args: Any, **kwargs: Any) -> Renderer:
        """Refuse, like an abstract method, a family with neither a walker nor its own whole render."""
        if cls.walk is Renderer.walk and cls.render_conversation is Renderer.render_conversation:
            raise TypeError(
                f"Can't instantiate {cls.__module__}.{cls.__qualname__}: it does not implement walk(conversation, "
                "settings), which writes a conversation into a mmrender.plan.Plan the way the chat template does "
                "(core checks the template arguments and emits the plan; or override render_conversation whole)"
            )
        return super().__new__(cls)

    def __init__(
        self,
        *,
        family: FamilySpec,
        route: ModelRoute,
        tokenizer: Any,
        store: Store,
        options: RendererOptions,
    ) -> None:
        self.family = family
        self.route = route
        self.model_id = route.model_id
        self._tokenizer = tokenizer
        self.store = store
        self.options = options
        self._processed: OrderedDict[str, ProcessedMMItem] = OrderedDict()
        self._layouts: dict[tuple[int, int], ImageLayout] = {}
        self._layouts_generation = -1
        #: What the renderer asks of the installed plugins; :func:`mmrender.get_renderer` sets it.
        self.plugins: PluginHost = UNBOUND

    @property
    def tokenizer(self) -> Any:
        """The tokenizer: the caller's object, or the family's bundled one as a transformers tokenizer.

        A bundled tokenizer is built as transformers' class only on first access here: rendering reads
        :attr:`text_tokenizer`, so a raw render never imports transformers.
        """
        tok = self._tokenizer
        return tok.transformers_tokenizer() if isinstance(tok, BundledTokenizer) else tok

    @tokenizer.setter
    def tokenizer(self, value: Any) -> None:
        self._tokenizer = value

    @property
    def text_tokenizer(self) -> Any:
        """What rendering encodes text with and looks ids up in: the caller's tokenizer object, or a bundled
        tokenizer's Rust half (:class:`~mmrender.bundled_tokenizer.BundledTokenizer`)."""
        return self._tokenizer

    # -- what families implement -------------------------------------------------------------
    def walk(self, conversation: Conversation, settings: Mapping[str, Any]) -> Plan:
        """The family's turn walker: ``conversation`` as its chat template writes it (system, user, tool and
        assistant turns, the generation prompt), each op owned by its message. ``settings``: this call's
        template arguments, checked against :attr:`template_spec` (each defaults to the option of its name)."""
        raise NotImplementedError(f"{type(self).__qualname__} does not implement walk(conversation, settings)")

    def render_conversation(self, conversation: Conversation) -> RenderedTokens:
        """Render a normalised conversation token-exactly: core checks the template arguments, the family's
        :meth:`walk` plans the render and core emits the plan (a family may still override this whole)."""
        settings = self.template_spec.settings(conversation.template_kwargs, self.options, family=self.family.id)
        buf = TokenBuffer()
        self.emit(self.walk(conversation, settings), buf)
        return buf.result()

    def emit(self, plan: Plan, buf: TokenBuffer) -> None:
        """Append a plan's ids to ``buf`` through core's emitter (one batched tokenizer call, images in order)
        with the family's :attr:`emit_facts`; full renders and bridge tails both come through here."""
        facts = self.emit_facts
        if facts is None:
            raise PluginError(
                f"{type(self).__qualname__} declares no emit_facts: set self.emit_facts = mmrender.plan.EmitFacts("
                "encoder=..., placeholder_id=..., cached=..., forbidden=...) so core can emit its plans"
            )
        emit_ops(
            self,
            plan.finish(),
            buf,
            facts.encoder,
            placeholder_id=facts.placeholder_id,
            cached=facts.cached,
            forbidden=facts.forbidden,
        )

    @abc.abstractmethod
    def compute_layout(self, width: int, height: int) -> ImageLayout:
        """The image layout from its size alone (default answer of the layout hook)."""

    @abc.abstractmethod
    def parse_response(
        self, completion_ids: Sequence[int], *, tools: Sequence[Mapping[str, Any]] | None = None
    ) -> ParsedResponse:
        """Split a completion into content, reasoning and tool calls (``tools`` types argument values)."""

    def bridge_rules(self, **bridge_options: Any) -> BridgeRules:
        """The family's bridge rules for one call (``bridge_options``: the family's keyword arguments to
        ``bridge_to_next_turn``); core's :meth:`bridge_turn` runs them. See :class:`mmrender.bridging.BridgeRules`."""
        raise NotImplementedError(
            f"{type(self).__qualname__} declares no bridge: implement bridge_rules(**options) returning a "
            "mmrender.bridging.BridgeRules (or override bridge_turn(prompt, completion, new_messages, *, tools=None, "
            "previous_multi_modal_data=None, start_index=0) whole)"
        )

    def bridge_turn(
        self,
        prompt: tuple[int, ...],
        completion: tuple[int, ...],
        new_messages: Sequence[Mapping[str, Any]],
        *,
        tools: Sequence[Mapping[str, Any]] | None = None,
        previous_multi_modal_data: MultiModalData | Mapping[str, Any] | None = None,
        start_index: int = 0,
        **bridge_options: Any,
    ) -> RenderedTokens | None:
        """``prompt + completion`` extended with the new messages, or None when unsafe: core's steps around
        the family's :meth:`bridge_rules` (a family written against the older interface may still override
        this method whole; :meth:`bridge_to_next_turn` checks either result)."""
        rules = checked_rules(self.bridge_rules(**bridge_options))
        messages = new_turns(new_messages, start_index=start_index, tools=tools)
        if messages is None:
            return None
        generation_prompt = generation_prompt_of(prompt, rules.generation_prompts)
        if generation_prompt is None:
            return None
        closing = rules.closing(completion, generation_prompt)
        if closing is None:
            return None
        turn = BridgeTurn(
            prompt, completion, closing, messages, tools, start_index, generation_prompt,
            previous_multi_modal_data is not None,
        )  # fmt: skip
        if not rules.accepts(turn):
            return None
        previous = previous_sidecar(previous_multi_modal_data, len(prompt))
        buf = TokenBuffer(offset=turn.offset)
        rules.write_tail(turn, previous, buf)
        return join_turn(prompt, completion + closing, turn.assistant, buf, previous)

    def bridge_to_next_turn(
        self,
        previous: RenderedTokens | Sequence[int],
        previous_completion_ids: Sequence[int],
        new_messages: Sequence[Mapping[str, Any]],
        *,
        tools: Sequence[Mapping[str, Any]] | None = None,
        previous_multi_modal_data: MultiModalData | Mapping[str, Any] | None = None,
        start_index: int = 0,
        **family_options: Any,
    ) -> RenderedTokens | None:
        """Extend the previous ids with new non-assistant messages, or None when that is unsafe.

        ``previous`` is the previous turn's :class:`RenderedTokens` (the easy, safe form) or its ids
        with ``previous_multi_modal_data`` beside them. Core owns this method for every family: the
        family's :meth:`bridge_turn` receives the ids and the sidecar, and a result holding
        placeholder ids outside its sidecar raises ``UnbackedPlaceholderError`` (also when the
        sampler emitted one in the completion). ``start_index`` is the index of the first new
        message in the whole conversation (the sampled assistant message is ``start_index - 1``),
        so ``message_indices`` after the previous prompt match a full render's; the previous
        prompt's ids are -1. Other keyword arguments are the family's bridge options.
        """
        prompt, sidecar, checked = previous_turn(previous, previous_multi_modal_data)
        completion = id_tuple(previous_completion_ids)
        result = self.bridge_turn(
            prompt,
            completion,
            new_messages,
            tools=tools,
            previous_multi_modal_data=sidecar,
            start_index=start_index,
            **family_options,
        )
        if result is None:
            return None
        declared = self.placeholder_token_ids
        return check_bridged(
            result,
            checked | declared,
            len(prompt),
            len(completion),
            vouched=bool(checked) and declared <= checked,
            had_sidecar=sidecar is not None,
        )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A family implements :meth:`bridge_turn`; ``bridge_to_next_turn`` is core's, so no family skips its check."""
        super().__init_subclass__(**kwargs)
        if "bridge_to_next_turn" in cls.__dict__:
            raise TypeError(
                f"{cls.__module__}.{cls.__qualname__} overrides bridge_to_next_turn, which core owns (it checks "
                "every result): implement bridge_rules(**options) (or bridge_turn(prompt, completion, new_messages, *, "
                "tools=None, previous_multi_modal_data=None, start_index=0)) instead"
            )

    @property
    def placeholder_token_ids(self) -> frozenset[int]:
        """Ids this family writes only as image (or video) placeholders (the ``forbidden`` ids of its
        :attr:`emit_facts`), so a pad with no sidecar entry is caught even when the sidecar is empty."""
        facts = self.emit_facts
        return frozenset(facts.forbidden) if facts is not None else frozenset()

    def process_image(self, image: ImageBytes) -> ProcessedMMItem:
        """Processor outputs for processed mode; families with a processor override this."""
        raise ConfigError(f"family {self.family.id!r} has no processed mode; use multimodal_output='raw'")

    # -- the public surface ------------------------------------------------------------------
    def render(
        self,
        messages: Sequence[Any],
        *,
        tools: Sequence[Mapping[str, Any]] | None = None,
        add_generation_prompt: bool = False,
        **template_kwargs: Any,
    ) -> RenderedTokens:
        """Render ``messages`` to exact token ids plus the image sidecar."""
        conv = normalize_conversation(
            messages, tools=tools, add_generation_prompt=add_generation_prompt, template_kwargs=template_kwargs
        )
        return self.render_normalized(conv)

    def check_videos_supported(self, conv: Conversation) -> None:
        """A family without a video layout refuses video parts by name instead of dropping or misreading them."""
        if self.family.video_layout is not None:
            return
        for message in conv.messages:
            for part in message.videos:
                raise ConversationError(
                    f"family {self.family.id!r} does not render videos",
                    message_index=part.message_index,
                    part_index=part.part_index,
                )

    def render_normalized(self, conv: Conversation) -> RenderedTokens:
        """:meth:`render` of an already normalised conversation (the render hook, then the placeholder check)."""
        self.check_videos_supported(conv)
        result = self.plugins.hook.mmrender_render(renderer=self, conversation=conv)
        declared = self.placeholder_token_ids
        result.check_placeholders(declared, what="rendered prompt")
        return result.with_placeholder_ids(declared, checked=True)

    def count_tokens(
        self,
        messages: Sequence[Any],
        tools: Sequence[Mapping[str, Any]] | None = None,
        add_generation_prompt: bool = False,
        **template_kwargs: Any,
    ) -> int:
        """``len(render(...).token_ids)`` from image headers alone: nothing is hashed or stored.

        Why: filtering a dataset by prompt length must not pay for hashing and uploading every image.
        """
        token = _COUNTING.set(True)
        try:
            rendered = self.render(
                messages, tools=tools, add_generation_prompt=add_generation_prompt, **template_kwargs
            )
            return len(rendered.token_ids)
        finally:
            _COUNTING.reset(token)

    @property
    def counting(self) -> bool:
        """True inside :meth:`count_tokens`, where images cost a header read: too little to overlap text with."""
        return _COUNTING.get()

    def _counted(self, part: ImagePart) -> PreparedImage:
        """An image for :meth:`count_tokens`: probed and laid out, with no hash and no stored item."""
        with _located(part):
            header = read_header(part.source, read_uri=self.plugins.read_uri, open_ranges=self.plugins.open_ranges)
            return PreparedImage(mm_hash="", layout=self.image_layout(header.width, header.height), item=None)

    @property
    def training_spec(self) -> TrainingSpec:
        """The family's training declaration (assistant-turn rule, position scheme); families override it."""
        raise ConfigError(f"family {self.family.id!r} declares no training_spec, so it cannot build training samples")

    def build_training_sample(
        self,
        messages: Sequence[Any],
        *,
        tools: Sequence[Mapping[str, Any]] | None = None,
        max_length: int | None = None,
        train_on: str = "assistant",
        **template_kwargs: Any,
    ) -> TrainingSample:
        """A :class:`~mmrender.samples.TrainingSample` of ``messages`` (see docs/training.md)."""
        return build_training_sample(
            self, messages, tools=tools, max_length=max_length, train_on=train_on, **template_kwargs
        )

    def start_trajectory(
        self, messages: Sequence[Any], tools: Sequence[Mapping[str, Any]] | None = None, **template_kwargs: Any
    ) -> Trajectory:
        """Start an RL rollout from ``messages``: sample from ``prompt()``, then ``add_completion`` and
        ``add_messages`` turn by turn, and ``samples()`` for the trainer (see :mod:`mmrender.trajectory`)."""
        return Trajectory(self, messages, tools=tools, **template_kwargs)

    def compute_video_layout(self, header: VideoHeader) -> VideoLayout:
        """A video's layout from its header (families with a video tower override it)."""
        raise ConfigError(f"family {self.family.id!r} does not render videos")

    def video_expansion_ids(self, layout: VideoLayout) -> Sequence[int]:
        """The ids a video's placeholder expands to (the whole expansion, markers included)."""
        raise ConfigError(f"family {self.family.id!r} does not render videos")

    def video_leading_text(self, layout: VideoLayout) -> str | None:
        """Text the expansion starts with that tokenizes together with the text before it (None: a marker
        token always stands between them)."""
        return None

    def process_video(self, video: LoadedVideo, layout: VideoLayout) -> ProcessedMMItem:
        """Processor outputs of one video's sampled frames (processed mode); families with a video processor override it."""
        raise ConfigError(f"family {self.family.id!r} has no processed mode for videos; use multimodal_output='raw'")

    def load_video_part(self, part: VideoPart) -> tuple[LoadedVideo, VideoLayout]:
        """A video part's bytes (a local file: its path) and header-only layout: a video is probed; a frame
        list is laid out from its length, fps and size, and its sampled frames packed into the archive its ref stores."""
        from .video_frames import check_archived, frames_header, pack_frames
        from .video_probe import VideoBytes, load_video

        if part.is_frame_list:
            assert part.fps is not None
            header = frames_header(part.source, part.fps)
            layout = self.compute_video_layout(header)
            data = b"" if _COUNTING.get() else pack_frames(part.source, layout.frame_indices, header)
            return VideoBytes(data=data, header=header, origin=f"<{header.num_frames} frames>"), layout
        video = load_video(part.source, read_uri=self.plugins.read_uri)
        layout = self.compute_video_layout(video.header)
        check_archived(video, layout.frame_indices)  # a stored frame archive holds only the frames it sampled
        return video, layout

    def prepare_video(self, part: VideoPart) -> PreparedVideo:
        """Read and probe (header only, no decoding), lay out, hash and store one video; errors name the part.

        In processed mode nothing is stored: the item is the family's processor output for the sampled frames.
        """
        from .video import store_video

        with _located(part):
            video, layout = self.load_video_part(part)
            if _COUNTING.get():  # count_tokens: the layout is all a length needs; nothing is hashed or stored
                return PreparedVideo(mm_hash="", layout=layout, item=None)
            if self.options.multimodal_output == "processed":  # not cached: a video's pixels can be large
                mm_hash = video.sha256[:32]
                item = self.process_video(video, layout)
                if item.grid is None or [int(v) for v in item.grid] != list(layout.grid):
                    raise ConfigError(
                        f"video processor grid {list(item.grid or ())} differs from the layout grid {list(layout.grid)}"
                    )
                return PreparedVideo(mm_hash=mm_hash, layout=layout, item=item)
            mm_hash, item = store_video(self.store, video, layout)
        return PreparedVideo(mm_hash=mm_hash, layout=layout, item=item)

    def image_layout(self, width: int, height: int) -> ImageLayout:
        """The layout hook's answer for this size, remembered until the set of plugins changes."""
        plugins = self.plugins
        current = plugins.generation()
        if self._layouts_generation != current:
            self._layouts = {}
            self._layouts_generation = current
        layout = self._layouts.get((width, height))
        if layout is None:
            layout = plugins.hook.mmrender_image_layout(renderer=self, width=width, height=height)
            if len(self._layouts) >= LAYOUT_CACHE_SIZE:
                self._layouts = {}
            self._layouts[(width, height)] = layout
        return layout

    def prepare_image(self, part: ImagePart) -> PreparedImage:
        """Read, probe, lay out and hash one image, and store it; errors name the message and part."""
        if _COUNTING.get():
            return self._counted(part)
        with _located(part):
            return self.prepare_loaded(load_image(part.source, read_uri=self.plugins.read_uri), part=part)

    def prepare_images(self, parts: Sequence[ImagePart]) -> list[PreparedImage]:
        """Prepare a render's images in order, hashing on worker threads while the next one is read.

        sha256 releases the GIL, so image ``i`` is hashed on a worker while this thread reads and
        probes image ``i + 1``; each is then stored in order. At most ``PIPELINE_DEPTH`` images are
        held in memory at once. Errors still come in stream order for reading and layout.
        """
        if _COUNTING.get():
            return [self._counted(part) for part in parts]
        cls = type(self)
        overridden = (
            cls.prepare_image is not Renderer.prepare_image or cls.prepare_loaded is not Renderer.prepare_loaded
        )
        if len(parts) < 2 or overridden:  # a family that customises one image keeps its hook on every image
            return [self.prepare_image(part) for part in parts]
        done: list[PreparedImage] = []
        window: deque[tuple[ImagePart, ImageBytes, ImageLayout, Future[str]]] = deque()
        read_uri = self.plugins.read_uri
        for part in parts:
            with _located(part):
                image = load_image(part.source, read_uri=read_uri)
                layout = self.image_layout(image.width, image.height)
            window.append((part, image, layout, background.submit(functools.partial(sha256_hex, image.data))))
            if len(window) >= PIPELINE_DEPTH:
                done.append(self._finish(*window.popleft()))
        done.extend(self._finish(*item) for item in list(window))
        return done

    def _finish(self, part: ImagePart, image: ImageBytes, layout: ImageLayout, digest: Future[str]) -> PreparedImage:
        with _located(part):
            return self._prepare(image, layout, digest.result(), part)

    def prepare_loaded(self, image: ImageBytes, *, part: ImagePart | None = None) -> PreparedImage:
        """Lay out, hash and store loaded bytes; a store with ``background_puts`` writes on a worker thread."""
        layout = self.image_layout(image.width, image.height)
        return self._prepare(image, layout, sha256_hex(image.data), part)

    def _prepare(self, image: ImageBytes, layout: ImageLayout, digest: str, part: ImagePart | None) -> PreparedImage:
        mm_hash = digest[:32]  # hashed once: mm_hash is its prefix, the asset name all of it
        if self.options.multimodal_output == "processed":
            item: Any = self._processed_item(mm_hash, image)
            _check_processed_grid(item, layout, image)
            return PreparedImage(mm_hash=mm_hash, layout=layout, item=item)
        store_it = functools.partial(self._raw_item, image, layout, digest)
        if self.store.background_puts:
            item = background.submit(functools.partial(_run_located, store_it, part))
        else:
            item = store_it()
        return PreparedImage(mm_hash=mm_hash, layout=layout, item=item)

    def _raw_item(self, image: ImageBytes, layout: ImageLayout, digest: str) -> RawMMItem:
        defaults = self.plugins.default_fingerprints(layout.family)
        layout_params = params_to_stamp(layout, defaults)  # before the put: a bad override stores nothing
        asset = self.store.put(image.data, mime=image.mime, sha256=digest)
        return RawMMItem(
            modality=layout.modality,
            family=layout.family,
            layout_fingerprint=layout.fingerprint,
            payload=dict(layout.payload),
            vllm_modality=layout.vllm_modality,
            raw_image_id=asset.raw_image_id,
            raw_uri=asset.raw_uri,
            layout_params=layout_params,
        )

    def _processed_item(self, mm_hash: str, image: ImageBytes) -> ProcessedMMItem:
        return self._remember_processed(mm_hash, lambda: self.process_image(image))

    def _remember_processed(self, key: str, compute: Callable[[], ProcessedMMItem]) -> ProcessedMMItem:
        """Processor outputs by content hash: a dataset repeats images, the processor is slow."""
        cached = self._processed.get(key)
        if cached is None:
            cached = compute()
            self._processed[key] = cached
            while len(self._processed) > self.options.processed_cache_size:
                self._processed.popitem(last=False)
        else:
            self._processed.move_to_end(key)
        return cached

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.model_id} family={self.family.id} store={self.store.url}>"
