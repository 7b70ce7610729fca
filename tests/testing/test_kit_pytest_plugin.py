"""The kit's pytest plugin, run as a plugin author would: ``python -m pytest --pyargs mmrender.testing`` in a
fresh process from an unrelated directory, found through its ``pytest11`` entry point."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from mmrender.testing import FAMILY_CHECKS, STORE_CHECKS

MODEL = "moonshotai/Kimi-K2.5"  # the quickest bundled family to load (a tiktoken tokenizer)
INLINE_NOT_APPLICABLE = ("tampered_asset", "missing_asset", "iter_assets", "stat", "delete")


def run_kit(
    cwd: Path, *args: str, site: Path | None = None
) -> tuple[subprocess.CompletedProcess[str], list[ET.Element]]:
    """Run the kit with a JUnit report (``site``: an extra plugin directory); return the process and its cases."""
    report = cwd / "report.xml"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MMRENDER_", "PYTEST_", "PYTHONPATH"))}
    if site is not None:
        env["PYTHONPATH"] = str(site)
    command = [sys.executable, "-m", "pytest", "--pyargs", "mmrender.testing", "-p", "no:cacheprovider", "-q"]
    proc = subprocess.run(
        [*command, f"--junitxml={report}", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    cases = list(ET.parse(report).getroot().iter("testcase")) if report.exists() else []
    return proc, cases


def _outcome(case: ET.Element) -> str:
    for tag in ("failure", "error", "skipped"):
        if case.find(tag) is not None:
            return tag
    return "passed"


def test_one_test_per_check(tmp_path: Path) -> None:
    store = tmp_path / "store"
    args = ("--mmrender-family", MODEL, "--mmrender-store", str(store), "--mmrender-store", "data:")
    proc, cases = run_kit(tmp_path, *args)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    outcomes = {case.get("name"): _outcome(case) for case in cases}
    expected = [f"test_family[{check}@{MODEL}]" for check in FAMILY_CHECKS]
    expected += [f"test_store[{check}@{store}]" for check in STORE_CHECKS]
    expected += [f"test_store[{check}@data:]" for check in STORE_CHECKS]
    assert sorted(outcomes) == sorted(expected)  # one test per check and subject, nothing else (no usage test)
    inline_skips = {f"test_store[{check}@data:]" for check in INLINE_NOT_APPLICABLE}
    assert {name for name, outcome in outcomes.items() if outcome == "skipped"} == inline_skips
    assert {name for name, outcome in outcomes.items() if outcome != "skipped"} == set(expected) - inline_skips
    assert set(outcomes.values()) == {"passed", "skipped"}
    # not-applicable checks are skips that say why, never passes
    reasons = {
        case.get("name"): case.find("skipped").get("message", "") for case in cases if _outcome(case) == "skipped"
    }
    assert (
        "not applicable: [iter_assets] store data:: the store cannot list its assets"
        in reasons["test_store[iter_assets@data:]"]
    )


def test_without_a_family_or_store_one_test_fails_with_the_usage(tmp_path: Path) -> None:
    proc, cases = run_kit(tmp_path)
    assert proc.returncode == 1
    assert [(case.get("name"), _outcome(case)) for case in cases] == [("test_usage", "failure")]
    assert "--mmrender-family MODEL --mmrender-store URL" in proc.stdout


def test_a_failing_check_is_a_failing_test_named_after_it(tmp_path: Path, torn_store_site: Path) -> None:
    url = f"tornfile://{tmp_path / 'torn'}"
    proc, cases = run_kit(tmp_path, "--mmrender-store", url, site=torn_store_site)
    assert proc.returncode == 1, proc.stdout[-4000:] + proc.stderr[-4000:]
    failed = {case.get("name") for case in cases if _outcome(case) == "failure"}
    assert failed == {f"test_store[put_atomic_threads@{url}]", f"test_store[put_atomic_processes@{url}]"}
    assert "[put_atomic_threads] store " in proc.stdout
