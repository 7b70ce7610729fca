"""The ``data`` backend: inline mode, where the ref's ``raw_uri`` carries the image itself."""

from __future__ import annotations

import base64
from typing import Any

from mmrender import hookimpl
from mmrender.errors import UnsafeLocatorError
from mmrender.images import decode_data_uri, mime_of
from mmrender.storage import StorageBackend, Store, StoredAsset, sha256_hex


class InlineStore(Store):
    """Stores nothing: ``put`` returns a ``data:`` URI; the bytes travel with the ref."""

    url = "data:"

    def put(self, data: bytes, *, mime: str | None = None, sha256: str | None = None) -> StoredAsset:
        if not (mime and mime.startswith("image/")):
            mime = mime_of(data)
        uri = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
        return StoredAsset(sha256=sha256 or sha256_hex(data), raw_uri=uri, raw_image_id=None)

    def get(self, locator: str) -> bytes:
        if not locator.startswith("data:"):
            raise UnsafeLocatorError(
                f"{locator[:40]!r} is not a location in store {self.url} (the inline store resolves only data: URIs)"
            )
        return decode_data_uri(locator)


class DataBackend(StorageBackend):
    schemes = ("data",)

    def open_store(self, url: str, **options: Any) -> Store:
        return InlineStore()

    def read(self, uri: str, **options: Any) -> bytes:
        return decode_data_uri(uri)


@hookimpl
def register_storage_backends(register: Any) -> None:
    register(DataBackend())
