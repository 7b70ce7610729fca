"""Every bundled family honours the base renderer's public API, so callers can swap models freely."""

from __future__ import annotations

import inspect

import mmrender
from mmrender.plugins import reset


def test_every_installed_family_takes_the_same_public_arguments() -> None:
    """Callers swap models freely: every family's renderer accepts the base class's keyword arguments."""
    reset()
    try:
        specs = mmrender.families()
        assert specs, "no family plugin is installed"
        for spec in specs:
            renderer = mmrender.get_renderer(spec.routes[0].model_id, store="data:")
            for name in ("render", "parse_response", "bridge_to_next_turn"):
                base = inspect.signature(getattr(mmrender.Renderer, name)).parameters
                mine = inspect.signature(getattr(renderer, name)).parameters
                missing = [p for p in base if p != "self" and p not in mine]
                assert not missing, f"{spec.id}.{name} lacks {missing}"
    finally:
        reset()
