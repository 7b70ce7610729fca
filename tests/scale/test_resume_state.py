"""The ``--resume`` folder belongs to one job: other arguments or a changed input are refused, not mixed in."""

from __future__ import annotations

from pathlib import Path

import pytest
from mmrender.chunk_worker import JobSpec
from mmrender.errors import MMRenderError
from mmrender.resume import ResumeState


def test_a_resume_folder_refuses_other_arguments_and_a_changed_input(tmp_path: Path) -> None:
    data, out = tmp_path / "data.jsonl", str(tmp_path / "out.jsonl")
    data.write_text('{"messages": []}\n')
    spec = JobSpec(command="render", model="m", store="s")
    ResumeState.open(out, str(data), spec, 64)
    ResumeState.open(out, str(data), spec, 64)  # the same job: accepted
    with pytest.raises(MMRenderError, match=r"\(job\.model changed\)"):
        ResumeState.open(out, str(data), JobSpec(command="render", model="other", store="s"), 64)
    with pytest.raises(MMRenderError, match=r"chunk_size changed"):
        ResumeState.open(out, str(data), spec, 32)
    data.write_text('{"messages": []}\n{"messages": []}\n')
    with pytest.raises(MMRenderError, match=r"input_file\.\w+ changed"):
        ResumeState.open(out, str(data), spec, 64)


@pytest.mark.parametrize(("output", "source"), [("-", "in.jsonl"), ("s3://b/out.jsonl", "in.jsonl"), ("o.jsonl", "-")])
def test_resume_needs_a_local_output_and_a_file_input(tmp_path: Path, output: str, source: str) -> None:
    with pytest.raises(MMRenderError, match="--resume"):
        ResumeState.open(output, source, JobSpec(command="lengths"), 64)
