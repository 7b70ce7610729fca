"""Every bundled family's real render makes wire A and wire B bodies that vLLM 0.33's GenerateRequest accepts.

Schema: ``tests/fixtures/vllm`` (vLLM's own export); then the model validators it cannot carry.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mmrender
import pytest
from jsonschema import Draft202012Validator
from mmrender.wire import check_server_echo, generate_request, validate_generate_request, vllm_prompt_request

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = Draft202012Validator(json.loads((ROOT / "tests/fixtures/vllm/generate_request.schema.json").read_text()))
IMAGE = str(ROOT / "examples" / "images" / "street.jpg")
MESSAGES = [
    {
        "role": "user",
        "content": [
            {"type": "image", "image": IMAGE},
            {"type": "text", "text": "Compare"},
            {"type": "image", "image": IMAGE},
        ],
    }
]


@pytest.fixture(params=["Qwen/Qwen3-VL-8B-Instruct", "Qwen/Qwen3.5-0.8B", "moonshotai/Kimi-K2.5"], scope="module")
def rendered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    renderer = mmrender.get_renderer(request.param, store=str(tmp_path_factory.mktemp("store")))
    return renderer.render(MESSAGES, add_generation_prompt=True)


@pytest.mark.parametrize("build", [generate_request, vllm_prompt_request], ids=["wire_a", "wire_b"])
def test_real_bodies_are_generate_requests(rendered: Any, build: Any) -> None:
    body = json.loads(json.dumps(build(rendered, sampling_params={"max_tokens": 16}, model="m")))
    assert not [e.message for e in SCHEMA.iter_errors(body)]
    validate_generate_request(body)
    assert body["token_ids"] == list(rendered.token_ids)


def test_wire_b_parts_follow_the_images_and_echo_checks_out(rendered: Any) -> None:
    body = vllm_prompt_request(rendered)
    hashes = [h for hs in rendered.multi_modal_data.mm_hashes.values() for h in hs]
    assert [p["uuid"] for p in body["content_parts"]] == hashes and len(hashes) == 2
    assert all(p["type"] == "image_url" and p["url"].startswith("file://") for p in body["content_parts"])
    # what a faithful server echoes: our ids and, under vLLM's modality names, our ranges
    features = generate_request(rendered)["features"]
    check_server_echo(rendered, {"prompt_token_ids": body["token_ids"], "mm_placeholders": features["mm_placeholders"]})
