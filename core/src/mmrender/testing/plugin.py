"""pytest plugin (entry point ``pytest11``: ``mmrender``): the kit's checks as one test each.

``python -m pytest --pyargs mmrender.testing --mmrender-family MODEL --mmrender-store URL`` collects
``mmrender/testing/test_conformance.py`` and parametrises it over every check of every family and
store named (both options repeat). With neither option it collects a single test that fails with
the usage, so a misconfigured CI job can never pass by running nothing. Only this module imports
pytest; the kit's own modules are imported when a kit test is collected, so other suites pay nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

KIT_TESTS = Path(__file__).with_name("test_conformance.py")
USAGE = (
    "the mmrender conformance kit needs something to check: "
    "python -m pytest --pyargs mmrender.testing --mmrender-family MODEL --mmrender-store URL "
    "(both options repeat; see docs/testing.md)"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mmrender", "mmrender conformance kit (python -m pytest --pyargs mmrender.testing)")
    group.addoption(
        "--mmrender-family",
        action="append",
        default=[],
        metavar="MODEL",
        help="run the family checks on MODEL (a model id, alias or checkpoint directory); repeatable",
    )
    group.addoption(
        "--mmrender-store",
        action="append",
        default=[],
        metavar="URL",
        help="run the store checks on the store at URL (a scratch location: the kit writes there); repeatable",
    )


class KitCase:
    """One check on one family or store; the contexts are shared by all checks of that subject."""

    def __init__(self, kind: str, subject: str, check: str) -> None:
        self.kind, self.subject, self.check = kind, subject, check

    def __repr__(self) -> str:
        return f"{self.check}@{self.subject}"

    def run(self, contexts: dict[tuple[str, str], Any]) -> None:
        from . import FAMILY_CHECKS, STORE_CHECKS, FamilyContext, StoreContext
        from .registry import run_check

        key = (self.kind, self.subject)
        if key not in contexts:
            contexts[key] = FamilyContext(self.subject) if self.kind == "family" else StoreContext(self.subject)
        table = FAMILY_CHECKS if self.kind == "family" else STORE_CHECKS
        result = run_check(table[self.check], contexts[key], f"{self.kind} {self.subject}")
        if result.outcome == "failed":
            pytest.fail(result.line(), pytrace=False)
        if result.outcome == "not_applicable":
            pytest.skip(f"not applicable: {result.line()}")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for kind, option in (("family", "mmrender_family"), ("store", "mmrender_store")):
        argument = f"mmrender_{kind}_case"
        if argument not in metafunc.fixturenames:
            continue
        subjects = metafunc.config.getoption(option)
        if not subjects:
            continue  # no parametrisation: the item is deselected below, never skipped
        from . import FAMILY_CHECKS, STORE_CHECKS

        names = FAMILY_CHECKS if kind == "family" else STORE_CHECKS
        cases = [KitCase(kind, subject, name) for subject in subjects for name in names]
        metafunc.parametrize(argument, cases, ids=[repr(case) for case in cases])


def _is_kit_item(item: pytest.Item) -> bool:
    return getattr(item, "path", None) == KIT_TESTS


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Drop kit tests with nothing to check: the usage test when a subject is given, unparametrised checks."""
    asked = bool(config.getoption("mmrender_family") or config.getoption("mmrender_store"))
    keep, drop = [], []
    for item in items:
        if not _is_kit_item(item):
            keep.append(item)
            continue
        name = getattr(item, "originalname", item.name)
        if name == "test_usage":
            (drop if asked else keep).append(item)
        elif hasattr(item, "callspec"):
            keep.append(item)
        else:
            drop.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def mmrender_kit_contexts() -> Any:
    """Family and store contexts shared by every check of one subject, closed at the end of the session."""
    contexts: dict[tuple[str, str], Any] = {}
    yield contexts
    for context in contexts.values():
        context.close()


def pytest_report_header(config: pytest.Config) -> list[str]:
    families, stores = config.getoption("mmrender_family"), config.getoption("mmrender_store")
    if not (families or stores):
        return []
    return [f"mmrender kit: families {families or '-'}; stores {stores or '-'}"]
