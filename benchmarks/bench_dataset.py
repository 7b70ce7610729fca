"""Dataset benchmark: ``mmrender render --workers 1/2``, ``mmrender lengths``, and the processor-based length filter.

Run from the repository root: ``python benchmarks/bench_dataset.py [--records 5000] [--big 50000] [--rounds 5]``.
On a generated dataset like ``benchmarks/bench_startup.py``'s (photo-like JPEGs and PNG charts, one or
two images on three records in four) it measures, each in a new process with a fresh local store:

* ``mmrender render`` with ``--workers 1`` and ``--workers 2`` in interleaved rounds (and that both wrote
  the same bytes), timed as the whole process and as the job's own summary line times it;
* ``mmrender lengths`` with ``--workers 1`` and ``2`` (process start included), and the length filter as
  users write it today: transformers' ``AutoProcessor.apply_chat_template(..., tokenize=True)`` over each
  row, which decodes and resizes every image (on ``--filter-sample`` rows, the processor loaded and warmed
  up before the clock starts, on torch's default threads and on one), against ``Renderer.count_tokens``
  over every row in one thread (renderer built first), the two alternating in rounds; lengths are checked
  to agree between the processor, the API and the CLI;
* records/s of ``mmrender.integrations.ray.render_dataset`` with 2 actors on a local Ray cluster
  (``ray.init(num_cpus=2)``, half a CPU per actor as in the tests) from a Parquet copy of the dataset
  to Parquet, timed from the read to the written files (the cluster's start is printed apart), and that
  its ``token_ids`` equal the CLI's (``--no-ray`` skips it);
* with ``--big N``: peak RSS (``ru_maxrss`` from ``os.wait4``: the largest of the command's processes) at
  ``--records`` and at N records, and the render and ``lengths`` rates once running: the time the records
  past ``--records`` took (the big run's time minus the small run's), which leaves start-up out.

Prints the figures next to the targets of
issue 12 (2 workers >= 1.8x one worker on 2 cores; lengths >= 100x the processor filter; RSS within 10%).
Offline: bundled tokenizer and processor configuration.
"""

from __future__ import annotations

import argparse
import copy
import filecmp
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import attrs

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_startup import run_child  # a sibling script, not a package

MODEL = "Qwen/Qwen3-VL-8B-Instruct"
WORKERS_TARGET = 1.8
LENGTHS_TARGET = 100.0
RSS_TOLERANCE = 0.10


def mmrender(*args: str, cwd: Path) -> tuple[float, float, float, str]:
    return run_child([sys.executable, "-m", "mmrender", *args, "-q"], cwd=cwd)


RAY_RENDER = """
import json, sys, time
import pyarrow as pa, pyarrow.parquet as pq
import ray
import mmrender.integrations.ray as mr
data, root, model, store, cli_rows = sys.argv[1:6]
rows = [json.loads(line) for line in open(data, encoding="utf-8")]
table = pa.table({
    "id": [r["id"] for r in rows],
    "messages": [json.dumps(r["messages"]) for r in rows],
    "add_generation_prompt": [r["add_generation_prompt"] for r in rows],
})
pq.write_table(table, f"{root}/convs.parquet", row_group_size=500)
t0 = time.perf_counter()
ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", configure_logging=False)
t1 = time.perf_counter()
ds = ray.data.read_parquet(f"{root}/convs.parquet").repartition(8)
out = mr.render_dataset(ds, model=model, store=store, image_root=root, concurrency=2, num_cpus=0.5, batch_size=64)
out.write_parquet(f"{root}/ray-out")
t2 = time.perf_counter()
got = {r["id"]: None if r["error"] else r["token_ids"] for r in pq.read_table(f"{root}/ray-out").to_pylist()}
want = {r["id"]: r["token_ids"] for r in map(json.loads, open(cli_rows, encoding="utf-8"))}
ray.shutdown()
print(json.dumps({"init": t1 - t0, "seconds": t2 - t1, "same": got == want}))
"""


COUNT_ROWS = """
import json, sys, time
from pathlib import Path
import mmrender
data, model = Path(sys.argv[1]), sys.argv[2]
records = [json.loads(line) for line in data.read_text().splitlines()]
for record in records:  # the dataset names images relative to its folder
    for message in record["messages"]:
        for part in message["content"] if isinstance(message["content"], list) else ():
            if part.get("type") == "image":
                part["image"] = str(data.parent / part["image"])
renderer = mmrender.get_renderer(model)
start, cpu = time.perf_counter(), time.process_time()
lengths = [renderer.count_tokens(r["messages"], add_generation_prompt=r["add_generation_prompt"]) for r in records]
wall, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"wall": wall / len(records), "cpu": cpu / len(records), "lengths": lengths}))
"""


