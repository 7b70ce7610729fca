"""The installed version, read once from package metadata."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mmrender-core")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0+unknown"
