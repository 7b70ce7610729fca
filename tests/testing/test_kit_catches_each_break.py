"""Every family check can fail: a family broken in exactly one way fails exactly the checks that look there.

The variants (``broken_families.py``) are the out-of-tree toy family with one contract broken each;
the unbroken toy passes the kit (``test_kit_families.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import mmrender
import pytest
from broken_families import VARIANTS, BrokenFamilies
from mmrender.testing import FAMILY_CHECKS, check_family


@pytest.fixture(autouse=True)
def broken_families(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MMRENDER_PLUGINS", "mmrender-storage")
    mmrender.plugins.reset()
    plugin = BrokenFamilies()
    mmrender.register_plugin(plugin, name="broken-families")
    yield
    mmrender.unregister_plugin(plugin)


def test_every_family_check_is_broken_by_some_variant() -> None:
    assert set().union(*(expected for _, _, expected in VARIANTS.values())) == set(FAMILY_CHECKS)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_the_kit_fails_exactly_the_broken_contract(variant: str) -> None:
    expected = VARIANTS[variant][2]
    with pytest.raises(AssertionError) as info:
        check_family(f"acme/broken-{variant}")
    message = str(info.value)
    failed = set(re.findall(r"^  - \[(\w+)\]", message, flags=re.MULTILINE))
    assert failed == expected, message
    assert f"{len(expected)} of {len(FAMILY_CHECKS)} checks failed for family acme/broken-{variant}" in message
