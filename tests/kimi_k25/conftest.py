"""Make ``mmrender_kimi_k25`` importable before the family has its own distribution.

Why: the package has no pyproject/entry point yet (it waits for the renderer and core hooks), so
it is not in requirements.txt. Once it is installed, the import below succeeds and nothing changes.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

if importlib.util.find_spec("mmrender_kimi_k25") is None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "families" / "kimi_k25" / "src"))
