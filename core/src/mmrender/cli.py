"""The ``mmrender`` command line: render datasets, resolve models, list plugins, inspect refs and stores."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

from .datasets import CHUNK_SIZE
from .errors import MMRenderError
from .version import __version__


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _options(pairs: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise MMRenderError(f"--option expects KEY=VALUE, got {pair!r}")
        out[key.replace("-", "_")] = _parse_value(value)
    return out


def _seconds(text: str) -> float:
    from .network import parse_timeout

    try:
        return parse_timeout(text, "--timeout")
    except MMRenderError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _add_timeout(parser: argparse.ArgumentParser) -> None:
    """``--timeout SECONDS`` for commands that may touch the network; main() exports it as $MMRENDER_TIMEOUT."""
    parser.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        help="give up on a remote host (http image, s3 store) that does not connect or answer within SECONDS "
        "(default $MMRENDER_TIMEOUT or 20)",
    )


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, ensure_ascii=False))


class Interrupted(BaseException):
    """Raised in the main thread by SIGTERM so a render unwinds (and removes its part file) as on Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_interrupted(signum: int, _frame: Any) -> None:
    signal.signal(signum, signal.SIG_IGN)  # a second SIGTERM must not cut the cleanup short
    raise Interrupted(signum)


@contextlib.contextmanager
def _sigterm_unwinds() -> Any:
    """Turn SIGTERM (Slurm, Kubernetes, ``timeout``) into :class:`Interrupted` while a command runs."""
    try:
        previous = signal.signal(signal.SIGTERM, _raise_interrupted)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _warn_store_without_scheme(store: str | None) -> None:
    """``--store data`` means a directory ./data, which is rarely what was meant by a scheme's name."""
    from .plugins import registries

    if store and store in registries().backends:
        print(
            f"mmrender: warning: --store {store!r} is the local directory ./{store}; "
            f"write '{store}:' for the {store}: store, or './{store}' to silence this warning",
            file=sys.stderr,
        )


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _job_summary(verb: str, summary: Any, extra: str = "") -> str:
    """The final line: what was done, how fast, and how many bad records were skipped and where they went."""
    rate = summary.conversations / summary.seconds if summary.seconds > 0 else 0.0
    line = f"{verb} {summary.conversations} record(s), {summary.tokens} tokens"
    if verb == "rendered":
        line += f", {summary.images} image(s)"
        if summary.videos:
            line += f", {summary.videos} video(s)"
    line += f" in {summary.seconds:.1f} s ({rate:.1f} records/s) -> {summary.output}{extra}"
    if summary.errors is not None:
        line += f"; skipped {summary.skipped} bad record(s) -> {summary.errors}"
    if summary.resumed_chunks:
        line += f"; {summary.resumed_chunks} chunk(s) kept from the interrupted run"
    return line


