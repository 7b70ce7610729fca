"""mmrender: exact token ids and light raw image refs for vision-language model training and serving."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import refs, wire
from .conversation import Conversation, ImagePart, Message, TextPart, VideoPart
from .dispatch import open_store
from .errors import (
    AssetIntegrityError,
    ConfigError,
    ConversationError,
    ImageSourceError,
    MMRenderError,
    PluginConflictError,
    PluginError,
    RefError,
    StorageError,
    UnknownModelError,
    WireValidationError,
)
from .family import FamilySpec, LayoutEngine, ModelRoute
from .hookspecs import hookimpl
from .materialize import MaterializedImage, materialize
from .merge import merge_multi_modal_data
from .plugins import register_plugin, unregister_plugin
from .renderer import PreparedImage, Renderer, RendererOptions, TokenBuffer
from .resolve import families, get_renderer, resolve
from .samples import TrainingSample, sample_from_rendered
from .storage import StorageBackend, Store, StoredAsset
from .training import TruncationError
from .trajectory import Trajectory
from .types import (
    ImageLayout,
    MultiModalData,
    ParsedResponse,
    PlaceholderRange,
    ProcessedMMItem,
    RawMMItem,
    RawMMRef,
    RenderedTokens,
    ToolCall,
)

if TYPE_CHECKING:
    from .batching import collate, pack, pack_groups
    from .trainer_inputs import processed_inputs

#: Names served on first use: the consumer and trainer side (pixels, batches) is not paid for by a renderer's start.
_LAZY = {
    "collate": "batching",
    "pack": "batching",
    "pack_groups": "batching",
    "processed_inputs": "trainer_inputs",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mmrender' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "AssetIntegrityError",
    "ConfigError",
    "Conversation",
    "ConversationError",
    "FamilySpec",
    "ImageLayout",
    "ImagePart",
    "ImageSourceError",
    "LayoutEngine",
    "MMRenderError",
    "MaterializedImage",
    "Message",
    "ModelRoute",
    "MultiModalData",
    "ParsedResponse",
    "PlaceholderRange",
    "PluginConflictError",
    "PluginError",
    "PreparedImage",
    "ProcessedMMItem",
    "RawMMItem",
    "RawMMRef",
    "RefError",
    "RenderedTokens",
    "Renderer",
    "RendererOptions",
    "StorageBackend",
    "StorageError",
    "Store",
    "StoredAsset",
    "TextPart",
    "TokenBuffer",
    "ToolCall",
    "TrainingSample",
    "Trajectory",
    "TruncationError",
    "UnknownModelError",
    "VideoPart",
    "WireValidationError",
    "collate",
    "families",
    "get_renderer",
    "hookimpl",
    "materialize",
    "merge_multi_modal_data",
    "open_store",
    "pack",
    "pack_groups",
    "processed_inputs",
    "refs",
    "register_plugin",
    "resolve",
    "sample_from_rendered",
    "unregister_plugin",
    "wire",
]
