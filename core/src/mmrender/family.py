"""What a family plugin registers: its model routes, option schema and renderer factory."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from collections.abc import Sequence

    from PIL import Image

    from .renderer import Renderer
    from .types import ImageLayout, ProcessedMMItem


@attrs.frozen
class ModelRoute:
    """One model a family serves, with the settings its checkpoint implies (e.g. thinking default)."""

    model_id: str
    settings: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class LayoutEngine:
    """A family's layout function, so consumers can re-check a ref against its pixels.

    ``compute(width, height, params)`` returns the :class:`ImageLayout`; ``default_params``
    are the checkpoint settings a ref without ``layout_params`` was laid out with.
    ``check_params(params)`` raises ``ValueError`` naming a bad value in a ref's ``layout_params``
    (untrusted input) before ``compute`` runs on it; the key set is checked against
    ``default_params`` by core.
    ``process(pixels, params)`` runs the family's transformers image processor on verified images laid
    out with ``params`` (upright RGB PIL images, decoded by core on worker threads), all in one call, so
    a trainer gets pixels from refs without core naming a family (:func:`mmrender.processed_inputs`).
    It returns one :class:`ProcessedMMItem` whose ``data`` arrays hold every image's rows in order and
    whose ``grid`` is the images' grids concatenated; None means the family has no processor.
    """

    family: str
    compute: Callable[[int, int, Mapping[str, Any]], ImageLayout]
    default_params: Mapping[str, Any]
    check_params: Callable[[Mapping[str, Any]], None] | None = None
    process: Callable[[Sequence[Image.Image], Mapping[str, Any]], ProcessedMMItem] | None = None


@attrs.frozen
class FamilySpec:
    """A model family: routes by id, alias and ``config.json`` ``model_type``, and how to build its renderer.

    ``create(route, tokenizer, store, options)`` builds the renderer; ``options`` is an
    instance of ``options_class`` (an attrs class, so unknown keys are rejected by name).
    """

    id: str
    routes: tuple[ModelRoute, ...]
    create: Callable[..., Renderer]
    options_class: type
    aliases: Mapping[str, str] = attrs.field(factory=dict)
    model_types: tuple[str, ...] = ()
    layout: LayoutEngine | None = None
    description: str = ""

    def route(self, model_id: str) -> ModelRoute | None:
        for r in self.routes:
            if r.model_id == model_id:
                return r
        return None


#: Where a Hugging Face checkpoint keeps its chat template, in the order transformers looks.
CHAT_TEMPLATE_FILES = ("chat_template.jinja", "chat_template.json", "tokenizer_config.json")


def checkpoint_chat_template(directory: Path) -> str | None:
    """The chat template text a local checkpoint ships (a ``.jinja`` file, or the ``chat_template``
    string of a JSON file), or None; families match it against their official templates' hashes."""
    for name in CHAT_TEMPLATE_FILES:
        path = directory / name
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if name.endswith(".jinja"):
            return text
        try:
            template = json.loads(text).get("chat_template")
        except (json.JSONDecodeError, AttributeError):
            continue
        if isinstance(template, str):
            return template
    return None