def _job_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments every dataset command passes from its flags."""
    return {
        "output": args.output,
        "model": args.model,
        "options": _options(args.option),
        "add_generation_prompt": args.add_generation_prompt,
        "progress": not args.quiet,
        "workers": args.workers,
        "errors": args.errors,
        "resume": args.resume,
        "chunk_size": args.chunk_size,
    }


def cmd_render(args: argparse.Namespace) -> int:
    from .render_job import run_render_job

    _warn_store_without_scheme(args.store)
    summary = run_render_job(
        args.input, store=args.store, samples=args.samples, max_length=args.max_length, **_job_arguments(args)
    )
    if not args.quiet:
        print(_job_summary("rendered", summary, f"; assets in {summary.store}"), file=sys.stderr)
    return 0


def cmd_lengths(args: argparse.Namespace) -> int:
    from .render_job import run_lengths_job

    summary = run_lengths_job(args.input, **_job_arguments(args))
    if not args.quiet:
        print(_job_summary("counted", summary), file=sys.stderr)
    return 0


def _add_dataset_job(p: argparse.ArgumentParser) -> None:
    """Flags every dataset command shares: workers, bad-record handling, resume, progress."""
    p.add_argument(
        "--workers",
        type=_workers,
        default=None,
        metavar="N",
        help="worker processes, each with its own renderer (default: all cores); output is the same for any N",
    )
    p.add_argument(
        "--errors",
        metavar="FILE",
        help="skip bad records and write one row per skipped record (index, id, error, message) to FILE; "
        "without it the first bad record stops the job",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="keep finished chunks beside the output; after an interruption, the same command continues",
    )
    p.add_argument(
        "--chunk-size",
        type=_workers,
        default=CHUNK_SIZE,
        metavar="N",
        help=f"records a worker renders at a time, the unit of ordering and of --resume (default {CHUNK_SIZE})",
    )
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="family option, repeatable")
    p.add_argument("--add-generation-prompt", action="store_true", help="end each prompt with the assistant header")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")


def cmd_resolve(args: argparse.Namespace) -> int:
    import attrs

    from .plugins import distribution_of
    from .resolve import family_owner, resolve

    spec, route = resolve(args.model)
    info = {
        "model": args.model,
        "family": spec.id,
        "route": route.model_id,
        "settings": dict(route.settings),
        "distribution": distribution_of(family_owner(spec)),
        "layout_family": spec.layout.family if spec.layout else None,
        "options": {a.name: _default_of(a) for a in attrs.fields(spec.options_class)},
    }
    if args.json:
        _print_json(info)
    else:
        for key, value in info.items():
            if key == "options":  # defaults as Python literals: multimodal_output='raw', run_id=None
                value = ", ".join(f"{name}={default!r}" for name, default in value.items())
            print(f"{key}: {value}")
    return 0


def _default_of(field: Any) -> Any:
    """An option's default as a JSON value (a factory is called; anything JSON cannot carry becomes its repr)."""
    import attrs

    default = field.default
    if isinstance(default, attrs.Factory):
        default = None if default.takes_self else default.factory()
    if default is attrs.NOTHING:
        return None
    try:
        json.dumps(default)
    except (TypeError, ValueError):
        return repr(default)
    return default


def _plugin_rows() -> list[dict[str, Any]]:
    from .plugins import distribution_of, get_plugin_manager, registries, version_of

    pm, reg = get_plugin_manager(), registries()
    rows = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda item: str(item[0])):
        dist = distribution_of(name)
        families = sorted({spec.id for spec, owner in reg.families.values() if owner == name})
        rows.append(
            {
                "name": name,
                "distribution": dist,
                "version": version_of(name),
                "hooks": sorted(h.name for h in pm.get_hookcallers(plugin) or ()),
                "families": families,
                "models": sorted(k for k, (_, owner) in reg.models.items() if owner == name),
                "schemes": sorted(k for k, (_, owner) in reg.backends.items() if owner == name),
                "ref_codecs": sorted(k for k, (_, owner) in reg.codecs.items() if owner == name),
            }
        )
    return rows


def cmd_plugins(args: argparse.Namespace) -> int:
    rows = _plugin_rows()
    if args.json:
        _print_json(rows)
        return 0
    for row in rows:
        print(f"{row['name']} ({row['distribution']} {row['version'] or ''})".replace(" )", ")"))
        print(f"  hooks: {', '.join(row['hooks'])}")
        for label in ("families", "schemes", "ref_codecs"):
            if row[label]:
                print(f"  {label}: {', '.join(row[label])}")
        if row["models"]:
            print(
                f"  models: {len(row['models'])} ({', '.join(row['models'][:4])}{', …' if len(row['models']) > 4 else ''})"
            )
    return 0


def cmd_ref_inspect(args: argparse.Namespace) -> int:
    from .refs import parse
    from .types import to_jsonable

    ref = parse((sys.stdin.read() if args.ref == "-" else args.ref).strip())
    _print_json({k: v for k, v in to_jsonable(ref).items() if v is not None})
    return 0


