"""What a family's ``create()`` does with the ``tokenizer`` argument, written once for every family.

``get_renderer(tokenizer=...)`` passes None, a local directory or a tokenizer object; a local
checkpoint route may carry its own tokenizer files. The rule is the same everywhere: an object is
used as it is, a directory is loaded by the family, None means the checkpoint's own files when it
has them, else the family's bundled tokenizer.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def choose_tokenizer(
    given: Any,
    *,
    checkpoint: str | os.PathLike[str] | None,
    checkpoint_files: Sequence[str],
    load_dir: Callable[[Path], Any],
    bundled: Callable[[], Any],
) -> Any:
    """The tokenizer a renderer is built with (see the module docstring).

    ``checkpoint`` is the local checkpoint directory of the route (``route.settings["local_path"]``)
    or None; any of ``checkpoint_files`` there means it carries its tokenizer. ``load_dir`` loads a
    directory (raising ``ConfigError`` naming it), ``bundled`` returns the family's default.
    """
    if given is None and checkpoint is not None:
        root = Path(checkpoint)
        if any((root / name).is_file() for name in checkpoint_files):
            given = root
    if given is None:
        return bundled()
    if isinstance(given, str | os.PathLike):
        return load_dir(Path(given))
    return given
