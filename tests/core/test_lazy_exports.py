"""``import mmrender`` leaves the trainer side (batching, processor inputs) for first use, yet every
exported name still resolves to the object its module defines, whatever was imported before."""

from __future__ import annotations

import subprocess
import sys

import pytest

LAZY_MODULES = ("mmrender.batching", "mmrender.trainer_inputs")


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_import_does_not_load_the_trainer_side() -> None:
    out = _run(f"import sys, mmrender; print([m for m in {LAZY_MODULES!r} if m in sys.modules])")
    assert out == "[]"


@pytest.mark.parametrize("first", ["", "import mmrender.trainer_inputs, mmrender.batching, mmrender.materialize"])
def test_every_exported_name_is_its_modules_object(first: str) -> None:
    code = f"""
{first}
import importlib, inspect, mmrender
wrong = []
for name in mmrender.__all__:
    value = getattr(mmrender, name)
    if inspect.ismodule(value):
        if name not in ("refs", "wire"):
            wrong.append(name)
        continue
    if not (inspect.isclass(value) or inspect.isfunction(value)):
        continue  # hookimpl: a pluggy marker instance
    home = importlib.import_module(value.__module__)
    if getattr(home, value.__name__, None) is not value:
        wrong.append(name)
print(wrong, sorted(set(mmrender.__all__) - set(dir(mmrender))))
"""
    assert _run(code) == "[] []"


def test_an_unknown_name_is_an_attribute_error() -> None:
    import mmrender

    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        mmrender.not_a_name  # noqa: B018
