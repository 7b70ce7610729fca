"""The README promises exactly two set-up commands; CI must run those very lines."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _block(marker: str) -> list[str]:
    match = re.search(rf"<!-- {marker} -->\n```\n(.*?)\n```\n<!-- /{marker} -->", README, re.S)
    assert match, f"README has no {marker} block"
    return [line for line in match.group(1).splitlines() if line.strip()]


def test_exactly_two_setup_commands() -> None:
    setup = README.split("## Set up on a fresh machine", 1)[1].split("\n## ", 1)[0]
    assert setup.count("```\n") == 4, "the set-up section must hold exactly two fenced commands"
    assert len(_block("main-job")) == 1
    assert len(_block("tests")) == 1


def test_main_job_installs_then_renders_the_bundled_example() -> None:
    (command,) = _block("main-job")
    assert "pip install -r requirements.txt" in command
    assert "mmrender render examples/conversations.jsonl" in command
    assert (ROOT / "examples" / "conversations.jsonl").is_file()


def test_requirements_install_every_distribution() -> None:
    reqs = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    for folder in [
        "core",
        "storage",
        *(p.parent.relative_to(ROOT).as_posix() for p in ROOT.glob("families/*/pyproject.toml")),
    ]:
        assert f"./{folder}" in reqs, f"requirements.txt does not install {folder}"


def test_ci_runs_the_readme_commands() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "<!-- main-job -->" in ci and "<!-- tests -->" in ci, ".ci/run must execute the README's own lines"


def test_quick_start_runs_as_written(tmp_path: Path) -> None:
    """The README's Python quick start is executed verbatim (from the repo root, store in tmp)."""
    import os
    import subprocess
    import sys

    match = re.search(r"```python\n(.*?)\n```", README, re.S)
    assert match, "README has no python quick start"
    code = match.group(1).replace('store="./mmrender-store"', f"store={str(tmp_path / 'store')!r}")
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ}
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "A quiet street." in lines
    assert lines[-1] == "(1, 30, 40) (640, 480)"
