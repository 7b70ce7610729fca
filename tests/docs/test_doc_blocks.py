"""Every fenced code block in docs/*.md and docs/families/*.md runs: a doc example that fails is a bug.

How each block is run depends on its language and on an optional marker, an HTML comment on the
line right before the fence (invisible in rendered Markdown, visible in the source):

- ```` ```python ````: executed in-process, in a temp directory holding a copy of the repo's
  ``examples/`` folder, with ``$MMRENDER_STORE`` in that directory and a fresh plugin manager
  (plugins a block registers are gone afterwards). Every ``@hookimpl`` a block defines at module
  level is registered as an in-process plugin before the next block of the page runs, so a
  page's blocks can build on each other, as a reader does.
- ```` ```json ````: parsed.
- ```` ```toml ````: parsed.
- ```` ```bash ```` / ```` ```console ```` / ```` ```sh ````: every command line runs in ``bash`` as a
  real subprocess in that temp directory (offline, local store, this interpreter's ``mmrender``
  first on ``PATH``) and must exit 0; a ``pip install`` line needs a ``with:`` marker doing it.
- unlabelled blocks are text (grammars, formulas); one that holds a command must say its language.

Markers:

- ``<!-- not-run: REASON -->`` skips the block; the reason is listed in the test report, and a
  meta-check keeps such skips few and justified (a named test file must exist). A skipped
  ``python script.py --flag`` line, and a benchmark command written inline in prose
  (`` `python benchmarks/….py --flag` ``), must name a script that exists and takes those flags; every
  ``benchmarks/*.py`` needs such a command.
- ``<!-- given: NAME, … -->`` provides names a fragment continues from (see :data:`GIVEN`).
- ``<!-- with: toy -->`` runs the block against the complete toy family of
  ``tests/plugins_src/throwaway_family`` instead of the page's skeleton: plugins are reset first.
- ``<!-- with: sqlite-example -->`` installs ``tests/plugins_src/sqlite_backend`` the way its page
  says (``pip install --target`` into the temp directory, on ``PYTHONPATH`` for commands) and
  registers it in-process, as a reader who ran the install has it.
- ``<!-- same-as: PATH -->`` the block is the repo file at PATH, verbatim (that file has its own tests).
- ``<!-- keys-of: NAME -->`` (JSON) the example has the same keys, at every level, as the value NAME an
  earlier block of the page computed: an illustrated payload cannot drift from the real one.

A ``Renderer`` subclass a block defines (a skeleton) must match the abstract methods' signatures.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import types
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest

REPO = Path(__file__).resolve().parents[2]
PAGES = sorted([*REPO.glob("docs/*.md"), *REPO.glob("docs/families/*.md")])
FENCE = re.compile(r"^```(?P<lang>[\w-]*)[ \t]*\n(?P<code>.*?)^```[ \t]*$", re.M | re.S)
MARKER = re.compile(r"<!--\s*(?P<kind>not-run|given|with|same-as|keys-of):\s*(?P<arg>.*?)\s*-->\s*\Z")
SHELL = {"bash", "console", "sh", "shell"}
#: At most this many blocks may be skipped; raising it needs a reason in review.
MAX_NOT_RUN = 12
COMMAND_WORDS = ("mmrender ", "python ", "pip ", "pytest ", "$ ")


@attrs.frozen
class Block:
    page: Path
    line: int
    lang: str
    code: str
    marker: str | None = None
    arg: str = ""

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(REPO / 'docs').as_posix()}:{self.line}"


def blocks_of(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = MARKER.search(before)
        found.append(
            Block(
                page=page,
                line=line,
                lang=match.group("lang"),
                code=match.group("code"),
                marker=marker.group("kind") if marker else None,
                arg=marker.group("arg") if marker else "",
            )
        )
    return found


BLOCKS = [b for page in PAGES for b in blocks_of(page)]


def _messages() -> list[dict[str, Any]]:
    return [
        {
            "role": "user",
            "content": [
                {"type": "image", "image": "examples/images/street.jpg"},
                {"type": "text", "text": "What is in this picture?"},
            ],
        }
    ]


def _rendered(ns: dict[str, Any]) -> Any:
    import mmrender

    renderer = mmrender.get_renderer("Qwen/Qwen3-VL-8B-Instruct")
    return renderer.render(ns["messages"], add_generation_prompt=True)


def _ref_string(ns: dict[str, Any]) -> str:
    import mmrender

    return mmrender.wire.generate_request(ns["rendered"])["features"]["kwargs_data"]["image"][0]


#: What ``<!-- given: … -->`` can provide, each built from the ones before it.
GIVEN: dict[str, Callable[[dict[str, Any]], Any]] = {
    "messages": lambda ns: _messages(),
    "rendered": _rendered,
    "ref_string": _ref_string,
    "store_url": lambda ns: os.environ["MMRENDER_STORE"],  # where ``rendered`` stored its image
}
_NEEDS = {"rendered": ("messages",), "ref_string": ("messages", "rendered")}


@pytest.fixture
def doc_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A temp working directory with ``examples/``, a local store and a fresh plugin manager."""
    from mmrender import plugins

    shutil.copytree(REPO / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MMRENDER_STORE", str(tmp_path / "store"))
    monkeypatch.delenv("MMRENDER_PLUGINS", raising=False)
    monkeypatch.delenv("MMRENDER_TRACE_PLUGINS", raising=False)
    plugins.reset()
    yield tmp_path
    plugins.reset()


def _register_hookimpls(namespace: dict[str, Any], name: str) -> None:
    """Register a block's new module-level ``@hookimpl`` functions, as an installed module's would be."""
    import mmrender

    seen = namespace.setdefault("__registered_hookimpls__", set())
    hooks = {k: v for k, v in namespace.items() if hasattr(v, "mmrender_impl") and id(v) not in seen}
    seen.update(id(v) for v in hooks.values())
    if hooks:
        mmrender.register_plugin(types.SimpleNamespace(**hooks), name=name)
        mmrender.plugins.registries()  # calls the registration hooks now: their bodies must run too


@attrs.define
class Page:
    """One page's run: the namespace its Python blocks share and the plugins its blocks asked for."""

    cwd: Path
    install: Callable[[Path, Path, Path], Path]
    monkeypatch: pytest.MonkeyPatch
    namespace: dict[str, Any] = attrs.field(factory=lambda: {"__name__": "__doc_block__"})
    pythonpath: list[str] = attrs.field(factory=list)

    def use(self, block: Block) -> None:
        """Apply a block's ``with:`` marker (see the module docstring)."""
        import mmrender

        if block.arg == "toy":
            mmrender.plugins.reset()
            _register_module(REPO / "tests/plugins_src/throwaway_family/src/mmrender_throwaway/__init__.py")
        elif block.arg == "sqlite-example":  # as a reader who ran its pip install: on the path and loaded
            src = REPO / "tests/plugins_src/sqlite_backend"
            site = self.cwd / ".sqlite-site"
            if not site.exists():
                self.install(src, site, self.cwd / ".sqlite-work")
                (self.cwd / "sqlite_backend").symlink_to(src)
                self.pythonpath.append(str(site))
                self.monkeypatch.syspath_prepend(str(site))
            import mmrender_sqlite_example

            self.monkeypatch.setitem(sys.modules, "mmrender_sqlite_example", mmrender_sqlite_example)  # undone after
            mmrender.register_plugin(mmrender_sqlite_example, name="sqlite-example")
        else:
            pytest.fail(f"{block.id}: unknown with {block.arg!r}")


def _register_module(path: Path) -> None:
    import importlib.util

    import mmrender

    spec = importlib.util.spec_from_file_location(f"{path.parent.name}_docs", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    mmrender.register_plugin(module, name=path.parent.name)


def _run_python(block: Block, namespace: dict[str, Any]) -> None:
    if block.marker == "given":
        for name in [n.strip() for n in block.arg.split(",")]:
            assert name in GIVEN, f"{block.id}: unknown given {name!r} (known: {sorted(GIVEN)})"
            for need in (*_NEEDS.get(name, ()), name):
                if need not in namespace:
                    namespace[need] = GIVEN[need](namespace)
    code = compile(block.code, f"<{block.id}>", "exec")
    exec(code, namespace)  # running the documentation is the point
    _register_hookimpls(namespace, f"docs-{block.id}")
    _check_renderer_signatures(block, namespace)


def _check_renderer_signatures(block: Block, namespace: dict[str, Any]) -> None:
    """A documented renderer's methods take what core passes them (same parameter names and kinds)."""
    import inspect

    from mmrender import Renderer

    def shape(fn: Any) -> list[tuple[str, Any]]:
        return [(p.name, p.kind) for p in inspect.signature(fn).parameters.values()]

    for cls in [v for v in namespace.values() if isinstance(v, type) and issubclass(v, Renderer)]:
        for name in (*Renderer.__abstractmethods__, "walk"):
            if name in vars(cls):
                assert shape(vars(cls)[name]) == shape(getattr(Renderer, name)), f"{block.id}: {cls.__name__}.{name}"


def _run_shell(block: Block, cwd: Path, pythonpath: Sequence[str] = ()) -> None:
    """Each command line runs in bash with this interpreter's scripts first on ``PATH``, offline.

    ``pip install`` lines are what a ``with:`` marker already did (into a temp site directory).
    """
    env = {k: v for k, v in os.environ.items() if k != "MMRENDER_PLUGINS"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join([*pythonpath, *filter(None, [os.environ.get("PYTHONPATH")])])
    for raw in block.code.splitlines():
        line = raw.split(" #", 1)[0].strip().removeprefix("$ ")
        if not line or line.startswith("#"):
            continue
        if line.startswith("pip install"):
            assert block.marker == "with", f"{block.id}: {line!r} needs a with: marker that installs it"
            continue
        proc = subprocess.run(
            ["bash", "-o", "pipefail", "-c", line], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
        )
        assert proc.returncode == 0, f"{block.id}: {line!r} failed:\n{proc.stdout}\n{proc.stderr}"


def _keys(value: Any) -> Any:
    """The nested key structure of a JSON value (lists: that of their first item)."""
    if isinstance(value, dict):
        return {k: _keys(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], (dict, list, tuple)):
        return [_keys(value[0])]
    return None


def _page_blocks() -> list[Any]:
    params = []
    for page in PAGES:
        runnable = [b for b in blocks_of(page) if b.lang and b.marker != "not-run"]
        if runnable:
            params.append(pytest.param(page, id=page.relative_to(REPO / "docs").as_posix()))
    return params


@pytest.mark.parametrize("page", _page_blocks())
def test_page_code_blocks_run(
    page: Path, doc_dir: Path, install_plugin: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page's blocks run top to bottom in one namespace, the way a reader follows them."""
    run = Page(cwd=doc_dir, install=install_plugin, monkeypatch=monkeypatch)
    namespace = run.namespace
    for block in blocks_of(page):
        if block.marker == "not-run" or not block.lang:
            continue
        if block.marker == "with":
            run.use(block)
        if block.marker == "same-as":
            source = (REPO / block.arg).read_text(encoding="utf-8")
            assert block.code == source, f"{block.id} is not {block.arg} verbatim"
        elif block.lang == "python":
            _run_python(block, namespace)
        elif block.lang == "json":
            example = json.loads(block.code)
            if block.marker == "keys-of":
                assert block.arg in namespace, f"{block.id}: no earlier block computed {block.arg!r}"
                assert _keys(example) == _keys(namespace[block.arg]), f"{block.id} differs from {block.arg}"
        elif block.lang == "toml":
            tomllib.loads(block.code)
        elif block.lang in SHELL:
            _run_shell(block, doc_dir, run.pythonpath)
        else:
            pytest.fail(f"{block.id}: no runner for a {block.lang!r} block")


def test_skipped_blocks_are_few_and_justified() -> None:
    skipped = [b for b in BLOCKS if b.marker == "not-run"]
    report = "\n".join(f"  {b.id}: {b.arg}" for b in skipped)
    print(f"doc blocks not run ({len(skipped)}):\n{report}")
    assert len(skipped) <= MAX_NOT_RUN, f"too many doc blocks are not run:\n{report}"
    for b in skipped:
        assert len(b.arg) >= 20, f"{b.id}: a not-run marker needs a real reason, got {b.arg!r}"
        for path in re.findall(r"\btests/[\w/.-]+\.py\b", b.arg):
            assert (REPO / path).is_file(), f"{b.id}: the reason names {path}, which does not exist"


def _script_commands() -> Iterator[tuple[str, str]]:
    """``python path/script.py …`` lines of skipped shell blocks, and benchmark commands written inline in
    prose (`` `python benchmarks/….py --flag` ``, the way a section names its command without a block)."""
    for b in BLOCKS:
        if b.marker == "not-run" and b.lang in SHELL:
            for line in b.code.splitlines():
                yield b.id, line.split(" #", 1)[0].strip()
    for page in PAGES:
        text = FENCE.sub("", page.read_text(encoding="utf-8"))
        for match in re.finditer(r"`(python benchmarks/[^`]+)`", text):
            yield page.relative_to(REPO / "docs").as_posix(), " ".join(match.group(1).split())


def _check_script_command(where: str, line: str) -> None:
    """A ``python path/script.py --flag …`` line names a script that exists and takes those flags."""
    match = re.match(r"python (\S+\.py)(.*)", line)
    if not match:
        return
    script = REPO / match.group(1)
    assert script.is_file(), f"{where}: {match.group(1)} does not exist"
    usage = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=300)
    assert usage.returncode == 0, f"{where}: {match.group(1)} --help failed: {usage.stderr}"
    for flag in re.findall(r"--[\w-]+", match.group(2)):
        assert flag in usage.stdout, f"{where}: {match.group(1)} takes no {flag}"


def test_skipped_commands_name_scripts_and_flags_that_exist() -> None:
    """A skipped ``python path/script.py --flag …`` line (or a benchmark command in prose) must still be
    right: the script exists and takes those flags."""
    commands = list(_script_commands())
    named = {line.split()[1] for _, line in commands if line.startswith("python ")}
    for script in sorted(REPO.glob("benchmarks/*.py")):
        assert script.relative_to(REPO).as_posix() in named, (
            f"docs name no command for {script.name}, so nothing checks it"
        )
    for where, line in commands:
        _check_script_command(where, line)


def test_the_script_command_check_fails_on_a_wrong_flag_or_script() -> None:
    with pytest.raises(AssertionError, match="takes no --no-such-flag"):
        _check_script_command("x", "python benchmarks/bench_video.py --duration 60 --no-such-flag 3")
    with pytest.raises(AssertionError, match="does not exist"):
        _check_script_command("x", "python benchmarks/bench_nothing.py --runs 3")


def test_unlabelled_blocks_hold_no_commands() -> None:
    """A command in an unlabelled block would escape the runner: it must say it is bash."""
    for b in BLOCKS:
        if b.lang:
            continue
        for line in b.code.splitlines():
            assert not line.lstrip().startswith(COMMAND_WORDS), f"{b.id}: label the block (```bash): {line!r}"


def test_markers_attach_to_a_block() -> None:
    """A marker not directly above a fence would silently do nothing."""
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in re.finditer(r"<!--\s*(not-run|given|with|same-as|keys-of):.*?-->\s*\n(.*)\n", text):
            assert match.group(2).startswith("```"), f"{page.name}: marker not followed by a fence: {match.group(0)!r}"


def test_readme_blocks_are_the_ones_its_own_test_runs() -> None:
    """README.md's blocks are run by tests/repo/test_readme_commands.py (and CI): no others may appear."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    langs = [m.group("lang") for m in FENCE.finditer(readme)]
    assert langs == ["", "", "python"], f"README.md blocks changed ({langs}): extend test_readme_commands.py"


def test_the_runner_fails_on_a_broken_block(doc_dir: Path) -> None:
    """The harness itself can fail: a wrong assert, a bad command and bad JSON are caught."""
    page = REPO / "docs" / "x.md"
    with pytest.raises(AssertionError):
        _run_python(Block(page, 1, "python", "assert 1 == 2\n"), {})
    with pytest.raises(AssertionError):
        _run_shell(Block(page, 1, "bash", "mmrender resolve no/such-model\n"), doc_dir)
    with pytest.raises(json.JSONDecodeError):
        json.loads('{"token_ids": [...]}')
