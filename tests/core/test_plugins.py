"""Plugins: an out-of-tree family found by entry point, conflicts, the allow-list, tracing, overrides.

The throwaway family (tests/plugins_src/throwaway_family) is pip-installed into a temp site
directory and exercised in fresh interpreters, exactly as a third-party plugin would be; the
behaviour-hook tests register it in-process with ``mmrender.register_plugin``.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import mmrender
import pytest
from mmrender import (
    ConfigError,
    FamilySpec,
    ModelRoute,
    PluginConflictError,
    PluginError,
    RawMMRef,
    UnknownModelError,
    hookimpl,
    plugins,
    refs,
)
from mmrender.errors import RefFormatError
from mmrender.storage import StorageBackend
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
DIST = "mmrender-throwaway-family"
TOY = "acme/toy-vl-1"
#: Subprocesses load only these (plus any dist a test adds): other families in the tree are not under test here.
ALLOW = f"mmrender-storage,{DIST}"


def _png(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def _last_json(stdout: str) -> Any:
    return json.loads(stdout.strip().splitlines()[-1])


# -- an out-of-tree distribution, found by entry point -------------------------------------------

RESOLVE_CODE = """
import json, mmrender, mmrender_throwaway
from mmrender import plugins
r = mmrender.get_renderer("acme/toy-vl-1")
out = r.render([{"role": "user", "content": "hi"}])
print(json.dumps({
    "renderer": type(r).__module__ + "." + type(r).__name__,
    "module_file": mmrender_throwaway.__file__,
    "ids": list(out.token_ids),
    "dist": plugins.distribution_of("throwaway"),
    "version": plugins.version_of("throwaway"),
}))
"""


def test_out_of_tree_family_resolves_by_entry_point(throwaway_site, run_python):
    proc = run_python(RESOLVE_CODE, throwaway_site, env={"MMRENDER_PLUGINS": ALLOW})
    assert proc.returncode == 0, proc.stderr
    out = _last_json(proc.stdout)
    assert out["renderer"] == "mmrender_throwaway.ToyRenderer"
    assert Path(out["module_file"]).is_relative_to(throwaway_site)  # the installed copy, not the tree
    assert out["ids"] == list(b"<user>hi")
    assert (out["dist"], out["version"]) == (DIST, "0.0.1")


def test_without_the_distribution_the_model_is_unknown(run_python):
    code = "import mmrender\ntry:\n    mmrender.resolve('acme/toy-vl-1')\nexcept mmrender.UnknownModelError as e:\n    print('unknown', e)"
    proc = run_python(code, env={"MMRENDER_PLUGINS": ALLOW})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("unknown")


def test_core_names_no_family():
    """Core must not know the throwaway (or any family) by name: the entry point alone brings it in."""
    core = REPO / "core" / "src" / "mmrender"
    text = "\n".join(p.read_text(encoding="utf-8") for p in core.rglob("*.py")).lower()
    for name in ("acme", "throwaway", "mmrender_qwen", "mmrender_kimi"):
        assert name not in text


def test_cli_plugins_json_lists_the_throwaway(throwaway_site, run_python):
    args = [sys.executable, "-m", "mmrender", "plugins", "--json"]
    proc = run_python("", throwaway_site, args=args, env={"MMRENDER_PLUGINS": ALLOW})
    assert proc.returncode == 0, proc.stderr
    rows = {row["name"]: row for row in json.loads(proc.stdout)}
    row = rows["throwaway"]
    assert row["distribution"] == DIST and row["version"] == "0.0.1"
    assert row["families"] == ["acme_toy"]
    assert {"acme/toy-vl-1", "acme/toy-vl-1-large", "toy-vl"} <= set(row["models"])
    assert row["hooks"] == ["register_families"]
    assert rows["mmrender.default"]["distribution"] == "mmrender-core"


# -- conflicts between distributions -------------------------------------------------------------

RIVAL_FAMILY = """
from mmrender import FamilySpec, ModelRoute, RendererOptions, hookimpl

