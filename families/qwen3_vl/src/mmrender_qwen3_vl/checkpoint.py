"""Which rules a local Qwen3-VL checkpoint needs: its chat template decides, by hash first.

The official Instruct and Thinking templates are known by the sha256 of their text (both bundled
in ``assets/`` and pinned by the tests), so a checkpoint that ships either one is recognised for
certain, whatever its directory is called. Only a template that is neither (a fine-tune's edit, or
none at all) falls back to the heuristics: the directory name says "thinking", or the template
writes ``<think>`` (the Instruct template never does; the token table always lists it, so only the
template counts).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from mmrender.family import checkpoint_chat_template

#: sha256 of the template text of Qwen/Qwen3-VL-8B-Instruct @ 0c351dd01ed87e9c1b53cbc748cba10e6187ff3b.
INSTRUCT_TEMPLATE_SHA256 = "3636d0f0bd6bef02654cdffdc447b79cb2cef8ab02cc75267345946291a489e4"
#: sha256 of the template text of Qwen/Qwen3-VL-8B-Thinking @ 92f3c4b4feadd3a016ef468d103bb5f58b2a2c6b.
THINKING_TEMPLATE_SHA256 = "36e042fe45641f067b1f2381fcc8955d10d956a3ed333ecdf7f7eb0916f68956"
_KNOWN = {INSTRUCT_TEMPLATE_SHA256: False, THINKING_TEMPLATE_SHA256: True}


def known_template(template: str) -> bool | None:
    """True/False for the official Thinking/Instruct template text, None for any other text."""
    return _KNOWN.get(hashlib.sha256(template.encode("utf-8")).hexdigest())


def is_thinking(path: Path) -> bool:
    """See the module docstring."""
    template = checkpoint_chat_template(path) or ""
    known = known_template(template)
    if known is not None:
        return known
    return "thinking" in path.name.lower() or "<think>" in template
