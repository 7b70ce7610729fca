"""Core's own defaults, registered like any plugin and ordered last so plugins can override them.

No default ``mmrender_serialize_ref``: when no plugin answers, :func:`mmrender.refs.dump` writes
with the codec registered for ``mmraw:v3:`` (registered here), so that codec's ``dump`` is the one that runs.
"""

from __future__ import annotations

from typing import Any

from .hookspecs import hookimpl
from .ref_codecs import V2Codec, V3Codec


@hookimpl
def register_ref_codecs(register: Any) -> None:
    register(V3Codec())
    register(V2Codec())


@hookimpl(trylast=True)
def mmrender_image_layout(renderer: Any, width: int, height: int) -> Any:
    return renderer.compute_layout(width, height)


@hookimpl(trylast=True)
def mmrender_render(renderer: Any, conversation: Any) -> Any:
    return renderer.render_conversation(conversation)