def _video_layouts(renderer: Any, args: argparse.Namespace) -> int:
    """``layout --video``: each video's sampled frames, timestamps and grid from its container alone."""
    from .video_probe import load_video

    rows = []
    for path in args.images:
        header = load_video(path, read_uri=renderer.plugins.read_uri).header
        layout = renderer.compute_video_layout(header)
        rows.append(
            {
                "video": path,
                "size": [header.width, header.height],
                "num_frames": header.num_frames,
                "average_fps": header.average_fps,
                "frame_indices": list(layout.frame_indices),
                "timestamps": list(layout.timestamps),
                "grid": list(layout.grid),
                "num_tokens": layout.num_tokens,
                "family": layout.family,
                "fingerprint": layout.fingerprint,
            }
        )
    if args.json:
        _print_json(rows)
    else:
        for row in rows:
            print(
                f"{row['video']}: {row['size'][0]}x{row['size'][1]}, {row['num_frames']} frames at "
                f"{row['average_fps']:g} fps -> {len(row['frame_indices'])} sampled, grid {row['grid']}, "
                f"{row['num_tokens']} video pads, {row['family']} {row['fingerprint']}"
            )
    return 0


def cmd_layout(args: argparse.Namespace) -> int:
    from .images import load_image
    from .resolve import get_renderer

    renderer = get_renderer(args.model, store="data:")
    if args.video:
        return _video_layouts(renderer, args)
    rows = []
    for path in args.images:
        image = load_image(path, read_uri=renderer.plugins.read_uri)
        layout = renderer.image_layout(image.width, image.height)
        rows.append(
            {
                "image": path,
                "size": [image.width, image.height],
                "format": image.format,
                "resized": list(layout.resized) if layout.resized else None,
                "grid": list(layout.grid),
                "num_tokens": layout.num_tokens,
                "num_placeholders": layout.num_placeholders,
                "family": layout.family,
                "fingerprint": layout.fingerprint,
                "payload": dict(layout.payload),
            }
        )
    if args.json:
        _print_json(rows)
    else:
        for row in rows:
            print(
                f"{row['image']}: {row['size'][0]}x{row['size'][1]} {row['format']} -> grid {row['grid']}, "
                f"{row['num_tokens']} tokens ({row['num_placeholders']} placeholder ids), {row['family']} "
                f"{row['fingerprint']}"
            )
    return 0


def cmd_store_verify(args: argparse.Namespace) -> int:
    from .store_ops import verify_store

    report = verify_store(args.url, delete_mismatched=args.delete)
    _print_json(report.as_dict())
    return 0 if report.clean else 1


def _expand_patterns(paths: Sequence[str]) -> list[str]:
    """Expand quoted glob patterns (``'out/*.jsonl'``); one that matches nothing is an error, not zero files."""
    import glob

    out: list[str] = []
    for path in paths:
        if os.path.exists(path) or not any(c in path for c in "*?["):
            out.append(path)
            continue
        matches = sorted(glob.glob(path))
        if not matches:
            raise MMRenderError(f"--keep-referenced {path!r} matches no file")
        out.extend(matches)
    return out


