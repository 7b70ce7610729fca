"""Named contract checks: one function per check, run one by one so every failure is reported, not just the first."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal

import attrs

Outcome = Literal["passed", "failed", "not_applicable"]


class NotApplicable(Exception):
    """Raised by a check whose contract does not apply here (e.g. a store that cannot list its assets)."""


@attrs.frozen
class Check:
    """One contract: ``run(context)`` returns (optionally a note) on success and raises on failure."""

    name: str
    kind: Literal["family", "store"]
    run: Callable[[Any], str | None] = attrs.field(repr=False)
    doc: str = ""


@attrs.frozen
class CheckResult:
    """What one check said about one family or store."""

    check: str
    subject: str
    outcome: Outcome
    detail: str = ""

    def line(self) -> str:
        return f"[{self.check}] {self.subject}: {self.detail}"


#: Every check, by kind, in the order they run (and are listed in docs/testing.md).
FAMILY_CHECKS: dict[str, Check] = {}
STORE_CHECKS: dict[str, Check] = {}


CheckFunction = Callable[[Any], str | None]


def _register(table: dict[str, Check], kind: Literal["family", "store"]) -> Callable[[CheckFunction], CheckFunction]:
    """A decorator that adds ``check_<name>`` to ``table`` as check ``<name>`` (its docstring's first line says what)."""

    def decorate(fn: CheckFunction) -> CheckFunction:
        name = fn.__name__.removeprefix("check_")
        if name in table:
            raise ValueError(f"two {kind} checks are named {name!r}")
        doc = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""
        table[name] = Check(name=name, kind=kind, run=fn, doc=doc)
        return fn

    return decorate


family_check = _register(FAMILY_CHECKS, "family")
store_check = _register(STORE_CHECKS, "store")


def _describe_failure(exc: BaseException) -> str:
    """The assertion text, or for an unexpected exception its type, message and where it was raised."""
    if isinstance(exc, AssertionError) and str(exc):
        return str(exc)
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


def run_check(check: Check, context: Any, subject: str) -> CheckResult:
    """Run one check and turn whatever it raised into a result (never raises, except KeyboardInterrupt)."""
    try:
        note = check.run(context)
    except NotApplicable as exc:
        return CheckResult(check.name, subject, "not_applicable", str(exc))
    except Exception as exc:
        return CheckResult(check.name, subject, "failed", _describe_failure(exc))
    return CheckResult(check.name, subject, "passed", note or "")


@attrs.frozen
class KitReport:
    """All results of one kit run; :meth:`raise_for_failures` raises one error listing every failure."""

    subject: str
    results: tuple[CheckResult, ...]

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.results if r.outcome == "failed")

    @property
    def not_applicable(self) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.results if r.outcome == "not_applicable")

    def __iter__(self) -> Iterator[CheckResult]:
        return iter(self.results)

    def raise_for_failures(self) -> KitReport:
        failures = self.failures
        if failures:
            lines = "\n".join(f"  - {r.line()}" for r in failures)
            raise AssertionError(
                f"mmrender conformance kit: {len(failures)} of {len(self.results)} checks failed for {self.subject}:\n"
                f"{lines}"
            )
        return self


def run_all(checks: Iterable[Check], context: Any, subject: str) -> KitReport:
    return KitReport(subject, tuple(run_check(check, context, subject) for check in checks))
