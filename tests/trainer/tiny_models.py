"""Tiny randomly initialised transformers models (seconds on CPU) and independently built training samples.

The samples here are assembled from ``render()`` plus transformers' own ``get_rope_index`` and a
loss mask from ``message_indices`` (1 on every id of an assistant message): an oracle built without
``build_training_sample``, so collate and pack are checked against transformers, not against themselves.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from mmrender.samples import IMAGE_TOKEN, TEXT_TOKEN, TrainingSample


def tiny_qwen3_vl(image_token_id: int, video_token_id: int, vision_start_token_id: int) -> Any:
    """A 2-layer Qwen3-VL (vision tower and language model) with the real vocabulary and vision geometry."""
    import torch
    from mmrender_qwen3_vl.layout import DEFAULT_PARAMS
    from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration

    torch.manual_seed(0)
    config = Qwen3VLConfig(
        text_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "head_dim": 16,
            "rope_parameters": {"rope_type": "default", "rope_theta": 5e5, "mrope_section": [2, 3, 3]},
        },
        vision_config={
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_heads": 2,
            "out_hidden_size": 32,
            "deepstack_visual_indexes": [0, 1],
            "patch_size": DEFAULT_PARAMS["patch_size"],
            "temporal_patch_size": DEFAULT_PARAMS["temporal_patch_size"],
            "spatial_merge_size": DEFAULT_PARAMS["merge_size"],
        },
        image_token_id=image_token_id,
        video_token_id=video_token_id,
        vision_start_token_id=vision_start_token_id,
    )
    config._attn_implementation = "sdpa"
    return Qwen3VLForConditionalGeneration(config).eval()


def tiny_qwen3_5(token_id: Any) -> Any:
    """A 2-layer Qwen3.5 (one linear-attention, one full-attention layer); ``token_id(token)`` looks ids up."""
    import torch
    from mmrender_qwen3_vl.layout import DEFAULT_PARAMS
    from transformers import Qwen3_5Config, Qwen3_5ForConditionalGeneration

    torch.manual_seed(0)
    config = Qwen3_5Config(
        text_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "head_dim": 16,
            "layer_types": ["linear_attention", "full_attention"],
            "linear_key_head_dim": 8,
            "linear_value_head_dim": 8,
            "linear_num_key_heads": 2,
            "linear_num_value_heads": 2,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 1e7,
                "mrope_section": [2, 3, 3],
                "partial_rotary_factor": 1.0,
            },
        },
        vision_config={
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_heads": 2,
            "out_hidden_size": 32,
            "patch_size": DEFAULT_PARAMS["patch_size"],
            "temporal_patch_size": DEFAULT_PARAMS["temporal_patch_size"],
            "spatial_merge_size": DEFAULT_PARAMS["merge_size"],
        },
        image_token_id=token_id("<|image_pad|>"),
        video_token_id=token_id("<|video_pad|>"),
        vision_start_token_id=token_id("<|vision_start|>"),
        vision_end_token_id=token_id("<|vision_end|>"),
    )
    config._attn_implementation = "sdpa"
    return Qwen3_5ForConditionalGeneration(config).eval()


def reference_sample(renderer: Any, messages: list[dict[str, Any]], model: Any) -> TrainingSample:
    """A TrainingSample whose positions are ``model.model.get_rope_index``'s on the rendered ids."""
    import torch

    rendered = renderer.render(messages)
    n = len(rendered.token_ids)
    types = np.full(n, TEXT_TOKEN, dtype=np.int64)
    grids = []
    for rng, item in zip(
        rendered.multi_modal_data.mm_placeholders.get("image", ()),
        rendered.multi_modal_data.mm_items.get("image", ()),
        strict=True,
    ):
        types[rng.offset : rng.end] = IMAGE_TOKEN
        grids.extend(item.payload["image_grid_thw"])
    assistant = {i for i, m in enumerate(messages) if m["role"] == "assistant"}
    loss_mask = [int(owner in assistant) for owner in rendered.message_indices]
    positions, delta = model.model.get_rope_index(
        torch.tensor([rendered.token_ids]),
        mm_token_type_ids=torch.from_numpy(types)[None],
        image_grid_thw=torch.tensor(grids) if grids else None,
    )
    return TrainingSample(
        model=renderer.model_id,
        token_ids=rendered.token_ids,
        message_indices=rendered.message_indices,
        multi_modal_data=rendered.multi_modal_data,
        loss_mask=loss_mask,
        mm_token_type_ids=types.tolist(),
        position_ids=positions[:, 0].tolist(),
        rope_delta=int(delta.reshape(-1)[0]),
    )
