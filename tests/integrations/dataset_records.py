"""A mixed conversation dataset for the Ray Data tests: text, image and image_url parts, tools, tool calls
and tool results, 0-3 real images per record, and bad rows of several kinds; written as Parquet the way
a user's pipeline would (Arrow infers one struct type for all rows)."""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

from PIL import Image

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["C", "F"]}},
            "required": ["city"],
        },
    },
}
CONVERT_TOOL = {
    "type": "function",
    "function": {
        "name": "convert",
        "description": "Convert an amount",
        "parameters": {"type": "object", "properties": {"amount": {"type": "number"}}},
    },
}


def write_images(folder: Path, count: int) -> list[str]:
    """``count`` distinct small photo-like images (noise over a gradient), JPEG and PNG, absolute paths."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    paths = []
    for i in range(count):
        width, height = rng.randint(40, 160), rng.randint(40, 160)
        image = Image.new("RGB", (width, height), (i * 37 % 256, i * 91 % 256, 128))
        image.putdata([(x % 256, (y * 3 + i) % 256, rng.randrange(256)) for y in range(height) for x in range(width)])
        path = folder / f"img{i}.{'png' if i % 3 == 0 else 'jpg'}"
        image.save(path)
        paths.append(str(path))
    return paths


def _image_part(rng: random.Random, images: list[str]) -> dict[str, Any]:
    path = rng.choice(images)
    if rng.random() < 0.5:
        return {"type": "image", "image": path}
    return {"type": "image_url", "image_url": {"url": path}}


def good_record(index: int, rng: random.Random, images: list[str]) -> dict[str, Any]:
    """One valid record; content is always a part list (Arrow cannot hold a string in some rows and a
    list in others: such datasets keep ``messages`` as JSON strings)."""
    user = [_image_part(rng, images) for _ in range(rng.choice([0, 0, 1, 1, 2, 3]))]
    user.insert(rng.randrange(len(user) + 1), {"type": "text", "text": f"Question {index}: what is shown?"})
    messages: list[dict[str, Any]] = []
    if rng.random() < 0.3:
        messages.append({"role": "system", "content": [{"type": "text", "text": "You are a careful assistant."}]})
    messages.append({"role": "user", "content": user})
    record: dict[str, Any] = {"id": f"rec-{index}", "messages": messages}
    kind = rng.random()
    if kind < 0.25:
        record["tools"] = [WEATHER_TOOL, CONVERT_TOOL] if rng.random() < 0.5 else [WEATHER_TOOL]
        messages.append(
            {
                "role": "assistant",
                "content": [{"type": "text", "text": "Let me check."}],
                "tool_calls": [
                    {"type": "function", "function": {"name": "get_weather", "arguments": {"city": f"C{index}"}}}
                ],
            }
        )
        messages.append({"role": "tool", "content": [{"type": "text", "text": '{"temp": 21}'}]})
    elif kind < 0.6:
        messages.append({"role": "assistant", "content": [{"type": "text", "text": f"Answer {index}."}]})
    return record


def bad_record(index: int, kind: int, images: list[str], folder: Path) -> dict[str, Any]:
    """A record mmrender must refuse with a typed error: a missing image file, bytes that are no image,
    an unsupported part type, an image part without a source."""
    part: dict[str, Any]
    if kind == 0:
        part = {"type": "image", "image": str(folder / "no-such-image.png")}
    elif kind == 1:
        junk = folder / "not-an-image.jpg"
        junk.write_bytes(b"this is not a JPEG" * 10)
        part = {"type": "image", "image": str(junk)}
    elif kind == 2:
        part = {"type": "video", "image": images[0]}
    else:
        part = {"type": "image_url", "image_url": {"detail": "high"}}
    return {"id": f"bad-{index}", "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}, part]}]}


def build_dataset(folder: Path, count: int, *, distinct_images: int = 12, bad_every: int = 100) -> list[dict[str, Any]]:
    """``count`` records, one in ``bad_every`` bad (kinds in turn), deterministic."""
    images = write_images(folder / "images", distinct_images)
    rng = random.Random(count)
    return [
        bad_record(i, (i // bad_every) % 4, images, folder)
        if i % bad_every == bad_every // 2
        else good_record(i, rng, images)
        for i in range(count)
    ]


def parquet_bytes(records: list[dict[str, Any]], *, as_json: bool = False) -> bytes:
    """``records`` as a Parquet file: nested columns as Arrow infers them, or ``messages``/``tools`` as
    JSON strings."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [
        {
            "id": r["id"],
            "messages": json.dumps(r["messages"]) if as_json else r["messages"],
            "tools": (json.dumps(r["tools"]) if as_json else r["tools"]) if "tools" in r else None,
        }
        for r in records
    ]
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), sink)
    return sink.getvalue()


def direct_row(renderer: Any, record: dict[str, Any]) -> dict[str, Any]:
    """What a user gets calling ``renderer.render`` on the JSON record: the oracle for every output row
    (refs and the sidecar as JSON values, an error as its type and message)."""
    import json

    from mmrender import refs
    from mmrender.errors import MMRenderError
    from mmrender.types import RawMMRef, to_jsonable

    try:
        rendered = renderer.render(record["messages"], tools=record.get("tools"))
    except MMRenderError as exc:
        return {"id": record["id"], "error": f"{type(exc).__name__}: {exc}"}
    mm = rendered.multi_modal_data
    return {
        "id": record["id"],
        "model": renderer.model_id,
        "token_ids": list(rendered.token_ids),
        "message_indices": list(rendered.message_indices),
        "num_tokens": len(rendered.token_ids),
        "multi_modal_data": json.loads(json.dumps(to_jsonable(mm))),
        "refs": {
            modality: [
                refs.dump(RawMMRef.from_item(item, h)) for h, item in zip(mm.mm_hashes[modality], items, strict=True)
            ]
            for modality, items in mm.mm_items.items()
        },
        "error": None,
    }


def output_row(row: dict[str, Any]) -> dict[str, Any]:
    """An output row in :func:`direct_row`'s shape (the sidecar parsed; an error row keeps only its error)."""
    import json

    if row["error"] is not None:
        assert all(row[name] is None for name in row if name not in ("id", "error"))
        return {"id": row["id"], "error": row["error"]}
    return {**row, "multi_modal_data": json.loads(row["multi_modal_data"]), "refs": json.loads(row["refs"])}
