"""Per-call template arguments (``render(..., **template_kwargs)``) over the renderer's options, checked once.

Every family's template reads a few switches (``add_vision_id``, ``enable_thinking``, ``thinking`` …)
that are also options of the same name; a call may override them. Unknown names are refused here,
in one error style, instead of by a check in each family.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

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
    unknown = sorted(set(template_kwargs) - set(names))
    if unknown:
        raise ConfigError(
            f"unknown template argument(s) {', '.join(unknown)} for {family}; valid: {', '.join(names)}{hint}"
        )
    settings = {}
    for name in names:
        value = template_kwargs.get(name)
        if name not in template_kwargs or (none_is_unset and value is None):
            value = getattr(options, name)
        settings[name] = value
    return settings
