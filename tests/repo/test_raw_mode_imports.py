"""Raw mode, the CLI and model resolution never import torch, torchvision, sympy or transformers.

Those imports cost seconds and hundreds of MB per process, and raw mode needs none of them (layouts come
from the image header; pixels are never decoded; the bundled tokenizers are built in Rust from their
files, and a parsed response or a bridged turn needs nothing more). Each check runs in a fresh interpreter, as a user's
process would, and reads ``sys.modules`` there after the work is done. The last test shows the probe does
see torch when something does import it (processed mode), so a pass is not a blind spot.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MODELS = ["Qwen/Qwen3-VL-8B-Instruct", "Qwen/Qwen3.5-0.8B", "moonshotai/Kimi-K2.5"]

# Prints the heavy modules the child ended up with.
REPORT = """
import json, sys
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "torchvision", "sympy", "transformers"))
print("HEAVY=" + json.dumps(heavy))
"""

RENDER = """
import sys
import mmrender
renderer = mmrender.get_renderer(sys.argv[1], store=sys.argv[2], multimodal_output=sys.argv[3])
messages = [
    {"role": "user", "content": [
        {"type": "image", "image": sys.argv[4] + "/images/street.jpg"},
        {"type": "image", "image": sys.argv[4] + "/images/chart.png"},
        {"type": "text", "text": "Compare the two pictures."},
    ]},
]
rendered = renderer.render(messages, add_generation_prompt=True)
assert len(rendered.multi_modal_data.mm_placeholders["image"]) == 2
"""

# Parses a completion and bridges to the next turn, after the render above.
PARSE_AND_BRIDGE = """
tok = renderer.text_tokenizer
completion = [*tok.encode("A street and a chart."), tok.convert_tokens_to_ids("<|im_end|>")]
parsed = renderer.parse_response(completion)
assert parsed.content, parsed
bridged = renderer.bridge_to_next_turn(rendered, completion, [{"role": "tool", "content": "sunny"}], start_index=2)
assert bridged is not None
"""

CLI = """
import sys
from mmrender.cli import main
code = main(sys.argv[1:])
assert code == 0, code
"""


def heavy_modules_after(script: str, *args: str, cwd: Path | None = None) -> list[str]:
    """Run ``script`` in a fresh interpreter and return the heavy modules it imported."""
    proc = subprocess.run(
        [sys.executable, "-c", script + REPORT, *args], capture_output=True, text=True, timeout=300, cwd=cwd
    )
    assert proc.returncode == 0, proc.stderr
    (line,) = [ln for ln in proc.stdout.splitlines() if ln.startswith("HEAVY=")]
    return json.loads(line.removeprefix("HEAVY="))


@pytest.mark.parametrize("model", MODELS)
def test_raw_render_imports_no_torch(model: str, tmp_path: Path) -> None:
    assert heavy_modules_after(RENDER, model, str(tmp_path / "store"), "raw", str(EXAMPLES)) == []


@pytest.mark.parametrize("model", MODELS[:2])  # the Qwen families, whose bundled tokenizers transformers also builds
def test_parse_response_and_bridge_import_no_transformers(model: str, tmp_path: Path) -> None:
    args = (model, str(tmp_path / "store"), "raw", str(EXAMPLES))
    assert heavy_modules_after(RENDER + PARSE_AND_BRIDGE, *args) == []


@pytest.mark.parametrize("model", MODELS)
def test_cli_dataset_render_and_layout_import_no_torch(model: str, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    store = str(tmp_path / "store")
    render = ["render", str(EXAMPLES / "conversations.jsonl"), "-m", model, "-o", str(out), "--store", store, "-q"]
    assert heavy_modules_after(CLI, *render) == []
    assert out.read_text(encoding="utf-8").count("\n") == 4
    assert heavy_modules_after(CLI, "layout", "-m", model, str(EXAMPLES / "images" / "receipt.jpg")) == []


@pytest.mark.parametrize("argv", [["--help"], ["resolve", "Qwen/Qwen3-VL-8B-Instruct"], ["plugins"]])
def test_cli_startup_imports_no_torch(argv: list[str]) -> None:
    script = "import sys\nfrom mmrender.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
    assert heavy_modules_after(script, *argv) == []


def test_the_probe_sees_torch_when_processed_mode_imports_it(tmp_path: Path) -> None:
    heavy = heavy_modules_after(RENDER, MODELS[0], str(tmp_path / "store"), "processed", str(EXAMPLES))
    assert "torch" in heavy
