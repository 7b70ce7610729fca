"""The protocols fsspec knows by name, as a constant: what the ``fsspec`` backend claims by default.

Why a copy: the scheme table is read when plugins load, in every process (each CLI run, spawned
worker and Ray actor), and ``import fsspec`` brings in asyncio and ssl (~40 ms) that a render into a
local store never uses. ``tests/storage/test_fsspec_protocols.py`` checks the copy against the
installed ``fsspec.registry.known_implementations``; a protocol a newer fsspec adds can be claimed
with ``$MMRENDER_FSSPEC_SCHEMES`` meanwhile.
"""

from __future__ import annotations

#: ``sorted(fsspec.registry.known_implementations)`` of fsspec 2026.9.0.
KNOWN_PROTOCOLS = (
    "abfs", "adl", "arrow_hdfs", "async_wrapper", "asynclocal", "asyncwrapper", "az", "blockcache", "box",
    "cached", "dask", "data", "dbfs", "dir", "dropbox", "dvc", "file", "filecache", "ftp", "gcs", "gdrive",
    "generic", "gist", "git", "github", "gs", "hdfs", "hf", "http", "https", "jlab", "jupyter", "lakefs",
    "libarchive", "local", "memory", "oci", "ocilake", "oss", "pyscript", "reference", "root", "s3", "s3a",
    "sftp", "simplecache", "smb", "ssh", "tar", "tos", "tosfs", "wandb", "webdav", "webhdfs", "zip",
)  # fmt: skip
