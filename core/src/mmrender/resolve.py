"""Resolve a model name to a family (exact id, alias, local checkpoint ``model_type``, the one id or
alias that differs only in case, else suggestions) and build its renderer: the dispatch layer's model half."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from .dispatch import installed_plugins, open_store
from .errors import ConfigError, UnknownModelError
from .family import FamilySpec, ModelRoute
from .plugins import registries

if TYPE_CHECKING:
    from .renderer import Renderer
    from .storage import Store


def families() -> list[FamilySpec]:
    """Every registered family, once each, in registration order."""
    return [claim.item for claim in registries().families.values()]


def family_owner(spec: FamilySpec) -> str:
    """The plugin that registered ``spec``."""
    return registries().families[spec.id].plugin


def _local_model_type(path: Path) -> str | None:
    config = path / "config.json"
    if not config.is_file():
        return None
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise UnknownModelError(str(path), [], hint=f"unreadable config.json: {exc}") from exc
    model_type = data.get("model_type")
    return model_type if isinstance(model_type, str) else None


def resolve(model: str) -> tuple[FamilySpec, ModelRoute]:
    """Find the family and route for ``model`` (see module docstring for the order)."""
    reg = registries()
    entry = reg.models.get(model)
    if entry is not None:
        spec = entry.item
        route = spec.route(model)
        if route is None:  # an alias
            route = spec.route(spec.aliases[model]) or ModelRoute(spec.aliases[model])
        return spec, route
    path = Path(model).expanduser()
    if path.is_dir():
        model_type = _local_model_type(path)
        if model_type is None:
            raise UnknownModelError(model, [], hint="directory has no config.json with a model_type")
        entry = reg.model_types.get(model_type)
        if entry is None:
            known = sorted(reg.model_types)
            raise UnknownModelError(
                model,
                difflib.get_close_matches(model_type, known, n=3),
                hint=f"model_type {model_type!r} has no installed family; known: {', '.join(known) or 'none'}",
            )
        return entry.item, ModelRoute(str(path), {"model_type": model_type, "local_path": str(path)})
    names = list(reg.models)
    same_but_case = {n for n in names if n.lower() == model.lower()}
    if len(same_but_case) == 1:  # hub ids are case-insensitive: qwen/qwen3-vl-8b-instruct is the same repo
        return resolve(same_but_case.pop())
    suggestions = difflib.get_close_matches(model, names, n=5, cutoff=0.5)
    lowered = {n.lower(): n for n in names}
    if model.lower() in lowered and lowered[model.lower()] not in suggestions:
        suggestions.insert(0, lowered[model.lower()])
    hint = "" if reg.families else "no family plugins are installed (pip install mmrender, or check MMRENDER_PLUGINS)"
    raise UnknownModelError(model, suggestions, hint=hint)


def build_options(spec: FamilySpec, config: dict[str, Any]) -> Any:
    """Instantiate the family's options class; unknown keys list the valid ones."""
    cls = spec.options_class
    valid = sorted(a.name for a in attrs.fields(cls))
    unknown = sorted(set(config) - set(valid))
    if unknown:
        raise ConfigError(
            f"unknown option(s) {', '.join(unknown)} for family {spec.id!r}; valid options: {', '.join(valid)}"
        )
    try:
        return cls(**config)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"bad option for family {spec.id!r}: {_option_problem(exc)}") from exc


def _type_names(expected: Any) -> str:
    types = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join(getattr(t, "__name__", repr(t)) for t in types)


def _option_problem(exc: Exception) -> str:
    """One line for a rejected option value: attrs validators put (message, field, expected, value) in ``args``."""
    if len(exc.args) == 4 and isinstance(exc.args[1], attrs.Attribute):
        _, field, expected, value = exc.args
        if isinstance(exc, TypeError):  # instance_of
            wanted = _type_names(expected)
        elif isinstance(expected, (list, tuple, set, frozenset)):  # in_
            wanted = "one of " + ", ".join(repr(x) for x in expected)
        else:
            wanted = repr(expected)
        return f"{field.name}={value!r} ({type(value).__name__}), expected {wanted}"
    return str(exc)


def get_renderer(
    model: str,
    *,
    tokenizer: Any = None,
    store: str | Store | None = None,
    **config: Any,
) -> Renderer:
    """Resolve ``model`` and build its renderer.

    ``tokenizer`` may be None (the family's bundled or default tokenizer), a local directory,
    or a tokenizer object; ``store`` is a store URL or object (default ``$MMRENDER_STORE`` or a
    per-user cache directory); family options are keyword arguments.
    """
    spec, route = resolve(model)
    options = build_options(spec, config)
    renderer = spec.create(route=route, tokenizer=tokenizer, store=open_store(store), options=options)
    renderer.plugins = installed_plugins()  # the kit never imports the plugin manager: it is handed its host
    return renderer
