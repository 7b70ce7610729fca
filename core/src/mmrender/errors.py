"""Typed errors: every failure a user can cause names what was wrong and where."""

from __future__ import annotations


class MMRenderError(Exception):
    """Base class of every error mmrender raises on purpose."""


class PluginError(MMRenderError):
    """A plugin is broken: bad hook name, failed import, invalid registration."""


class PluginConflictError(PluginError):
    """Two plugins claim the same model id, alias, URI scheme or ref prefix."""

    def __init__(self, kind: str, key: str, first: str, second: str) -> None:
        self.kind, self.key, self.first, self.second = kind, key, first, second
        super().__init__(
            f"{kind} {key!r} is claimed by two plugins: {first!r} and {second!r}; "
            f"uninstall one or restrict loading with MMRENDER_PLUGINS"
        )


class UnknownModelError(MMRenderError, LookupError):
    """No installed family renders the requested model."""

    def __init__(self, model: str, suggestions: list[str], hint: str = "") -> None:
        self.model, self.suggestions = model, suggestions
        msg = f"no installed mmrender family renders {model!r}"
        if suggestions:
            msg += f"; did you mean: {', '.join(suggestions)}?"
        if hint:
            msg += f" ({hint})"
        super().__init__(msg)


class ConfigError(MMRenderError, ValueError):
    """A renderer option is unknown or has a bad value."""


class ConversationError(MMRenderError, ValueError):
    """A message or content part is malformed, or the chat template rejects it."""

    def __init__(self, problem: str, *, message_index: int | None = None, part_index: int | None = None) -> None:
        self.problem, self.message_index, self.part_index = problem, message_index, part_index
        where = []
        if message_index is not None:
            where.append(f"message {message_index}")
        if part_index is not None:
            where.append(f"part {part_index}")
        super().__init__(f"{', '.join(where)}: {problem}" if where else problem)


class ImageSourceError(ConversationError):
    """An image could not be read, is not an image, or is unsafe to open."""

    def __init__(
        self,
        problem: str,
        *,
        source: str = "",
        message_index: int | None = None,
        part_index: int | None = None,
    ) -> None:
        self.source = source
        text = f"{problem} (source: {source})" if source else problem
        super().__init__(text, message_index=message_index, part_index=part_index)

    def located(self, message_index: int | None, part_index: int | None) -> ImageSourceError:
        """Return a copy that names the message and part the image came from."""
        raw = str(self.problem)
        if self.source and raw.endswith(f" (source: {self.source})"):
            raw = raw[: -len(f" (source: {self.source})")]
        err = type(self)(raw, source=self.source, message_index=message_index, part_index=part_index)
        err.__cause__ = self.__cause__
        return err


class FetchRefusedError(ImageSourceError):
    """A remote (http/https) source was given but no fetch policy allows it."""


class NetworkError(MMRenderError):
    """A remote host timed out, refused or dropped the connection, or has no DNS entry.

    ``kind`` is one of the failure kinds in :mod:`mmrender.network`; ``host``/``port`` say where,
    ``timeout`` the seconds waited. Stores raise :class:`StoreNetworkError`, image fetches
    :class:`ImageFetchError`; catch this class for both.
    """

    kind: str = ""
    host: str = ""
    port: int | None = None
    timeout: float | None = None
    #: The failure in one sentence (host, port, kind, timeout), without what was being done.
    reason: str = ""

    def _where(self, kind: str, host: str, port: int | None, timeout: float | None, reason: str) -> None:
        self.kind, self.host, self.port, self.timeout, self.reason = kind, host, port, timeout, reason

    def _carry_to(self, other: object) -> None:
        """Give a re-labelled copy (``located``) the same host, port, kind and timeout."""
        if isinstance(other, NetworkError):
            other._where(self.kind, self.host, self.port, self.timeout, self.reason)