def count_rows(data: Path) -> tuple[float, float, list[int]]:
    """Wall and CPU seconds per row of ``Renderer.count_tokens`` in a loop, after the renderer is built:
    the same shape as :func:`processor_filter` (whose processor is also loaded before its clock starts)."""
    _, _, _, out = run_child([sys.executable, "-c", COUNT_ROWS, str(data), MODEL])
    result = json.loads(out)
    return result["wall"], result["cpu"], result["lengths"]


def make_dataset_apart(root: Path, records: int, unique_images: int) -> Path:
    """``make_dataset`` in a child process: a child inherits the peak RSS of the process it was started
    from (Linux keeps ``ru_maxrss`` across exec), and 50,000 records built here would lift this one's."""
    code = "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); from bench_startup import make_dataset; "
    code += "print(make_dataset(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])))"
    here = str(Path(__file__).resolve().parent)
    _, _, _, out = run_child([sys.executable, "-c", code, here, str(root), str(records), str(unique_images)])
    return Path(out.strip())


def ray_render(runs: Runs, data: Path, cli_rows: Path) -> tuple[float, float, bool]:
    """Cluster start seconds, pipeline seconds of a 2-actor Ray render, and whether its token ids equal
    the CLI's (compared in the child: token ids held here would lift the RSS later children inherit)."""
    runs.fresh_store()
    root = runs.root
    argv = [sys.executable, "-c", RAY_RENDER, str(data), str(root), MODEL, str(root / "store"), str(cli_rows)]
    _, _, _, out = run_child(argv, cwd=root)
    result = json.loads(out.strip().splitlines()[-1])
    return result["init"], result["seconds"], result["same"]


def load_processor() -> Any:
    """transformers' processor for the bundled Qwen3-VL files (what users load to filter by length today)."""
    import mmrender_qwen3_vl
    from transformers import AutoProcessor

    folder = Path(mmrender_qwen3_vl.__file__).parent / "assets" / "Qwen3-VL-8B-Instruct"
    return AutoProcessor.from_pretrained(str(folder), local_files_only=True)


def processor_filter(
    processor: Any, rows: list[dict], folder: Path, threads: int | None = None
) -> tuple[float, float, list[int]]:
    """Wall and CPU seconds per row and the lengths of ``rows``, the way users filter today (on ``threads``
    torch threads; torch's default, one per core, when None)."""
    import torch

    default_threads = torch.get_num_threads()
    torch.set_num_threads(threads or default_threads)
    try:
        return _timed_filter(processor, rows, folder)
    finally:
        torch.set_num_threads(default_threads)


def _timed_filter(processor: Any, rows: list[dict], folder: Path) -> tuple[float, float, list[int]]:
    records = copy.deepcopy(rows)
    for record in records:  # the dataset names images relative to its folder
        for message in record["messages"]:
            for part in message["content"] if isinstance(message["content"], list) else ():
                if part.get("type") == "image":
                    part["image"] = str(folder / part["image"])
    lengths = []
    start, cpu = time.perf_counter(), time.process_time()
    for record in records:
        out = processor.apply_chat_template(
            record["messages"], tokenize=True, return_dict=True, add_generation_prompt=record["add_generation_prompt"]
        )
        lengths.append(len(out["input_ids"][0]))
    return (time.perf_counter() - start) / len(records), (time.process_time() - cpu) / len(records), lengths


class Runs:
    """The benchmark's temporary folder and the command runs made in it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.trash = root / "trash"

    def fresh_store(self) -> None:
        """An empty store at the same URL (refs name it): the old one is moved aside and deleted at the end,
        since deleting thousands of files just before a run slows the run's own file creation (ext4)."""
        if (self.root / "store").exists():
            self.trash.mkdir(exist_ok=True)
            (self.root / "store").rename(self.trash / f"store-{len(list(self.trash.iterdir()))}")

    def render(self, data: Path, workers: int, out: str) -> tuple[float, float, float]:
        """Wall seconds, the job's own seconds (from its summary line) and peak RSS of ``mmrender render``
        into a fresh store."""
        self.fresh_store()
        argv = [sys.executable, "-m", "mmrender", "render", str(data), "-m", MODEL, "-o", out, "--store", "store"]
        stderr: list[str] = []
        wall, _, peak, _ = run_child([*argv, "--workers", str(workers)], cwd=self.root, stderr=stderr)
        found = re.search(r"rendered (\d+) record\(s\).* \(([\d.]+) records/s\)", stderr[0])
        if found is None:
            raise SystemExit(f"no summary line in the render's output:\n{stderr[0]}")
        return wall, int(found[1]) / float(found[2]), peak

    def lengths(self, data: Path, workers: int, out: str = "lengths.jsonl") -> tuple[float, float]:
        wall, cpu, _, _ = mmrender(
            "lengths", str(data), "-m", MODEL, "-o", out, "--workers", str(workers), cwd=self.root
        )
        return wall, cpu