@hookimpl
def register_families(register):
    register(FamilySpec(id="rival", routes=(ModelRoute("acme/toy-vl-1"),), create=None,
                        options_class=RendererOptions))
"""


def test_two_distributions_claiming_one_model_conflict(throwaway_site, make_dist, run_python):
    rival_site = make_dist("mmrender-toy-rival", "toy_rival", RIVAL_FAMILY)
    code = "import mmrender\ntry:\n    mmrender.resolve('acme/toy-vl-1')\nexcept mmrender.PluginConflictError as e:\n    print(e)"
    proc = run_python(code, throwaway_site, rival_site, env={"MMRENDER_PLUGINS": ALLOW + ",mmrender-toy-rival"})
    assert proc.returncode == 0, proc.stderr
    message = proc.stdout
    assert "'acme/toy-vl-1'" in message
    assert "mmrender-throwaway-family" in message and "mmrender-toy-rival" in message


def test_two_distributions_with_one_entry_point_name_conflict(throwaway_site, make_dist, run_python):
    """Same entry-point name from two distributions: pluggy would keep one at random; we refuse."""
    rival_site = make_dist("mmrender-toy-rival", "throwaway", RIVAL_FAMILY.replace("acme/toy-vl-1", "acme/other"))
    code = "import mmrender\ntry:\n    mmrender.families()\nexcept mmrender.PluginConflictError as e:\n    print(e)"
    proc = run_python(code, throwaway_site, rival_site, env={"MMRENDER_PLUGINS": ALLOW + ",mmrender-toy-rival"})
    assert proc.returncode == 0, proc.stderr
    assert "mmrender-throwaway-family" in proc.stdout and "mmrender-toy-rival" in proc.stdout


def test_entry_point_with_misspelled_hook_fails_loudly(make_dist, run_python):
    site = make_dist(
        "mmrender-typo",
        "typo_plugin",
        "from mmrender import hookimpl\n\n@hookimpl\ndef register_familys(register):\n    pass\n",
    )
    code = "import mmrender\ntry:\n    mmrender.families()\nexcept mmrender.PluginError as e:\n    print(type(e).__name__, e)"
    proc = run_python(code, site, env={"MMRENDER_PLUGINS": "mmrender-typo"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("PluginError") and "register_familys" in proc.stdout


def test_entry_point_that_fails_to_import_names_its_distribution(make_dist, run_python):
    site = make_dist("mmrender-broken", "broken_plugin", "raise ImportError('needs a missing thing')\n")
    code = "import mmrender\ntry:\n    mmrender.families()\nexcept mmrender.PluginError as e:\n    print(e)"
    proc = run_python(code, site, env={"MMRENDER_PLUGINS": "mmrender-broken"})
    assert proc.returncode == 0, proc.stderr
    assert "mmrender-broken" in proc.stdout and "needs a missing thing" in proc.stdout


def test_in_process_plugin_claiming_a_model_conflicts(throwaway_module):
    plugins.register_plugin(throwaway_module, name="throwaway-a")

    class Rival:
        @hookimpl
        def register_families(self, register):
            register(
                FamilySpec(
                    id="rival", routes=(ModelRoute("toy-vl"),), create=None, options_class=mmrender.RendererOptions
                )
            )

    plugins.register_plugin(Rival(), name="rival-b")
    with pytest.raises(PluginConflictError) as info:
        mmrender.resolve(TOY)
    err = info.value
    assert err.kind == "model" and err.key == "toy-vl"  # an alias clashing with a model id counts too
    assert {err.first, err.second} == {"throwaway-a", "rival-b"}
    assert "throwaway-a" in str(err) and "rival-b" in str(err)


class _Backend(StorageBackend):
    def __init__(self, *schemes: str) -> None:
        self.schemes = schemes

    def open_store(self, url: str, **options: Any) -> Any:
        raise NotImplementedError

    def read(self, uri: str, **options: Any) -> bytes:
        raise NotImplementedError


def _backend_plugin(*schemes: str) -> object:
    backend = _Backend(*schemes)
    return SimpleNamespace(register_storage_backends=hookimpl(lambda register: register(backend)))


def test_scheme_conflict_names_both_distributions():
    plugins.register_plugin(_backend_plugin("file"), name="rival-files")
    with pytest.raises(PluginConflictError) as info:
        plugins.registries()
    err = info.value
    assert (err.kind, err.key) == ("URI scheme", "file")
    assert "mmrender-storage" in str(err) and "rival-files" in str(err)


def test_scheme_conflict_between_two_in_process_backends():
    plugins.register_plugin(_backend_plugin("toy"), name="toy-one")
    plugins.register_plugin(_backend_plugin("toy", "toy2"), name="toy-two")
    with pytest.raises(PluginConflictError, match=r"toy-one.*toy-two|toy-two.*toy-one"):
        plugins.registries()


def test_one_plugin_may_register_several_schemes():
    plugins.register_plugin(_backend_plugin("toy", "toy2"), name="toy-many")
    backends = plugins.registries().backends
    assert backends["toy"][1] == backends["toy2"][1] == "toy-many"


# -- the allow-list ------------------------------------------------------------------------------

LIST_CODE = """
import json
from mmrender import plugins
pm = plugins.get_plugin_manager()
reg = plugins.registries()
print(json.dumps({"plugins": sorted(n for n, _ in pm.list_name_plugin()),
                  "families": sorted({s.id for s, _ in reg.families.values()}),
                  "schemes": sorted(reg.backends)}))