class ImageFetchError(ImageSourceError, NetworkError):
    """A remote image source (http/https/ftp …) could not be fetched because of the network."""

    @classmethod
    def from_network(cls, err: NetworkError, *, source: str) -> ImageFetchError:
        out = cls(f"cannot fetch image: {err.reason}", source=source)
        out._where(err.kind, err.host, err.port, err.timeout, err.reason)
        return out

    def located(self, message_index: int | None, part_index: int | None) -> ImageSourceError:
        out = super().located(message_index, part_index)
        self._carry_to(out)
        return out


class RefError(MMRenderError, ValueError):
    """Base for malformed or unverifiable raw image refs."""


class RefFormatError(RefError):
    """The ref string does not have the documented shape."""


class RefFieldError(RefError):
    """One field of a ref is missing or has an invalid value."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        super().__init__(f"ref field {field!r}: {problem}")


class UnknownRefVersionError(RefError):
    """The ref names a version no installed codec parses."""


class UnknownFamilyError(RefError):
    """The ref's layout family is not provided by any installed plugin."""


class StorageError(MMRenderError):
    """A store could not read or write an asset."""

    def located(self, message_index: int | None, part_index: int | None) -> StorageError:
        """The same error prefixed with the message and part whose image was being stored or read."""
        return type(self)(f"message {message_index}, part {part_index}: {self}")


class MissingBackendError(StorageError):
    """No installed storage backend handles the URI scheme."""


class AssetNotFoundError(StorageError, FileNotFoundError):
    """The referenced asset is not in the store."""


class StoreNetworkError(StorageError, NetworkError):
    """A store or remote URI could not be reached, or stopped answering, within the network timeout."""

    def __init__(
        self,
        message: str,
        *,
        kind: str = "",
        host: str = "",
        port: int | None = None,
        timeout: float | None = None,
        reason: str = "",
    ) -> None:
        self._where(kind, host, port, timeout, reason)
        super().__init__(message)

    def located(self, message_index: int | None, part_index: int | None) -> StorageError:
        out = super().located(message_index, part_index)
        self._carry_to(out)
        return out


class AssetIntegrityError(StorageError):
    """The bytes read back do not hash to the asset's name (tampering or corruption)."""


class UnsafeLocatorError(StorageError):
    """A locator would leave the store root (path traversal)."""


class WireValidationError(MMRenderError, ValueError):
    """A payload would be rejected by the consumer (vLLM's rules)."""


class UnbackedPlaceholderError(WireValidationError):
    """An image-placeholder id lies outside every sidecar range: the server would get pads without features."""

    def __init__(self, problem: str, *, position: int, token_id: int) -> None:
        self.position, self.token_id = position, token_id
        super().__init__(problem)


class ServerEchoMismatchError(WireValidationError):
    """The server expanded the prompt differently: its echoed ``prompt_token_ids`` or ``mm_placeholders`` differ.

    ``field`` names which; ``position`` (a token index) or ``modality`` and ``index`` (a placeholder)
    say where, and ``ours`` / ``theirs`` hold the two values there (None where one side has nothing).
    """

    def __init__(
        self,
        problem: str,
        *,
        field: str,
        ours: object,
        theirs: object,
        position: int | None = None,
        modality: str | None = None,
        index: int | None = None,
    ) -> None:
        self.field, self.ours, self.theirs = field, ours, theirs
        self.position, self.modality, self.index = position, modality, index
        super().__init__(problem)


class TrainingInputError(MMRenderError, ValueError):
    """Samples cannot become model inputs as asked: mixed models, a bad padding request, nothing to batch."""


class SampleTooLongError(TrainingInputError):
    """A sample is longer than ``pack``'s ``max_tokens``: it fits in no packed row.

    ``index`` is the sample's position in the input, ``length`` its ids, ``max_tokens`` the limit.
    """

    def __init__(self, problem: str, *, index: int, length: int, max_tokens: int) -> None:
        self.index, self.length, self.max_tokens = index, length, max_tokens
        super().__init__(problem)