def per_record_beyond(small: float, big: float, records: int, big_records: int) -> float:
    """Seconds per record once running: the time the extra records of the big run took (start-up cancels)."""
    return (big - small) / (big_records - records)


@attrs.frozen
class RenderRuns:
    """Median seconds by workers of the whole process and of the job (its summary line), and the peak RSS."""

    wall: dict[int, float]
    job: dict[int, float]
    peak: float


def render_figures(runs: Runs, data: Path, args: argparse.Namespace) -> RenderRuns:
    """``--workers 1`` against ``--workers 2`` over interleaved rounds: the whole process (start included)
    and the job as its summary line times it (from the job's start: the renderer's build is in, starting
    Python and the imports are not)."""
    walls: dict[int, list[float]] = {1: [], 2: []}
    jobs: dict[int, list[float]] = {1: [], 2: []}
    peaks = []
    for _ in range(args.rounds):  # interleaved: background load hits both alike
        for workers in (1, 2):
            wall, job, peak = runs.render(data, workers, f"out{workers}.jsonl")
            walls[workers].append(wall)
            jobs[workers].append(job)
            peaks.append(peak)
    result = RenderRuns(
        wall={w: statistics.median(t) for w, t in walls.items()},
        job={w: statistics.median(t) for w, t in jobs.items()},
        peak=max(peaks),
    )
    for workers, times in walls.items():
        print(
            f"render --workers {workers}: {args.records / result.wall[workers]:.0f} records/s, process start "
            f"included (median of {args.rounds}: {result.wall[workers]:.2f} s; range {min(times):.2f}-"
            f"{max(times):.2f} s); the job's own: {args.records / result.job[workers]:.0f} records/s"
        )
    same = filecmp.cmp(runs.root / "out1.jsonl", runs.root / "out2.jsonl", shallow=False)
    rounds = sorted(w1 / w2 for w1, w2 in zip(walls[1], walls[2], strict=True))
    print(
        f"2 workers / 1 worker, {args.records} records: {result.wall[1] / result.wall[2]:.2f}x by the whole process "
        f"(per round {rounds[0]:.2f}-{rounds[-1]:.2f}x), {result.job[1] / result.job[2]:.2f}x by the job's own "
        f"records/s (target >= {WORKERS_TARGET}x); outputs identical: {same}"
    )
    return result


def big_figures(runs: Runs, args: argparse.Namespace, small: RenderRuns) -> Path:
    """The big dataset with 1 and 2 workers: peak RSS against the small runs', and the steady-state ratio
    (records past the small run's count, so start-up is left out). Returns the big dataset."""
    big = make_dataset_apart(runs.root / "big", args.big, args.unique_images)
    walls, peaks = {}, {}
    for workers in (1, 2):
        walls[workers], _, peaks[workers] = runs.render(big, workers, f"big{workers}.jsonl")
        print(
            f"render --workers {workers}, {args.big} records: {args.big / walls[workers]:.0f} records/s, start included"
        )
    print(f"2 workers / 1 worker, whole runs of {args.big} records: {walls[1] / walls[2]:.2f}x")
    steady = {w: per_record_beyond(small.wall[w], walls[w], args.records, args.big) for w in (1, 2)}
    print(
        f"2 workers / 1 worker, once running (the {args.big - args.records} records past {args.records}): "
        f"{steady[1] / steady[2]:.2f}x ({1 / steady[1]:.0f} / {1 / steady[2]:.0f} records/s)"
    )
    growth = peaks[2] / small.peak - 1
    print(
        f"peak RSS: {small.peak:.0f} MB at {args.records} records, {peaks[2]:.0f} MB at {args.big} "
        f"({growth:+.0%}, target within {RSS_TOLERANCE:.0%})"
    )
    return big


