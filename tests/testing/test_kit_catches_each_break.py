"""Every check can fail: a family or store broken in exactly one way fails exactly the checks that look there.

The family variants (``broken_families.py``) are the out-of-tree toy family with one contract broken
each, the store variants (``broken_stores.py``) the kit's MemoryStore; the unbroken ones pass the kit
(``test_kit_families.py``, ``test_kit_stores.py``). The multi-process check's break is the torn
``tornfile://`` store (``test_kit_proofs.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import broken_stores
import mmrender
import pytest
from broken_families import VARIANTS, BrokenFamilies
from mmrender.testing import FAMILY_CHECKS, STORE_CHECKS, check_family, check_store


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
    assert _failed(message) == expected, message
    assert f"{len(expected)} of {len(FAMILY_CHECKS)} checks failed for family acme/broken-{variant}" in message


def _failed(message: str) -> set[str]:
    return set(re.findall(r"^  - \[(\w+)\]", message, flags=re.MULTILINE))


def test_every_store_check_but_the_multi_process_one_is_broken_by_some_variant() -> None:
    broken = set().union(*(expected for _, expected in broken_stores.VARIANTS.values()))
    assert broken == set(STORE_CHECKS) - {"put_atomic_processes"}


@pytest.mark.parametrize("variant", list(broken_stores.VARIANTS))
def test_the_kit_fails_exactly_the_broken_store_contract(variant: str) -> None:
    cls, expected = broken_stores.VARIANTS[variant]
    with pytest.raises(AssertionError) as info:
        check_store(cls())
    assert _failed(str(info.value)) == expected, str(info.value)
