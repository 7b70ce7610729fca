"""Run in a subprocess whose LD_LIBRARY_PATH points at FFmpeg libraries: torchcodec's metadata and frames,
and transformers' Qwen3-VL processor output, for every job in the JSON file given as argv[1].

Writes one JSON result (argv[2]) and the decoded frames as ``<name>.npy`` beside it. Only the oracle
runs here; nothing from mmrender is imported.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

INSTANCE_ONLY = ("min_frames", "max_frames")


def main() -> None:
    job = json.loads(Path(sys.argv[1]).read_text())
    out_path = Path(sys.argv[2])
    from torchcodec.decoders import VideoDecoder
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(job["assets"])
    result: dict = {"metadata": {}, "processor": []}
    for name, path in job["clips"].items():
        meta = VideoDecoder(path).metadata
        result["metadata"][name] = {
            "num_frames": meta.num_frames,
            "average_fps": meta.average_fps,
            "duration": meta.duration_seconds,
            "width": meta.width,
            "height": meta.height,
            "rotation": meta.rotation,
        }
    for case in job["cases"]:
        messages = [
            {
                "role": "user",
                "content": [
                    {"type": "video", "video": job["clips"][case["clip"]]},
                    {"type": "text", "text": "What happens?"},
                ],
            }
        ]
        kwargs = dict(case["kwargs"])
        # sample_frames reads min_frames/max_frames from the processor itself (call-time values are
        # ignored), so they are set the way a checkpoint config sets them: on the instance.
        saved = {key: getattr(processor.video_processor, key) for key in INSTANCE_ONLY if key in kwargs}
        for key in saved:
            setattr(processor.video_processor, key, kwargs.pop(key))
        try:
            out = processor.apply_chat_template(
                messages,
                tokenize=True,
                return_dict=True,
                add_generation_prompt=True,
                return_metadata=True,
                processor_kwargs=kwargs,
            )
        except Exception as exc:  # the oracle refusing is a result too
            result["processor"].append({**case, "error": f"{type(exc).__name__}: {exc}"})
            continue
        finally:
            for key, value in saved.items():
                setattr(processor.video_processor, key, value)
        text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        entry = {
            **case,
            "grid": out["video_grid_thw"].tolist()[0],
            "indices": [int(i) for i in out["video_metadata"][0].frames_indices],
            "metadata_fps": float(out["video_metadata"][0].fps),
            "input_ids": out["input_ids"][0].tolist()
            if hasattr(out["input_ids"][0], "tolist")
            else list(out["input_ids"][0]),
            "template_text": text,
        }
        if case.get("pixels"):
            pixels = out["pixel_values_videos"].numpy()
            np.save(out_path.parent / f"pixels-{case['id']}.npy", pixels)
            decoder = VideoDecoder(job["clips"][case["clip"]])
            batch = decoder.get_frames_at(indices=entry["indices"]).data.numpy()
            np.save(out_path.parent / f"frames-{case['clip']}.npy", batch)
        result["processor"].append(entry)
    processors = {"qwen3_vl": processor, "qwen3_5": _qwen35_processor(job["qwen35"])}
    result["renders"] = [_render(processors[case["family"]], job, case) for case in job.get("renders", [])]
    result["processed"] = [_pixels(processors[case["family"]], job, case) for case in job.get("processed", [])]
    out_path.write_text(json.dumps(result))


def _metadata(names: list[str]) -> list:
    """What transformers needs to sample (and stamp) a frame list: its length and fps."""
    from frame_lists import FRAME_LISTS
    from transformers.video_utils import VideoMetadata

    return [VideoMetadata(total_num_frames=FRAME_LISTS[n][2], fps=FRAME_LISTS[n][3]) for n in names]


def _pixels(processor, job: dict, case: dict) -> dict:
    """The family's video processor on one clip (decoded by torchcodec) or frame list: sha256 of its pixels."""
    import hashlib

    from frame_lists import frames

    kwargs = dict(case["kwargs"])
    if case["frames"]:
        video = np.stack([np.asarray(frame) for frame in frames(case["frames"])])
        kwargs["video_metadata"] = _metadata([case["frames"]])
    else:
        video = job["clips"][case["clip"]]
    out = processor.video_processor(videos=[video], return_tensors="pt", **kwargs)
    pixels = np.ascontiguousarray(out["pixel_values_videos"].numpy())
    return {
        "id": case["id"],
        "sha256": hashlib.sha256(pixels.tobytes()).hexdigest(),
        "shape": list(pixels.shape),
        "dtype": str(pixels.dtype),
        "grid": out["video_grid_thw"].tolist(),
    }


TRIPLE = "<|vision_start|><|video_pad|><|vision_end|>"


def _qwen35_processor(spec: dict):
    """Qwen3.5-0.8B's processor (the Qwen3-VL processor class it names) from its configs and tokenizer file."""
    from transformers import PreTrainedTokenizerFast, Qwen3VLProcessor
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import Qwen2VLImageProcessor
    from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor

    tokenizer = PreTrainedTokenizerFast(tokenizer_file=spec["tokenizer_file"])
    image = Qwen2VLImageProcessor(**json.loads(Path(spec["preprocessor"]).read_text()))
    video = Qwen3VLVideoProcessor(**json.loads(Path(spec["video_preprocessor"]).read_text()))
    return Qwen3VLProcessor(
        image_processor=image, tokenizer=tokenizer, video_processor=video, chat_template=spec["template"]
    )


def _render(processor, job: dict, case: dict) -> dict:
    """The official template (Thinking's when asked) through apply_chat_template, then the processor's
    expansion; ``legacy`` runs a template whose triple is the bare pad, so the processor replaces all of it."""
    from frame_lists import frame_list_names, with_frames

    template = job["thinking_template"] if case["thinking"] else processor.chat_template
    if case["legacy"]:
        template = template.replace(TRIPLE, "<|video_pad|>")
    kwargs = {**case["processor_kwargs"], "return_mm_token_type_ids": True}
    messages = case["messages"]
    names = frame_list_names(messages)
    if names:  # frame lists: the PIL frames as the video, their length and fps as its metadata
        messages = with_frames(messages)
        kwargs["video_metadata"] = _metadata(names)
    out = processor.apply_chat_template(
        messages,
        chat_template=template,
        tokenize=True,
        return_dict=True,
        add_generation_prompt=True,
        add_vision_id=case["add_vision_id"],
        processor_kwargs=kwargs,
    )

    def listed(value):
        if hasattr(value, "tolist"):
            return value.tolist()
        return value if isinstance(value, int) else [listed(v) for v in value]

    return {
        "id": case["id"],
        "input_ids": listed(out["input_ids"][0]),
        "mm_token_type_ids": listed(out["mm_token_type_ids"][0]),
        "image_grid_thw": listed(out["image_grid_thw"]) if "image_grid_thw" in out else [],
        "video_grid_thw": listed(out["video_grid_thw"]) if "video_grid_thw" in out else [],
    }


if __name__ == "__main__":
    main()
