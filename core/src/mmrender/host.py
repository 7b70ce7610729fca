"""What a renderer asks of the installed plugins, as one object ``get_renderer`` hands it.

Why: the renderer and the rest of the family kit sit below the plugin manager, so they never
import it; the dispatch layer builds the real host (:class:`mmrender.dispatch.InstalledPlugins`)
and :func:`mmrender.get_renderer` gives it to every renderer it builds.
"""

from __future__ import annotations

from typing import Any, Protocol

from .errors import ConfigError
from .storage import ObjectRanges


class PluginHost(Protocol):
    """What a renderer needs from the plugins: behaviour hooks, their generation,
    URI reading (whole or by ranges) and the installed layout engines' default fingerprints."""

    @property
    def hook(self) -> Any:
        """The pluggy hook relay (``mmrender_render``, ``mmrender_image_layout`` …)."""
        ...

    def generation(self) -> int:
        """A number that changes whenever plugins change, so cached hook answers can be forgotten."""
        ...

    def read_uri(self, uri: str) -> bytes:
        """Read a URI through the installed storage backends."""
        ...

    def open_ranges(self, uri: str, head: int, tail: int) -> ObjectRanges | None:
        """A URI opened for byte ranges with its ends read, if its backend can (``count_tokens``)."""
        ...

    def default_fingerprints(self, layout_family: str) -> frozenset[str]:
        """Fingerprints of the default parameters of the installed engines of ``layout_family``."""
        ...


class UnboundHost:
    """The host of a renderer built outside :func:`mmrender.get_renderer`: every use says so."""

    def _refuse(self) -> ConfigError:
        return ConfigError(
            "this renderer was not built by mmrender.get_renderer, so it has no plugins to render with; "
            "build renderers with get_renderer (or bind one: renderer.plugins = mmrender.dispatch.installed_plugins())"
        )

    @property
    def hook(self) -> Any:
        raise self._refuse()

    def generation(self) -> int:
        raise self._refuse()

    def read_uri(self, uri: str) -> bytes:
        raise self._refuse()

    def open_ranges(self, uri: str, head: int, tail: int) -> ObjectRanges | None:
        raise self._refuse()

    def default_fingerprints(self, layout_family: str) -> frozenset[str]:
        raise self._refuse()


UNBOUND = UnboundHost()