"""


def test_empty_allow_list_loads_no_entry_points(throwaway_site, run_python):
    proc = run_python(LIST_CODE, throwaway_site, env={"MMRENDER_PLUGINS": ""})
    assert proc.returncode == 0, proc.stderr
    assert _last_json(proc.stdout) == {"plugins": ["mmrender.default"], "families": [], "schemes": []}


def test_allow_list_loads_only_the_named_distribution(throwaway_site, run_python):
    for spelling in (DIST, "MMRENDER_THROWAWAY_FAMILY", f" nothing-else , {DIST} "):
        proc = run_python(LIST_CODE, throwaway_site, env={"MMRENDER_PLUGINS": spelling})
        assert proc.returncode == 0, proc.stderr
        assert _last_json(proc.stdout) == {
            "plugins": ["mmrender.default", "throwaway"],
            "families": ["acme_toy"],
            "schemes": [],
        }


def test_unset_allow_list_loads_everything_installed(throwaway_site, run_python):
    """No allow-list: every installed entry point loads (so every installed plugin must import)."""
    proc = run_python(LIST_CODE, throwaway_site)
    assert proc.returncode == 0, proc.stderr
    out = _last_json(proc.stdout)
    assert {"mmrender.default", "throwaway", "file", "data"} <= set(out["plugins"])
    assert "acme_toy" in out["families"] and {"file", "data"} <= set(out["schemes"])


def test_empty_allow_list_in_process(monkeypatch):
    monkeypatch.setenv("MMRENDER_PLUGINS", "")
    plugins.reset()
    names = [n for n, _ in plugins.get_plugin_manager().list_name_plugin()]
    assert names == ["mmrender.default"]
    assert plugins.registries().backends == {}
    with pytest.raises(UnknownModelError, match="no family plugins are installed"):
        mmrender.resolve(TOY)


# -- check_pending -------------------------------------------------------------------------------


class _Typo:
    @hookimpl
    def mmrender_imagelayout(self, renderer, width, height):  # misspelled on purpose
        return None


def test_misspelled_hook_fails_loudly():
    plugins.get_plugin_manager()
    with pytest.raises(PluginError, match="mmrender_imagelayout"):
        plugins.register_plugin(_Typo(), name="typo")
    assert plugins.get_plugin_manager().get_plugin("typo") is None
    assert "file" in plugins.registries().backends  # the manager still works


def test_misspelled_hook_as_first_registration_does_not_poison_the_manager():
    plugins.reset()
    with pytest.raises(PluginError, match="mmrender_imagelayout"):
        plugins.register_plugin(_Typo(), name="typo")
    assert "file" in plugins.registries().backends
    assert plugins.get_plugin_manager().get_plugin("typo") is None


def test_wrong_argument_name_fails_loudly():
    class BadArgs:
        @hookimpl
        def mmrender_image_layout(self, renderer, w, h):
            return None

    with pytest.raises(PluginError, match="bad-args"):
        plugins.register_plugin(BadArgs(), name="bad-args")
    assert plugins.get_plugin_manager().get_plugin("bad-args") is None


# -- tracing -------------------------------------------------------------------------------------

TRACE_CODE = """
import mmrender
from mmrender import refs
from mmrender.types import RawMMRef
r = mmrender.get_renderer("acme/toy-vl-1")
r.image_layout(640, 480)
r.render([{"role": "user", "content": "hi"}])
refs.dump(RawMMRef(family="acme_toy", fingerprint="0" * 32, modality="image", mm_hash="1" * 32,
                   payload={}, raw_uri="file:///x"))
