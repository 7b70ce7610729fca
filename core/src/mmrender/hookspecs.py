"""The hook surface: registration hooks (what a plugin adds) and behaviour hooks (what it may override).

Every hook here is documented with its exact signature in ``docs/hooks.md`` and has a test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from collections.abc import Callable

    from .conversation import Conversation
    from .renderer import Renderer
    from .types import ImageLayout, RawMMRef, RenderedTokens

hookspec = pluggy.HookspecMarker("mmrender")
hookimpl = pluggy.HookimplMarker("mmrender")


@hookspec
def register_families(register: Callable[[Any], None]) -> None:
    """Register model families: call ``register(FamilySpec(...))`` once per family."""


@hookspec
def register_storage_backends(register: Callable[[Any], None]) -> None:
    """Register storage backends: call ``register(backend)`` with a ``StorageBackend``."""


@hookspec
def register_ref_codecs(register: Callable[[Any], None]) -> None:
    """Register ref codecs: call ``register(codec)`` with a ``RefCodec`` (a prefix, dump and parse)."""


@hookspec(firstresult=True)
def mmrender_image_layout(renderer: Renderer, width: int, height: int) -> ImageLayout | None:
    """Compute an image's layout from its size; the first non-None answer wins."""


@hookspec(firstresult=True)
def mmrender_render(renderer: Renderer, conversation: Conversation) -> RenderedTokens | None:
    """Render a normalised conversation to token ids; the first non-None answer wins."""


@hookspec(firstresult=True)
def mmrender_serialize_ref(ref: RawMMRef) -> str | None:
    """Serialise a raw image ref to its wire string; the first non-None answer wins."""
