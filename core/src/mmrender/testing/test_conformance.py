"""The kit as tests: ``python -m pytest --pyargs mmrender.testing --mmrender-family MODEL --mmrender-store URL``.

The plugin (``mmrender.testing.plugin``) parametrises these over every check; see its docstring.
"""

from __future__ import annotations

from typing import Any

import pytest

from mmrender.testing.plugin import USAGE, KitCase


def test_family(mmrender_family_case: KitCase, mmrender_kit_contexts: dict[Any, Any]) -> None:
    mmrender_family_case.run(mmrender_kit_contexts)


def test_store(mmrender_store_case: KitCase, mmrender_kit_contexts: dict[Any, Any]) -> None:
    mmrender_store_case.run(mmrender_kit_contexts)


def test_usage() -> None:
    pytest.fail(USAGE, pytrace=False)