def lengths_figures(runs: Runs, data: Path, args: argparse.Namespace, big: Path | None) -> None:
    """``count_tokens`` and ``mmrender lengths`` against the processor filter, per row, loading apart."""
    cli: dict[int, float] = {}
    cli_big: dict[int, float] = {}
    for workers in (1, 2):
        small_walls, big_walls = [], []
        for _ in range(args.rounds):  # interleaved, as the render rounds
            small_walls.append(runs.lengths(data, workers)[0])
            if big is not None:
                big_walls.append(runs.lengths(big, workers, "big-lengths.jsonl")[0])
        cli[workers] = statistics.median(small_walls)
        if big_walls:
            cli_big[workers] = statistics.median(big_walls)
        print(
            f"lengths --workers {workers}: {args.records / cli[workers]:.0f} records/s, process start included "
            f"(median of {args.rounds})"
        )
    # interleaved rounds: the processor's rows and count_tokens' loop alternate, so a slower spell of the
    # machine (this is a shared VM) weighs on both sides alike
    rows = [json.loads(line) for line in data.read_text().splitlines()]
    processor, sample = load_processor(), rows[: args.filter_sample]
    processor_filter(processor, rows[-4:], data.parent)  # untimed: the first calls set things up
    slices = [sample[i :: args.rounds] for i in range(args.rounds)]
    count_walls, count_cpus, proc_walls, proc_cpus, one_thread, filtered = [], [], [], [], [], {}
    for part in slices:
        wall, cpu, counted = count_rows(data)
        count_walls.append(wall)
        count_cpus.append(cpu)
        wall, cpu, lengths = processor_filter(processor, part, data.parent)
        proc_walls.append(wall)
        proc_cpus.append(cpu)
        one_thread.append(processor_filter(processor, part, data.parent, threads=1)[0])
        filtered.update(zip((r["id"] for r in part), lengths, strict=True))
    count_wall, count_cpu = statistics.median(count_walls), statistics.median(count_cpus)
    per_row, cpu_per_row, per_row_one = (statistics.median(x) for x in (proc_walls, proc_cpus, one_thread))
    by_id = dict(zip((r["id"] for r in rows), counted, strict=True))
    cli_counted = [json.loads(line)["num_tokens"] for line in (runs.root / "lengths.jsonl").read_text().splitlines()]
    agree = all(by_id[i] == n for i, n in filtered.items()) and cli_counted == counted
    print(
        f"processor filter, loading apart: {per_row * 1000:.1f} ms per row on torch's default threads "
        f"({cpu_per_row * 1000:.1f} ms CPU), {per_row_one * 1000:.1f} ms on one thread"
    )
    print(
        f"count_tokens, loading apart: {count_wall * 1000:.3f} ms per row in one thread "
        f"({count_cpu * 1000:.3f} ms CPU); same lengths as the processor on {len(filtered)} rows and as the CLI "
        f"on every row: {agree}. Against the processor (target >= {LENGTHS_TARGET:.0f}x; medians of "
        f"{args.rounds} interleaved rounds):"
    )
    print(f"  one core each: {per_row_one / count_wall:.0f}x")
    print(f"  by CPU time: {cpu_per_row / count_cpu:.0f}x")
    print(f"  count_tokens on one core, the processor on its default threads: {per_row / count_wall:.0f}x")
    for workers, wall in cli.items():
        print(f"  the CLI with --workers {workers}, start included: {per_row * args.records / wall:.0f}x")
    for workers, wall in cli_big.items():
        row = per_record_beyond(cli[workers], wall, args.records, args.big)
        print(
            f"  the CLI with --workers {workers} once running (records past {args.records} of {args.big}; "
            f"{row * 1000:.3f} ms per row), the processor on its default threads: {per_row / row:.0f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--unique-images", type=int, default=600)
    parser.add_argument("--filter-sample", type=int, default=200, help="rows the processor-based filter is timed on")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the compared runs (median)")
    parser.add_argument("--big", type=int, default=0, help="also run N records: RSS growth and steady-state rates")
    parser.add_argument("--no-ray", dest="ray", action="store_false", help="skip the Ray Data figure")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mmrender-bench-dataset-") as tmp:
        runs = Runs(Path(tmp))
        data = make_dataset_apart(runs.root, args.records, args.unique_images)
        small = render_figures(runs, data, args)
        big = big_figures(runs, args, small) if args.big else None
        # after the RSS runs: the processor filter loads transformers into this process, and a child started
        # after that inherits its peak RSS (Linux keeps ru_maxrss across exec); only Ray, whose RSS is not reported, follows
        lengths_figures(runs, data, args, big)
        # after the others: a Ray cluster's processes linger for seconds after it shuts down
        if args.ray:
            init, seconds, same = ray_render(runs, data, runs.root / "out1.jsonl")
            print(
                f"Ray Data, 2 actors: {args.records / seconds:.0f} records/s ({seconds:.1f} s; cluster start "
                f"{init:.1f} s apart), token ids equal to the CLI's: {same}"
            )


if __name__ == "__main__":
    main()