print("ok")
"""


def test_trace_plugins_prints_hook_calls(throwaway_site, run_python):
    quiet = run_python(TRACE_CODE, throwaway_site, env={"MMRENDER_PLUGINS": ALLOW})
    assert quiet.returncode == 0, quiet.stderr
    assert "mmrender_" not in quiet.stderr and "register_families" not in quiet.stderr
    loud = run_python(TRACE_CODE, throwaway_site, env={"MMRENDER_TRACE_PLUGINS": "1", "MMRENDER_PLUGINS": ALLOW})
    assert loud.returncode == 0, loud.stderr
    for hook_name in (
        "register_families",
        "register_storage_backends",
        "register_ref_codecs",
        "mmrender_image_layout",
        "mmrender_render",
        "mmrender_serialize_ref",
    ):
        assert hook_name in loud.stderr, hook_name
    assert "mmrender.default" in loud.stderr  # names the implementations called


# -- resolution ----------------------------------------------------------------------------------


@pytest.fixture
def toy(throwaway_module: ModuleType) -> ModuleType:
    plugins.register_plugin(throwaway_module, name="throwaway")
    return throwaway_module


def test_resolve_exact_id(toy):
    spec, route = mmrender.resolve(TOY)
    assert spec is toy.SPEC and route.model_id == TOY
    spec, route = mmrender.resolve("acme/toy-vl-1-large")
    assert route.settings == {"size": "large"}


def test_resolve_alias(toy):
    spec, route = mmrender.resolve("toy-vl")
    assert spec is toy.SPEC and route.model_id == TOY


def test_resolve_local_checkpoint_dir(toy, tmp_path):
    ckpt = tmp_path / "my-finetune"
    ckpt.mkdir()
    (ckpt / "config.json").write_text(json.dumps({"model_type": "acme_toy_vl", "hidden_size": 8}))
    spec, route = mmrender.resolve(str(ckpt))
    assert spec is toy.SPEC
    assert route.settings["local_path"] == str(ckpt) and route.settings["model_type"] == "acme_toy_vl"
    renderer = mmrender.get_renderer(str(ckpt))
    assert renderer.model_id == str(ckpt)


def test_local_dir_with_unknown_model_type_suggests(toy, tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "acme_toy_v"}))
    with pytest.raises(UnknownModelError, match="acme_toy_vl"):
        mmrender.resolve(str(tmp_path))


def test_local_dir_without_config_is_unknown(toy, tmp_path):
    with pytest.raises(UnknownModelError, match=r"config\.json"):
        mmrender.resolve(str(tmp_path))


def test_unknown_model_suggests_close_matches(toy):
    with pytest.raises(UnknownModelError) as info:
        mmrender.resolve("acme/toy-vl-2")
    assert TOY in info.value.suggestions and TOY in str(info.value)


def test_a_model_id_in_other_case_resolves_to_the_one_it_names(toy):
    assert mmrender.resolve("ACME/TOY-VL-1") == mmrender.resolve(TOY)
    spec, route = mmrender.resolve("Toy-VL")  # aliases too
    assert spec is toy.SPEC and route.model_id == TOY


def test_families_lists_each_family_once(toy):
    assert [s.id for s in mmrender.families()] == ["acme_toy"]


def test_family_options_are_typed(toy):
    assert mmrender.get_renderer(TOY, shout=True).render([{"role": "user", "content": "hi"}]).token_ids == tuple(
        b"<user>HI"
    )
    with pytest.raises(ConfigError) as info:
        mmrender.get_renderer(TOY, shuot=True)
    for name in ("shuot", "shout", "multimodal_output", "run_id", "processed_cache_size"):
        assert name in str(info.value)
    with pytest.raises(ConfigError, match="multimodal_output"):
        mmrender.get_renderer(TOY, multimodal_output="pixels")


# -- behaviour hooks can be overridden or wrapped ------------------------------------------------


class _FixedLayout:
    """Overrides the toy family's layout only; other families fall through (returns None)."""

    @hookimpl(tryfirst=True)
    def mmrender_image_layout(self, renderer, width, height):
        if renderer.family.id != "acme_toy":
            return None
        return mmrender.ImageLayout(
            family="acme_toy",
            fingerprint="f" * 32,
            grid=(1, 1, 7),
            num_tokens=7,
            num_placeholders=7,
            payload={"toy_grid": [[1, 1, 7]]},
        )


