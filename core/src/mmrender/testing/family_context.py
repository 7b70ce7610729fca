"""What the family checks share: the renderer under test, generated images and the conversations they render.

Everything is built lazily and once, so each check costs only what it adds; the context owns a
temporary directory (the default store, saved tokenizers) that :meth:`close` removes.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import attrs

from ..dispatch import open_store, read_uri
from ..family import FamilySpec, ModelRoute
from ..images import ImageBytes, load_image
from ..renderer import Renderer
from ..resolve import get_renderer, resolve
from ..storage import Store
from ..types import RenderedTokens
from .images import default_images
from .memory_store import MemoryStore

#: A tool every family should be able to declare and call (JSON schema, one string argument).
WEATHER_TOOL: Mapping[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "The city name."}},
            "required": ["city"],
        },
    },
}

#: The assistant turns the round-trip and bridge checks sample: plain content, and one tool call.
ANSWER: Mapping[str, Any] = {"role": "assistant", "content": "The answer is 42."}
TOOL_CALL: Mapping[str, Any] = {
    "role": "assistant",
    "content": "",
    "tool_calls": [
        {
            "id": "functions.get_weather:0",
            "type": "function",
            "function": {"name": "get_weather", "arguments": {"city": "Paris"}},
        }
    ],
}


@attrs.frozen
class KitImage:
    """One test image: the source given to the renderer, its bytes and header size."""

    source: Any
    loaded: ImageBytes

    @property
    def size(self) -> tuple[int, int]:
        return self.loaded.width, self.loaded.height

    def part(self) -> dict[str, Any]:
        return {"type": "image", "image": self.source}


class FamilyContext:
    """The family under test (``model`` as :func:`mmrender.get_renderer` takes it) and what the checks render."""

    def __init__(
        self,
        model: str,
        *,
        images: Sequence[Any] | None = None,
        tokenizer_path: str | Path | None = None,
        renderer_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.renderer_kwargs = dict(renderer_kwargs or {})
        self.tokenizer_path = tokenizer_path
        self._image_sources = list(images) if images is not None else None
        self.tmp = Path(tempfile.mkdtemp(prefix="mmrender-kit-family-"))

    def close(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> FamilyContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the family ----------------------------------------------------------------------------
    @cached_property
    def resolved(self) -> tuple[FamilySpec, ModelRoute]:
        return resolve(self.model)

    @property
    def spec(self) -> FamilySpec:
        return self.resolved[0]

    @cached_property
    def store(self) -> Store:
        """The caller's ``store=``, else an in-memory store of the kit's own (never the user's cache)."""
        given = self.renderer_kwargs.get("store")
        return open_store(given) if given is not None else MemoryStore()

    def make_renderer(self, **overrides: Any) -> Renderer:
        kwargs = {**self.renderer_kwargs, "store": self.store, **overrides}
        return get_renderer(self.model, **kwargs)

    @cached_property
    def renderer(self) -> Renderer:
        return self.make_renderer()

    # -- images and conversations --------------------------------------------------------------
    @cached_property
    def images(self) -> list[KitImage]:
        sources = self._image_sources if self._image_sources is not None else default_images()
        if not sources:
            raise ValueError("the kit needs at least one image")
        return [KitImage(source, load_image(source, read_uri=read_uri)) for source in sources]

    @cached_property
    def image_conversation(self) -> list[dict[str, Any]]:
        """System, user (first images), assistant, user (the other images): every role a prompt has."""
        half = max(1, (len(self.images) + 1) // 2)
        first, second = self.images[:half], self.images[half:]
        first_parts: list[dict[str, Any]] = [{"type": "text", "text": "Compare these pictures:"}]
        for k, image in enumerate(first):
            if k:
                first_parts.append({"type": "text", "text": " and "})
            first_parts.append(image.part())
        second_parts = [image.part() for image in second] + [{"type": "text", "text": "And this one?"}]
        return [
            {"role": "system", "content": "You are a careful assistant."},
            {"role": "user", "content": first_parts},
            {"role": "assistant", "content": "The first one is smaller."},
            {"role": "user", "content": second_parts},
        ]

    @cached_property
    def image_owners(self) -> list[int]:
        """For each image in stream order, the index of the message that holds it."""
        owners = []
        for index, message in enumerate(self.image_conversation):
            content = message["content"]
            if isinstance(content, list):
                owners += [index for part in content if part.get("type") == "image"]
        return owners

    @cached_property
    def rendered(self) -> RenderedTokens:
        """The image conversation with a generation prompt, as the renderer under test renders it."""
        return self.renderer.render(self.image_conversation, add_generation_prompt=True)

    def layout_engine_layouts(self) -> list[Any]:
        """For each image, the layout the family's :class:`LayoutEngine` computes from its size alone."""
        engine = self.spec.layout
        assert engine is not None
        return [engine.compute(w, h, engine.default_params) for w, h in (image.size for image in self.images)]