def cmd_store_gc(args: argparse.Namespace) -> int:
    from .store_ops import gc_store

    report = gc_store(args.url, _expand_patterns(args.keep_referenced), dry_run=not args.delete)
    _print_json(report.as_dict())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mmrender", description="Render multimodal chats to exact token ids plus raw image refs."
    )
    parser.add_argument("--version", action="version", version=f"mmrender {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("render", help="render a conversation or a dataset (JSONL, Parquet) to JSONL or Parquet")
    p.add_argument(
        "input",
        help="conversation .json (list of messages or {messages, tools}), dataset .jsonl or .parquet "
        "(a path or an fsspec URL such as s3://…); - reads JSONL from stdin",
    )
    p.add_argument(
        "-o", "--output", default="-", help="output .jsonl or .parquet, path or URL (default: JSONL on stdout)"
    )
    p.add_argument("-m", "--model", help="model id, alias or checkpoint dir (or a 'model' key per record)")
    p.add_argument(
        "--store",
        help="asset store URL: a directory, file://, data: (inline), s3://… "
        "(default: $MMRENDER_STORE, else $XDG_CACHE_HOME/mmrender/assets, i.e. ~/.cache/mmrender/assets)",
    )
    p.add_argument(
        "--samples",
        action="store_true",
        help="write training samples (ids, loss mask, positions …) instead of rendered prompts",
    )
    p.add_argument("--max-length", type=int, metavar="N", help="with --samples: truncate each sample to N token ids")
    _add_dataset_job(p)
    _add_timeout(p)
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("lengths", help="token count per record from image headers alone (no hashing, no store)")
    p.add_argument("input", help="dataset .jsonl, .parquet or conversation .json (path or URL); - for stdin")
    p.add_argument("-o", "--output", default="-", help='output .jsonl or .parquet of {"id", "num_tokens"} rows')
    p.add_argument("-m", "--model", help="model id, alias or checkpoint dir (or a 'model' key per record)")
    _add_dataset_job(p)
    _add_timeout(p)
    p.set_defaults(func=cmd_lengths)

    p = sub.add_parser("resolve", help="show which family renders a model")
    p.add_argument("model")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_resolve)

    p = sub.add_parser("plugins", help="list loaded plugins, their hooks, families and schemes")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_plugins)

    p = sub.add_parser("ref", help="raw image ref tools")
    ref_sub = p.add_subparsers(dest="ref_command", required=True, metavar="SUBCOMMAND")
    q = ref_sub.add_parser("inspect", help="parse and validate a mmraw ref, print its fields")
    q.add_argument("ref", help="the ref string; - reads it from stdin")
    q.set_defaults(func=cmd_ref_inspect)

    p = sub.add_parser("layout", help="image (or video) layout from the header alone")
    p.add_argument("-m", "--model", required=True)
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--json", action="store_true")
    p.add_argument("--video", action="store_true", help="the inputs are videos (sampled frames, grid, no decoding)")
    _add_timeout(p)
    p.set_defaults(func=cmd_layout)

    p = sub.add_parser("store", help="asset store maintenance")
    store_sub = p.add_subparsers(dest="store_command", required=True, metavar="SUBCOMMAND")
    q = store_sub.add_parser("verify", help="re-hash every asset and report mismatches")
    q.add_argument("url")
    _add_timeout(q)
    q.add_argument(
        "--delete", action="store_true", help="delete mismatched assets, so the next render writes them afresh"
    )
    q.set_defaults(func=cmd_store_verify)
    q = store_sub.add_parser("gc", help="delete assets no listed JSONL references (dry run by default)")
    q.add_argument("url")
    q.add_argument(
        "--keep-referenced",
        action="append",
        required=True,
        metavar="FILE",
        help="a JSONL file (or a quoted glob pattern) whose refs keep their assets; repeat for more",
    )
    q.add_argument("--delete", action="store_true", help="actually delete (default: only report)")
    _add_timeout(q)
    q.set_defaults(func=cmd_store_gc)
    return parser


def _interrupted(signum: int) -> int:
    """One line on stderr and the shell's exit status for a signal (128 + its number)."""
    print(f"mmrender: interrupted by {signal.Signals(signum).name}", file=sys.stderr)
    return 128 + signum


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "timeout", None) is not None:  # one setting for every store and fetch, in any thread
        from .network import TIMEOUT_ENV

        os.environ[TIMEOUT_ENV] = repr(args.timeout)
    try:
        with _sigterm_unwinds():
            code = int(args.func(args) or 0)
            sys.stdout.flush()  # a closed pipe shows up here, not at interpreter exit
            return code
    except MMRenderError as exc:
        print(f"mmrender: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `mmrender … | head`: the reader left; nothing more to say
        # the recipe from Python's signal docs: stdout's buffer still holds data that would fail again at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (OSError, json.JSONDecodeError) as exc:
        print(f"mmrender: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return _interrupted(signal.SIGINT)
    except Interrupted as exc:
        return _interrupted(exc.signum)


if __name__ == "__main__":
    sys.exit(main())