def _image_message(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "img.png"
    path.write_bytes(_png(640, 480))
    return [{"role": "user", "content": [{"type": "image", "path": str(path)}, {"type": "text", "text": "x"}]}]


def test_image_layout_override_changes_rendering(toy, tmp_path):
    renderer = mmrender.get_renderer(TOY)
    assert renderer.image_layout(640, 480).grid == (1, 8, 10)
    before = renderer.render(_image_message(tmp_path))
    assert before.token_ids.count(toy.IMAGE_PLACEHOLDER) == 80

    plugins.register_plugin(_FixedLayout(), name="fixed-layout")
    assert renderer.image_layout(640, 480).grid == (1, 1, 7)
    after = renderer.render(_image_message(tmp_path))
    assert after.token_ids.count(toy.IMAGE_PLACEHOLDER) == 7
    (placeholder,) = after.multi_modal_data.mm_placeholders["image"]
    assert (placeholder.offset, placeholder.length) == (len(b"<user>"), 7)
    (item,) = after.multi_modal_data.mm_items["image"]
    assert item.layout_fingerprint == "f" * 32 and item.payload == {"toy_grid": [[1, 1, 7]]}


def test_render_wrapper_sees_the_result(toy):
    seen: list[Any] = []

    class Wrapper:
        @hookimpl(wrapper=True)
        def mmrender_render(self, renderer, conversation):
            seen.append(("before", conversation.messages[0].text))
            result = yield
            seen.append(("after", result))
            return result

    plugins.register_plugin(Wrapper(), name="render-wrapper")
    rendered = mmrender.get_renderer(TOY).render([{"role": "user", "content": "hi"}])
    assert seen == [("before", "hi"), ("after", rendered)]
    assert rendered.token_ids == tuple(b"<user>hi")


def test_render_override_replaces_the_family_renderer(toy):
    class Override:
        @hookimpl(tryfirst=True)
        def mmrender_render(self, renderer, conversation):
            return mmrender.RenderedTokens([1, 2, 3], [-1, -1, -1])

    plugins.register_plugin(Override(), name="render-override")
    assert mmrender.get_renderer(TOY).render([{"role": "user", "content": "hi"}]).token_ids == (1, 2, 3)


REF = RawMMRef(
    family="acme_toy", fingerprint="a" * 32, modality="image", mm_hash="b" * 32, payload={"k": 1}, raw_image_id="c" * 64
)


def test_serialize_ref_override_changes_dump():
    default = refs.dump(REF)
    assert default.startswith("mmraw:v3:")

    class Serializer:
        @hookimpl(tryfirst=True)
        def mmrender_serialize_ref(self, ref):
            return None if ref.family != "acme_toy" else f"mmraw:x-acme:{ref.mm_hash}"

    plugins.register_plugin(Serializer(), name="acme-serializer")
    assert refs.dump(REF) == "mmraw:x-acme:" + "b" * 32
    other = RawMMRef(
        family="other", fingerprint="a" * 32, modality="image", mm_hash="b" * 32, payload={}, raw_uri="file:///x"
    )
    assert refs.dump(other).startswith("mmraw:v3:")  # None falls through to the default


class _V9Codec:
    prefix = "mmraw:v9:"

    def dump(self, ref: RawMMRef) -> str:
        return self.prefix + ref.mm_hash

    def parse(self, text: str) -> RawMMRef:
        return RawMMRef(
            family="acme_toy",
            fingerprint="a" * 32,
            modality="image",
            mm_hash=text[len(self.prefix) :],
            payload={},
            raw_image_id="x",
        )


def test_register_ref_codecs_adds_a_version():
    with pytest.raises(mmrender.RefError, match="v9"):
        refs.parse("mmraw:v9:" + "b" * 32)
    plugin = SimpleNamespace(register_ref_codecs=hookimpl(lambda register: register(_V9Codec())))
    plugins.register_plugin(plugin, name="v9-codec")
    assert refs.parse("mmraw:v9:" + "b" * 32).mm_hash == "b" * 32
    assert refs.parse(refs.dump(REF)) == REF  # v3 still parses


def test_codec_whose_parse_returns_no_ref_is_a_typed_error():
    """A codec returning None (a stub ``parse``) is named at parse time, not crashed on later."""

    class Stub(_V9Codec):
        def parse(self, text: str) -> RawMMRef:
            return None  # type: ignore[return-value]

    plugin = SimpleNamespace(register_ref_codecs=hookimpl(lambda register: register(Stub())))
    plugins.register_plugin(plugin, name="stub-codec")
    with pytest.raises(RefFormatError, match=r"Stub.*mmraw:v9:.*stub-codec.*NoneType"):
        refs.parse("mmraw:v9:" + "b" * 32)
    with pytest.raises(RefFormatError, match="stub-codec"):
        mmrender.materialize("mmraw:v9:" + "b" * 32)


def test_ref_codec_prefix_conflict():
    class Hijack(_V9Codec):
        prefix = "mmraw:v3:"

    plugin = SimpleNamespace(register_ref_codecs=hookimpl(lambda register: register(Hijack())))
    plugins.register_plugin(plugin, name="hijack")
    with pytest.raises(PluginConflictError) as info:
        refs.parse(refs.V3Codec().dump(REF))
    assert info.value.kind == "ref prefix" and "mmrender-core" in str(info.value) and "hijack" in str(info.value)


def test_unregister_plugin_restores_defaults():
    plugin = SimpleNamespace(register_ref_codecs=hookimpl(lambda register: register(_V9Codec())))
    plugins.register_plugin(plugin, name="v9-codec")
    assert "mmraw:v9:" in plugins.registries().codecs
    mmrender.unregister_plugin(plugin)
    assert "mmraw:v9:" not in plugins.registries().codecs


def test_restricted_loads_only_the_named_distributions_and_restores(monkeypatch) -> None:
    import os

    from mmrender import plugins

    monkeypatch.setenv("MMRENDER_PLUGINS", "mmrender-storage")
    with plugins.restricted():
        assert os.environ["MMRENDER_PLUGINS"] == ""
        assert plugins.registries().backends == {}, "an empty allow-list loads no entry points"
    assert os.environ["MMRENDER_PLUGINS"] == "mmrender-storage"
    assert "file" in plugins.registries().backends
