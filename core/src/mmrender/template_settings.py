"""Per-call template arguments (``render(..., **template_kwargs)``) over the renderer's options, checked once.

Every family's template reads a few switches (``add_vision_id``, ``enable_thinking``, ``thinking`` …)
that are also options of the same name; a call may override them. A family declares which in a
:class:`TemplateSpec` (``Renderer.template_spec``) and core checks them before the family's walker
runs, so unknown names are refused here, in one error style, instead of by a check in each family.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .errors import ConfigError


def template_settings(
    template_kwargs: Mapping[str, Any],
    options: Any,
    *,
    family: str,
    names: Sequence[str],
    hint: str = "",
    none_is_unset: bool = False,
) -> dict[str, Any]:
    """Each of ``names``: the call's template argument when given, else the option of that name.

    ``none_is_unset``: a template argument given as None also falls back to the option (for templates
    whose None means "not given"); otherwise None is a value. ``hint`` ends the error message.
    """
    unknown = sorted(set(template_kwargs) - set(names)) if template_kwargs else None
    if unknown:
        valid = ", ".join(names) or "none"
        raise ConfigError(f"unknown template argument(s) {', '.join(unknown)} for {family}; valid: {valid}{hint}")
    settings = {}
    for name in names:
        value = template_kwargs.get(name)
        if name not in template_kwargs or (none_is_unset and value is None):
            value = getattr(options, name)
        settings[name] = value
    return settings


@attrs.frozen(kw_only=True)
class TemplateSpec:
    """The template arguments a family's template reads: each defaults to the renderer option of that name.

    ``family``: the name errors use (default: the family id); ``hint`` ends the unknown-name error;
    ``none_is_unset``: an argument given as None falls back to the option too.
    """

    names: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    family: str | None = None
    hint: str = ""
    none_is_unset: bool = False

    def settings(self, template_kwargs: Mapping[str, Any], options: Any, *, family: str) -> dict[str, Any]:
        """One call's settings (``family``: the id to name when the spec names none)."""
        return template_settings(
            template_kwargs,
            options,
            family=self.family or family,
            names=self.names,
            hint=self.hint,
            none_is_unset=self.none_is_unset,
        )
