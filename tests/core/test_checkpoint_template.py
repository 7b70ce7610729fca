"""``checkpoint_chat_template``: a local checkpoint's template, looked up where transformers looks."""

from __future__ import annotations

import json
from pathlib import Path

from mmrender.family import checkpoint_chat_template


def test_lookup_order_and_forms(tmp_path: Path) -> None:
    assert checkpoint_chat_template(tmp_path) is None
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"chat_template": "from-config"}), encoding="utf-8")
    assert checkpoint_chat_template(tmp_path) == "from-config"
    (tmp_path / "chat_template.json").write_text(json.dumps({"chat_template": "from-json"}), encoding="utf-8")
    assert checkpoint_chat_template(tmp_path) == "from-json"
    (tmp_path / "chat_template.jinja").write_text("from-jinja\n", encoding="utf-8")
    assert checkpoint_chat_template(tmp_path) == "from-jinja\n"


def test_unreadable_or_template_less_json_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "chat_template.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 8}), encoding="utf-8")
    assert checkpoint_chat_template(tmp_path) is None
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"chat_template": "ok"}), encoding="utf-8")
    assert checkpoint_chat_template(tmp_path) == "ok"
