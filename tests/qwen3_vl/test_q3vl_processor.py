"""End to end against transformers' own Qwen3VLProcessor (template + image processor + expansion in one)."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import ORACLE_DIR
from .corpus import CASES

pytest.importorskip("torchvision")
# transformers decodes the image files with torchvision, which announces its move to torchcodec
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore:Image decoding with `torchvision`")


@pytest.fixture(scope="module")
def processor():
    from transformers import AutoProcessor

    proc = AutoProcessor.from_pretrained(str(ORACLE_DIR), local_files_only=True)
    assert type(proc).__name__ == "Qwen3VLProcessor"
    return proc


def _paths_only(messages: list[dict], sources) -> list[dict]:
    """The processor loads images itself: give it file paths (same pixels as our sources)."""
    out = []
    for m in messages:
        if isinstance(m.get("content"), list):
            m = {
                **m,
                "content": [
                    p if p.get("type") != "image" else {"type": "image", "path": p["image"]} for p in m["content"]
                ],
            }
        out.append(m)
    return out


# cases whose images are plain paths in formats transformers' torchvision decoder reads (no BMP)
@pytest.mark.parametrize(
    "name", ["image_then_text_path", "image_only_user", "tool_response_with_image", "same_image_twice"]
)
def test_ids_equal_qwen3vl_processor(name, processor, sources, make_renderer):
    messages, tools, vid = CASES[name](sources)
    messages = _paths_only(messages, sources)
    theirs = processor.apply_chat_template(
        messages, tools=tools, add_generation_prompt=True, tokenize=True, return_dict=True, add_vision_id=vid
    )
    ours = make_renderer(add_vision_id=vid).render(messages, tools=tools, add_generation_prompt=True)
    assert list(ours.token_ids) == np.asarray(theirs["input_ids"]).reshape(-1).tolist()
    grids = [item.payload["image_grid_thw"][0] for item in ours.multi_modal_data.mm_items["image"]]
    assert grids == np.asarray(theirs["image_grid_thw"]).tolist()
