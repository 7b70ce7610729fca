"""Training-side benchmark: building a training sample, and collate with processed_inputs, against transformers.

Run from the repository root: ``python benchmarks/bench_training.py [--runs N] [--batch 16]``. Offline
(bundled tokenizer and preprocessor config). Two measurements, each interleaved round-robin so that
background load on a shared machine hits both sides alike:

(a) the four-photo conversation of ``bench_qwen3_vl.py`` (four fresh 1600x1200 JPEGs per call, plus an
    assistant answer to train on): ``build_training_sample`` (ids, loss mask, token types, M-RoPE
    positions; raw refs into a local store) vs the raw ``render`` of the same messages, and vs
    transformers' ``Qwen3VLProcessor.apply_chat_template`` + ``get_rope_index`` (a config-only
    stand-in, no weights), which is what a trainer without mmrender runs;
(b) ``collate`` of ``--batch`` such samples (``processed_inputs`` inside: every ref fetched, hash- and
    layout-verified, then the image processor) vs transformers' image processor alone on the same
    files (``load_image`` + one processor call). The photos here are ``--batch-photo`` sized (default
    640x480): 64 full-size photos would make 3 GB of ``pixel_values``.

Targets: sample building <= 2x the raw render; processed_inputs no slower than the processor.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("MMRENDER_PLUGINS", "mmrender-qwen3-vl,mmrender-storage")

import mmrender
from bench_qwen3_vl import MODEL, image_conversation, interleaved_ms, photo_jpeg
from mmrender.trainer_inputs import fetch_all, multi_modal_data_of, processed_batch, stream_entries
from mmrender_qwen3_vl.tokenizer import BUNDLED_TOKENIZER

ANSWER = "The third photo has the strongest texture: fine grain across the whole frame."


def training_conversation(paths: list[Path]) -> list[dict[str, Any]]:
    """The four-photo conversation with a final assistant answer (the part a trainer learns)."""
    return [*image_conversation(paths), {"role": "assistant", "content": ANSWER}]


def rope_stand_in() -> Any:
    """``Qwen3VLModel.get_rope_index`` bound to a config-only object: positions without building weights."""
    from transformers import Qwen3VLConfig
    from transformers.models.qwen3_vl.modeling_qwen3_vl import Qwen3VLModel

    stand_in = types.SimpleNamespace(config=Qwen3VLConfig())
    stand_in.get_vision_position_ids = lambda *a, **k: Qwen3VLModel.get_vision_position_ids(stand_in, *a, **k)
    return lambda **kw: Qwen3VLModel.get_rope_index(stand_in, **kw)


def rotated_ms(fns: dict[str, Any], runs: int, setup: Any) -> dict[str, float]:
    """Like ``interleaved_ms``, but each round starts with the next function: a call right after the
    (allocation-heavy) setup runs measurably slower on a busy machine, and no side should always pay it."""
    names = list(fns)
    times: dict[str, list[float]] = {name: [] for name in names}
    for run in range(runs):
        for name in names[run % len(names) :] + names[: run % len(names)]:
            setup()
            t0 = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(ts) * 1e3 for name, ts in times.items()}


def write_pool(workdir: Path, count: int, size: tuple[int, int], tag: str) -> list[Path]:
    pool = []
    for seed in range(count):
        path = workdir / f"{tag}{seed}.jpg"
        path.write_bytes(photo_jpeg(seed + 1 + 10_000 * len(tag), *size))
        pool.append(path)
    os.sync()  # written back before timing starts, so store writes are not throttled behind it
    return pool


def bench_sample(runs: int, workdir: Path, processor: Any) -> dict[str, float]:
    renderer = mmrender.get_renderer(MODEL, store=str(workdir / "store"))
    get_rope_index = rope_stand_in()
    pool = write_pool(workdir, 4 * (3 * runs + 2), (1600, 1200), "a")
    state: dict[str, Any] = {}

    def fresh() -> None:
        state["messages"] = training_conversation([pool.pop() for _ in range(4)])

    def transformers_side() -> Any:
        import torch

        out = processor.apply_chat_template(
            state["messages"],
            tokenize=True,
            return_dict=True,
            return_tensors="pt",
            processor_kwargs={"return_mm_token_type_ids": True},
        )
        return get_rope_index(
            input_ids=out["input_ids"],
            mm_token_type_ids=out["mm_token_type_ids"],
            image_grid_thw=out["image_grid_thw"],
            attention_mask=torch.ones_like(out["input_ids"]),
        )

    fresh()  # warm-up and an identity check: ids and positions equal transformers'
    sample = renderer.build_training_sample(state["messages"])
    positions, delta = transformers_side()
    same = [list(r) for r in sample.position_ids] == positions[:, 0].tolist() and sample.rope_delta == int(delta)
    print(f"  sample: {len(sample)} ids; positions and rope_delta equal transformers' get_rope_index: {same}")
    if not same:
        sys.exit("positions differ from transformers")
    light = rotated_ms(
        {
            "render": lambda: renderer.render(state["messages"]),
            "build_training_sample": lambda: renderer.build_training_sample(state["messages"]),
        },
        runs,
        fresh,
    )
    heavy = interleaved_ms({"transformers_processor_rope": transformers_side}, runs, fresh)
    return {**light, **heavy}


def bench_collate(
    runs: int, workdir: Path, image_processor: Any, batch: int, size: tuple[int, int]
) -> dict[str, float]:
    from transformers.image_utils import load_image

    renderer = mmrender.get_renderer(MODEL, store=str(workdir / "store"))
    pool = write_pool(workdir, 4 * batch * (3 * runs + 2), size, "b")
    state: dict[str, Any] = {}

    def fresh() -> None:
        convs = [training_conversation([pool.pop() for _ in range(4)]) for _ in range(batch)]
        state["samples"] = [renderer.build_training_sample(c) for c in convs]
        state["paths"] = [
            Path(p["image"])
            for c in convs
            for m in c
            if isinstance(m["content"], list)
            for p in m["content"]
            if p["type"] == "image"
        ]

    def processor_alone() -> Any:
        return image_processor(images=[load_image(str(p)) for p in state["paths"]], return_tensors="pt")

    fresh()
    ours = mmrender.collate(state["samples"])
    theirs = processor_alone()
    same = np.array_equal(ours["pixel_values"], theirs["pixel_values"].numpy())
    print(
        f"  batch: {batch} samples, {len(state['paths'])} photos of {size[0]}x{size[1]}; "
        f"pixel_values bit-identical to the processor's: {same}"
    )
    if not same:
        sys.exit("pixel values differ from the processor's")

    def verify_and_decode() -> Any:
        entries = [e for s in state["samples"] for e in stream_entries(multi_modal_data_of(s))]
        return fetch_all(entries, None)

    # the processor call is the same on both sides and ~95% of either: time what differs on its own too,
    # on one batch (nothing on either side caches these reads; the files sit in the page cache for both)
    fresh()
    inputs_only = rotated_ms(
        {"verify_and_decode": verify_and_decode, "load_image": lambda: [load_image(str(p)) for p in state["paths"]]},
        3 * runs,
        lambda: None,
    )
    return inputs_only | rotated_ms(
        {
            "processed_inputs": lambda: processed_batch(state["samples"]),
            "collate": lambda: mmrender.collate(state["samples"]),
            "image_processor_alone": processor_alone,
        },
        runs,
        fresh,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=9, help="timed runs per measurement")
    ap.add_argument("--batch", type=int, default=16, help="samples per collate")
    ap.add_argument("--batch-photo", default="640x480", help="photo size in the collate batch, WxH")
    args = ap.parse_args()
    size = tuple(int(v) for v in args.batch_photo.lower().split("x"))
    fixtures = Path("/work/shared/fixtures/qwen3_vl/Qwen3-VL-8B-Instruct")
    tokenizer_dir = fixtures if fixtures.is_dir() else BUNDLED_TOKENIZER
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(str(tokenizer_dir), local_files_only=True)
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} cores, load average {load:.1f}; {type(processor.image_processor).__name__}")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        print("(a) training sample, four 1600x1200 JPEGs:")
        a = bench_sample(args.runs, Path(tmp), processor)
        print("(b) collate with processed_inputs:")
        b = bench_collate(args.runs, Path(tmp), processor.image_processor, args.batch, size)
    print(f"\nmedians (ms), {time.perf_counter() - started:.0f} s in all:")
    for name, value in {**a, **b}.items():
        print(f"  {name:<30}{value:10.2f}")
    checks = [
        ("build_training_sample / render", a["build_training_sample"] / a["render"], 2.0),
        ("build_training_sample / transformers", a["build_training_sample"] / a["transformers_processor_rope"], None),
        ("processed_inputs / processor", b["processed_inputs"] / b["image_processor_alone"], 1.0),
        ("collate / processor", b["collate"] / b["image_processor_alone"], None),
        ("fetch+verify+decode / load_image", b["verify_and_decode"] / b["load_image"], None),
    ]
    print("\nratios (target):")
    for name, ratio, target in checks:
        verdict = "" if target is None else f"(<= {target}x) {'ok' if ratio <= target else 'MISSED'}"
        print(f"  {name:<38}{ratio:6.2f}x  {verdict}")


if __name__ == "__main__":
    main()
