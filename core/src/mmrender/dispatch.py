"""The dispatch layer: look a URI scheme, a layout family or a hook up in what the plugins registered.

Only this layer (this module, :mod:`mmrender.resolve` and :mod:`mmrender.refs`) asks the plugin
manager; everything below it receives what it needs (a renderer gets :class:`InstalledPlugins`
from :func:`mmrender.get_renderer`), everything above it (wire, materialize, CLI) calls it.
"""

from __future__ import annotations

import functools
from typing import Any

from .errors import MissingBackendError
from .family import LayoutEngine
from .plugins import generation, hook, registries
from .ref_codecs import layout_fingerprint
from .storage import ObjectRanges, StorageBackend, Store, default_store_url, scheme_of
from .video import VideoLayoutEngine


def backend_for(uri: str) -> StorageBackend:
    """The installed backend that handles ``uri``'s scheme."""
    scheme = scheme_of(uri)
    backends = registries().backends
    entry = backends.get(scheme)
    if entry is None:
        known = ", ".join(sorted(backends)) or "none"
        raise MissingBackendError(
            f"no storage backend handles {scheme!r} URIs (installed schemes: {known}); "
            f"install a backend plugin for it (e.g. `pip install 'mmrender-storage[s3]'` for s3://)"
        )
    return entry.item


def open_store(url: str | Store | None = None, **options: Any) -> Store:
    """Open a store by URL (``/dir``, ``file:///dir``, ``data:``, ``s3://bucket/prefix`` …)."""
    if isinstance(url, Store):
        return url
    url = url or default_store_url()
    return backend_for(url).open_store(url, **options)


def read_uri(uri: str, **options: Any) -> bytes:
    """Read any URI an installed backend resolves."""
    return backend_for(uri).read(uri, **options)


def open_ranges(uri: str, head: int, tail: int, **options: Any) -> ObjectRanges | None:
    """``uri`` with its first ``head`` and last ``tail`` bytes, if its backend reads ranges, else None."""
    return backend_for(uri).open_ranges(uri, head, tail, **options)


def engines_for(layout_family: str) -> list[LayoutEngine]:
    """Every installed layout engine of ``layout_family`` (a vision tower's id, e.g. ``qwen_vl``), once each."""
    return list(_engines(generation())[0].get(layout_family, ()))


def default_fingerprints(layout_family: str) -> frozenset[str]:
    """Fingerprints of the default parameters of ``layout_family``'s installed engines."""
    return _engines(generation())[1].get(layout_family, frozenset())


def video_engines_for(family: str) -> list[VideoLayoutEngine]:
    """Installed video layout engines of ``family``: those a family spec declares as ``video_layout``."""
    found: list[VideoLayoutEngine] = []
    for spec, _owner in registries().families.values():
        engine = getattr(spec, "video_layout", None)
        if isinstance(engine, VideoLayoutEngine) and engine.family == family and engine not in found:
            found.append(engine)
    return found


@functools.lru_cache(maxsize=2)
def _engines(_gen: int) -> tuple[dict[str, tuple[LayoutEngine, ...]], dict[str, frozenset[str]]]:
    """Engines and their default fingerprints by layout family, recomputed when the plugins change."""
    engines: dict[str, list[LayoutEngine]] = {}
    for spec, _owner in registries().families.values():
        engine = spec.layout
        if engine is not None and all(e is not engine for e in engines.setdefault(engine.family, [])):
            engines[engine.family].append(engine)
    defaults = {
        family: frozenset(layout_fingerprint(family, e.default_params) for e in found)
        for family, found in engines.items()
    }
    return {family: tuple(found) for family, found in engines.items()}, defaults


class InstalledPlugins:
    """The :class:`~mmrender.host.PluginHost` of the process's plugin manager, looked up on every use
    (so a renderer follows ``register_plugin``, ``unregister_plugin`` and ``reset``)."""

    @property
    def hook(self) -> Any:
        return hook()

    def generation(self) -> int:
        return generation()

    def read_uri(self, uri: str) -> bytes:
        return read_uri(uri)

    def open_ranges(self, uri: str, head: int, tail: int) -> ObjectRanges | None:
        return open_ranges(uri, head, tail)

    def default_fingerprints(self, layout_family: str) -> frozenset[str]:
        return default_fingerprints(layout_family)


_INSTALLED = InstalledPlugins()


def installed_plugins() -> InstalledPlugins:
    """The host every renderer :func:`mmrender.get_renderer` builds is given."""
    return _INSTALLED
