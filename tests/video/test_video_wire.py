"""Both wires carry video items: vLLM 0.33's GenerateRequest schema and validators accept the bodies, the
refs parse back to the video items, and a '<' in text outside a video's range is not a placeholder."""

from __future__ import annotations

import json
from pathlib import Path

import mmrender
from jsonschema import Draft202012Validator
from mmrender import refs
from mmrender.wire import generate_request, validate_generate_request, vllm_prompt_request

SCHEMA = Path(__file__).resolve().parents[1] / "fixtures" / "vllm" / "generate_request.schema.json"


def _accepted(body: dict) -> None:
    wire = json.loads(json.dumps(body))
    validator = Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(wire)]
    assert not errors, errors
    validate_generate_request(wire)


def test_wires_carry_videos(tmp_path: Path, clip_paths: dict[str, Path]) -> None:
    renderer = mmrender.get_renderer("Qwen/Qwen3-VL-8B-Instruct", store=str(tmp_path))
    video = {"type": "video", "video": str(clip_paths["issue_320x240_24fps_48"])}
    text = {"type": "text", "text": "<0.3 seconds> is a timestamp; what happens?"}  # same tokens as the range's start
    rendered = renderer.render([{"role": "user", "content": [video, text]}], add_generation_prompt=True)
    (span,) = rendered.multi_modal_data.mm_placeholders["video"]
    first = rendered.token_ids[span.offset]
    assert rendered.token_ids.count(first) > rendered.token_ids[span.offset : span.end].count(first)

    body = generate_request(rendered, sampling_params={"max_tokens": 8})
    _accepted(body)
    features = body["features"]
    assert features["mm_placeholders"]["video"] == [{"offset": span.offset, "length": span.length}]
    assert "is_embed" not in json.dumps(features)  # vLLM 0.33's schema has no such field
    ref = refs.parse(features["kwargs_data"]["video"][0])
    assert ref.modality == "video" and ref.mm_hash == rendered.multi_modal_data.mm_hashes["video"][0]
    assert ref.payload == rendered.multi_modal_data.mm_items["video"][0].payload

    body_b = vllm_prompt_request(rendered)
    _accepted(body_b)
    item = rendered.multi_modal_data.mm_items["video"][0]
    assert {"type": "video_url", "url": item.raw_uri, "uuid": ref.mm_hash} in body_b["content_parts"]
