"""Core's own defaults, registered like any plugin and ordered last so plugins can override them."""

from __future__ import annotations

from typing import Any

from .hookspecs import hookimpl
from .refs import V2Codec, V3Codec


@hookimpl
def register_ref_codecs(register: Any) -> None:
    register(V3Codec())
    register(V2Codec())


@hookimpl(trylast=True)
def mmrender_serialize_ref(ref: Any) -> str:
    return V3Codec().dump(ref)


@hookimpl(trylast=True)
def mmrender_image_layout(renderer: Any, width: int, height: int) -> Any:
    return renderer.compute_layout(width, height)


@hookimpl(trylast=True)
def mmrender_render(renderer: Any, conversation: Any) -> Any:
    return renderer.render_conversation(conversation)
