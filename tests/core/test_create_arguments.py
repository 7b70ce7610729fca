"""What a family's ``create`` receives from ``get_renderer``: the table in docs/plugins.md, checked."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import attrs
import mmrender
import pytest
from mmrender import FamilySpec, ModelRoute, RendererOptions, Store, hookimpl


@attrs.frozen(kw_only=True)
class SpyOptions(RendererOptions):
    shout: bool = False


SPEC = FamilySpec(
    id="spy",
    routes=(ModelRoute("acme/spy-1", {"thinking": True}),),
    create=lambda **kwargs: SimpleNamespace(**kwargs),  # hands back exactly what core passed
    options_class=SpyOptions,
    aliases={"spy": "acme/spy-1"},
    model_types=("acme_spy",),
)


@pytest.fixture(autouse=True)
def spy_family() -> None:
    mmrender.register_plugin(SimpleNamespace(register_families=hookimpl(lambda register: register(SPEC))), name="spy")


def _create_args(model: str, **kwargs: Any) -> Any:
    return mmrender.get_renderer(model, **kwargs)


def test_route_of_a_model_id_an_alias_and_a_local_checkpoint(tmp_path: Path) -> None:
    assert _create_args("acme/spy-1").route is SPEC.routes[0]
    assert _create_args("spy").route is SPEC.routes[0]
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "acme_spy"}), encoding="utf-8")
    route = _create_args(str(tmp_path)).route
    assert route == ModelRoute(str(tmp_path), {"model_type": "acme_spy", "local_path": str(tmp_path)})


@pytest.mark.parametrize("given", [None, "/models/spy", Path("/models/spy"), object()])
def test_tokenizer_is_passed_unchanged(given: Any) -> None:
    assert _create_args("acme/spy-1", tokenizer=given).tokenizer is given


def test_store_is_always_an_opened_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMRENDER_STORE", str(tmp_path / "env-store"))
    default = _create_args("acme/spy-1").store
    assert isinstance(default, Store) and default.url.endswith("env-store")
    by_url = _create_args("acme/spy-1", store=str(tmp_path / "url-store")).store
    assert isinstance(by_url, Store) and by_url.url.endswith("url-store")
    opened = mmrender.open_store("data:")
    assert _create_args("acme/spy-1", store=opened).store is opened


def test_options_are_the_family_options_class() -> None:
    assert _create_args("acme/spy-1", shout=True).options == SpyOptions(shout=True)
    with pytest.raises(mmrender.ConfigError, match="shout"):
        _create_args("acme/spy-1", whisper=True)
