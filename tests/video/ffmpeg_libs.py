"""FFmpeg libraries for torchcodec: the ones PyAV's wheel carries, under the names torchcodec's ``dlopen`` asks for.

Shared by the video tests' oracle fixture and ``benchmarks/bench_video.py`` (both run torchcodec in a
subprocess whose ``LD_LIBRARY_PATH`` starts with this directory).
"""

from __future__ import annotations

import re
from pathlib import Path

_SONAME = re.compile(r"^(?P<stem>[A-Za-z0-9_+-]+?)-[0-9a-f]{8}(?P<so>\.so\.\d+)")


def ffmpeg_library_dir(target: Path) -> Path:
    """Symlinks to every library in PyAV's ``av.libs`` under its own name and its soname stem
    (``libavutil.so.60``); :class:`FileNotFoundError` if this PyAV build has no such folder."""
    import av

    libs = Path(av.__file__).resolve().parent.parent / "av.libs"
    if not libs.is_dir():
        raise FileNotFoundError(f"PyAV's bundled FFmpeg libraries are not at {libs}")
    target.mkdir(parents=True, exist_ok=True)
    for lib in libs.iterdir():
        if not (target / lib.name).exists():
            (target / lib.name).symlink_to(lib)
        match = _SONAME.match(lib.name)
        if match and not (target / (match["stem"] + match["so"])).exists():
            (target / (match["stem"] + match["so"])).symlink_to(lib)
    return target
