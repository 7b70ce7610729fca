"""Plugin manager: lazy entry-point loading, allow-list, tracing and conflict-checked registries."""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

import attrs
import pluggy

from . import default_plugin, hookspecs
from .errors import PluginConflictError, PluginError
from .version import __version__

if TYPE_CHECKING:
    from .family import FamilySpec
    from .ref_codecs import RefCodec
    from .storage import StorageBackend

ENTRY_POINT_GROUP = "mmrender"
ALLOW_ENV = "MMRENDER_PLUGINS"
TRACE_ENV = "MMRENDER_TRACE_PLUGINS"

_lock = threading.RLock()
_pm: pluggy.PluginManager | None = None
_registries: Registries | None = None
_dists: dict[str, str] = {}  # plugin name -> distribution name
_versions: dict[str, str] = {}  # plugin name -> distribution version
_in_process: list[tuple[object, str | None]] = []


T = TypeVar("T")


class Claim(NamedTuple, Generic[T]):
    """One registry entry: what was registered and the name of the plugin that registered it."""

    item: T
    plugin: str


@attrs.define
class Registries:
    """What the loaded plugins registered: one mapping per namespace, each entry a :class:`Claim`.

    ``models`` holds route model ids and aliases, ``model_types`` the ``config.json`` model types
    of local checkpoints, ``families`` the family ids; a key claimed twice in one namespace is a
    :class:`PluginConflictError`.
    """

    models: dict[str, Claim[FamilySpec]] = attrs.field(factory=dict)
    model_types: dict[str, Claim[FamilySpec]] = attrs.field(factory=dict)
    families: dict[str, Claim[FamilySpec]] = attrs.field(factory=dict)
    backends: dict[str, Claim[StorageBackend]] = attrs.field(factory=dict)
    codecs: dict[str, Claim[RefCodec]] = attrs.field(factory=dict)


def _allowed_distributions() -> set[str] | None:
    raw = os.environ.get(ALLOW_ENV)
    if raw is None:
        return None
    return {_norm(name) for name in raw.replace(";", ",").split(",") if name.strip()}


def _norm(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    allowed = _allowed_distributions()
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist.name if ep.dist is not None else ep.name
        if allowed is not None and _norm(dist) not in allowed:
            continue
        if pm.get_plugin(ep.name) is not None:
            if _dists.get(ep.name) not in (None, dist):  # pluggy would silently keep one at random
                raise PluginConflictError("plugin name", ep.name, describe(ep.name), f"{ep.name} ({dist})")
            continue
        try:
            plugin = ep.load()
        except Exception as exc:
            raise PluginError(f"plugin {ep.name!r} from distribution {dist!r} failed to import: {exc}") from exc
        pm.register(plugin, name=ep.name)
        _dists[ep.name] = dist
        _versions[ep.name] = ep.dist.version if ep.dist is not None else "?"


_generation = 0


def generation() -> int:
    """A number that changes whenever plugins are registered, unregistered or reset.

    Caches of hook results (a renderer's image layouts) compare it to know when to forget.
    """
    return _generation


def _changed() -> None:
    global _generation, _registries
    _generation += 1
    _registries = None


def get_plugin_manager() -> pluggy.PluginManager:
    """Return the process-wide plugin manager, loading entry points on first use."""
    global _pm
    with _lock:
        if _pm is not None:
            return _pm
        pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
        pm.add_hookspecs(hookspecs)
        pm.register(default_plugin, name="mmrender.default")
        _dists["mmrender.default"] = "mmrender-core"
        _versions["mmrender.default"] = __version__
        _load_entry_points(pm)
        for obj, name in _in_process:
            if pm.get_plugin(name or "") is None and not pm.is_registered(obj):
                pm.register(obj, name=name)
        try:
            pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"a plugin implements a hook mmrender does not define: {exc}") from exc
        if _tracing():
            _enable_tracing(pm)
        _pm = pm
        return pm


def _tracing() -> bool:
    return os.environ.get(TRACE_ENV, "").strip().lower() not in ("", "0", "false")


def _enable_tracing(pm: pluggy.PluginManager) -> None:
    def before(hook_name: str, hook_impls: list[Any], kwargs: dict[str, Any]) -> None:
        names = ", ".join(impl.plugin_name for impl in hook_impls)
        print(f"mmrender: call {hook_name}({', '.join(kwargs)}) -> [{names}]", file=sys.stderr)

    def after(outcome: Any, hook_name: str, hook_impls: list[Any], kwargs: dict[str, Any]) -> None:
        result = outcome.exception or type(outcome.get_result()).__name__
        print(f"mmrender: done {hook_name} -> {result}", file=sys.stderr)

    pm.add_hookcall_monitoring(before, after)


