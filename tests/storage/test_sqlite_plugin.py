"""The worked example of docs/custom-backends.md, tested as a real out-of-tree plugin.

It is pip-installed into a temp directory (never into the shared venv) and found through its
``mmrender`` entry point by a fresh interpreter; a second test registers it in-process.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import mmrender
import pytest
from mmrender.errors import AssetIntegrityError, UnsafeLocatorError
from mmrender.refs import dump, parse
from mmrender.types import RawMMRef
from storage_helpers import HERE, image_message, png_bytes

SRC = HERE.parent / "plugins_src" / "sqlite_backend"
DIST = "mmrender-sqlite-example"

CONSUMER = """
import json, sys
import attrs
sys.path.insert(0, sys.argv[1])
import mmrender, storetest_family
from mmrender.plugins import registries
from mmrender.refs import dump, parse
from mmrender.types import RawMMRef

mmrender.register_plugin(storetest_family, name="storetest")
db = sys.argv[2]
backend = registries().backends["sqlite"][0]
owner = sys.modules[type(backend).__module__].__file__
renderer = mmrender.get_renderer(storetest_family.MODEL, store=f"sqlite://{db}")
out = renderer.render([{"role": "user", "content": [{"type": "image", "image": sys.argv[3]}]}])
item = out.multi_modal_data.mm_items["image"][0]
ref = dump(RawMMRef.from_item(item, out.multi_modal_data.mm_hashes["image"][0]))
by_uri = mmrender.materialize(parse(ref))
by_id = mmrender.materialize(attrs.evolve(by_uri.ref, raw_uri=None), store=f"sqlite://{db}")
print(json.dumps({"owner": owner, "raw_uri": item.raw_uri, "raw_image_id": item.raw_image_id,
                  "same": by_uri.image.data == by_id.image.data, "size": [by_uri.image.width, by_uri.image.height],
                  "assets": list(mmrender.open_store(f"sqlite://{db}").iter_assets())}))
"""


@pytest.fixture(scope="module")
def sqlite_site(tmp_path_factory: pytest.TempPathFactory, install_plugin: Any) -> Path:
    """The example installed with ``pip install --target`` outside the tree (never into the venv)."""
    work = tmp_path_factory.mktemp("sqlite-plugin")
    return install_plugin(SRC, work / "site", work)


def test_entry_point_plugin_renders_stores_and_resolves_refs(sqlite_site: Path, tmp_path: Path) -> None:
    image = tmp_path / "cat.png"
    image.write_bytes(png_bytes(77))
    db = tmp_path / "assets.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MMRENDER_")}
    env.update(PYTHONPATH=str(sqlite_site), MMRENDER_PLUGINS=f"mmrender-storage,{DIST}")
    result = subprocess.run(
        [sys.executable, "-c", CONSUMER, str(HERE), str(db), str(image)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    import hashlib

    sha = hashlib.sha256(png_bytes(77)).hexdigest()
    assert got["owner"].startswith(str(sqlite_site))  # loaded from the temp install, by entry point
    assert got["raw_uri"] == f"sqlite://{db.resolve()}/{sha}" and got["raw_image_id"] == sha
    assert got["same"] and got["size"] == [40, 30] and got["assets"] == [sha]


def test_without_the_plugin_the_scheme_is_unknown(tmp_path: Path) -> None:
    with pytest.raises(mmrender.StorageError, match="'sqlite'"):
        mmrender.open_store(f"sqlite://{tmp_path}/x.db")


@pytest.fixture
def sqlite_module() -> ModuleType:
    path = SRC / "src" / "mmrender_sqlite_example" / "__init__.py"
    spec = importlib.util.spec_from_file_location("mmrender_sqlite_example_inproc", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_register_plugin_in_process(sqlite_module: ModuleType, tmp_path: Path, renderer_for: Any) -> None:
    mmrender.register_plugin(sqlite_module, name="sqlite-example")
    url = f"sqlite://{tmp_path}/assets.db"
    store = mmrender.open_store(url)
    data = png_bytes(78)
    out = renderer_for(url).render([image_message(data, data)])
    items = out.multi_modal_data.mm_items["image"]
    assert items[0].raw_uri == items[1].raw_uri == f"{store.url}/{items[0].raw_image_id}"
    assert list(store.iter_assets()) == [items[0].raw_image_id]  # stored once
    ref = parse(dump(RawMMRef.from_item(items[0], out.multi_modal_data.mm_hashes["image"][0])))
    assert mmrender.materialize(ref).image.data == data
    assert mmrender.materialize(ref, store=url).image.data == data
    other = mmrender.open_store(f"sqlite://{tmp_path}/other.db")
    with pytest.raises(UnsafeLocatorError):
        other.get(items[0].raw_uri)
    import sqlite3

    conn = sqlite3.connect(tmp_path / "assets.db")
    with conn:
        conn.execute("UPDATE assets SET data = ?", (b"tampered",))
    conn.close()
    with pytest.raises(AssetIntegrityError):
        mmrender.materialize(ref)
    from mmrender.store_ops import verify_store

    assert verify_store(url).mismatched == (items[0].raw_image_id,)