def register_plugin(plugin: object, name: str | None = None) -> str:
    """Register an in-process plugin (a module or object with ``@hookimpl`` functions)."""
    with _lock:
        pm = get_plugin_manager()  # first, so a bad plugin cannot poison the manager's first load
        if not pm.is_registered(plugin):
            try:
                registered = pm.register(plugin, name=name)
            except pluggy.PluginValidationError as exc:
                raise PluginError(f"plugin {name!r} has an invalid hook implementation: {exc}") from exc
            if registered is None:
                raise PluginError(f"plugin {name!r} is blocked or already registered")
            try:
                pm.check_pending()
            except pluggy.PluginValidationError as exc:
                pm.unregister(plugin)
                raise PluginError(f"plugin implements a hook mmrender does not define: {exc}") from exc
        _in_process.append((plugin, name))
        _changed()
        plugin_name = pm.get_name(plugin) or str(name)
        _dists.setdefault(plugin_name, plugin_name)
        return plugin_name


def unregister_plugin(plugin: object) -> None:
    """Remove an in-process plugin registered with :func:`register_plugin`."""
    with _lock:
        pm = get_plugin_manager()
        if pm.is_registered(plugin):
            pm.unregister(plugin)
        _in_process[:] = [(p, n) for p, n in _in_process if p is not plugin]
        _changed()


def reset() -> None:
    """Forget loaded plugins so the next call reloads them (tests, long-lived shells)."""
    global _pm
    with _lock:
        _pm = None
        _changed()
        _in_process.clear()
        _dists.clear()
        _versions.clear()


@contextlib.contextmanager
def restricted(*distributions: str) -> Iterator[None]:
    """Load only these distributions' entry points inside the block (none when empty), then restore.

    Tests use it so that other installed plugins cannot change what they exercise.
    """
    old = os.environ.get(ALLOW_ENV)
    os.environ[ALLOW_ENV] = ",".join(distributions)
    reset()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(ALLOW_ENV, None)
        else:
            os.environ[ALLOW_ENV] = old
        reset()


def distribution_of(plugin_name: str) -> str:
    return _dists.get(plugin_name, plugin_name)


def version_of(plugin_name: str) -> str | None:
    return _versions.get(plugin_name)


def describe(plugin_name: str) -> str:
    """``plugin (distribution version)`` for messages that must say what to uninstall."""
    dist = distribution_of(plugin_name)
    if dist == plugin_name:
        return plugin_name
    version = version_of(plugin_name)
    return f"{plugin_name} ({dist} {version})" if version else f"{plugin_name} ({dist})"


Namespace = tuple[str, dict[str, Claim[Any]], Callable[[Any], Iterable[str]]]


def _collect(pm: pluggy.PluginManager, hook_name: str, *namespaces: Namespace) -> None:
    """Call one registration hook plugin by plugin (to know each owner), filling every namespace it feeds."""
    tracing = _tracing()
    for impl in getattr(pm.hook, hook_name).get_hookimpls():
        owner = impl.plugin_name
        if tracing:  # registration hooks are called one by one (to know the owner), so trace them here
            print(f"mmrender: call {hook_name}(register) -> [{owner}]", file=sys.stderr)

        def register(item: Any, _owner: str = owner) -> None:
            for kind, table, keys in namespaces:
                for key in keys(item):
                    if key in table and table[key].plugin != _owner:
                        raise PluginConflictError(kind, key, describe(table[key].plugin), describe(_owner))
                    table[key] = Claim(item, _owner)

        impl.function(register=register)


def _model_names(spec: Any) -> Iterable[str]:
    return [*(route.model_id for route in spec.routes), *spec.aliases]


def registries() -> Registries:
    """Families, backends and codecs of all loaded plugins, each tagged with the plugin that registered it.

    Conflicts raise :class:`PluginConflictError` naming both plugins and their distributions.
    """
    global _registries
    with _lock:
        if _registries is None:
            pm = get_plugin_manager()
            reg = Registries()
            _collect(
                pm,
                "register_families",
                ("model", reg.models, _model_names),
                ("model type", reg.model_types, lambda spec: spec.model_types),
                ("family", reg.families, lambda spec: (spec.id,)),
            )
            _collect(pm, "register_storage_backends", ("URI scheme", reg.backends, lambda b: b.schemes))
            _collect(pm, "register_ref_codecs", ("ref prefix", reg.codecs, lambda c: (c.prefix,)))
            _registries = reg
        return _registries


def hook() -> Any:
    """Shortcut to the hook relay of the loaded plugin manager."""
    return get_plugin_manager().hook
