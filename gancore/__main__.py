"""Command line: `python -m gancore train|presets|download`.

Every setting of the config is a flag (`lr_d` -> `--lr-d`), so the command line, the presets and the
dashboard share one list of settings. Bad input exits with status 2 and one line naming the bad value.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import time
from pathlib import Path
from typing import NoReturn, Sequence

import torch

from .config import FIELDS, Config, ConfigError, from_dict
from .data import DataError
from .presets import PRESETS

EXIT_USAGE, EXIT_DIVERGED, EXIT_ERROR, EXIT_INTERRUPTED = 2, 3, 1, 130
OWN_FLAGS = ("threads", "checkpoint_every", "out", "config")  # ConfigError fields that are flags, not settings
CHECKPOINT_SECONDS = 60.0  # a run killed mid-way loses at most a minute of training


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not argparse's usage block
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gancore", description="Train GANs headless; see also `streamlit run dashboard/app.py`.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    train = sub.add_parser("train", help="train one run and write its run directory")
    train.add_argument("--preset", choices=sorted(PRESETS), help="start from a named preset")
    train.add_argument("--out", default=None, help="run directory (default: runs/<time>)")
    train.add_argument("--optimizer", help="optimizer of both D and G (adam, rmsprop, sgd)")
    train.add_argument("--config", help="JSON file of settings (e.g. another run's config.json)")
    train.add_argument("--resume", help="checkpoint to continue from (its architecture must match); with the "
                       "same --out, the run's metrics and events are kept up to the checkpoint's step")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.add_argument("--threads", default="0", help="CPU threads for torch (default 0: one for 1-D/2-D "
                       "data, whose small nets lose more to thread hand-offs than they gain; all for images)")
    train.add_argument("--checkpoint-every", default=str(CHECKPOINT_SECONDS), metavar="SECONDS",
                       help="save checkpoint.pt every SECONDS of wall time, and at the end "
                       f"(default {CHECKPOINT_SECONDS:g}; 0: only at the end)")
    for name, f in FIELDS.items():
        m = f.metadata
        default = f.default
        extra = f" [choices: {', '.join(map(str, m['choices']))}]" if m["choices"] else ""
        if str(f.type).startswith("bool"):
            train.add_argument(flag(name), dest=name, action=argparse.BooleanOptionalAction, default=None,
                               help=f"{m['help']} (default: {default})")
        else:
            train.add_argument(flag(name), dest=name, default=None, metavar=name.upper(),
                               help=f"{m['help']} (default: {default}){extra}")
    sub.add_parser("presets", help="list the presets and what each one shows")
    download = sub.add_parser("download", help="download MNIST or Fashion-MNIST IDX files (checksums verified)")
    download.add_argument("name", choices=("mnist", "fashion"))
    download.add_argument("--dir", default=None, help="destination folder (default: the user cache)")
    download.add_argument("--mirror", default=None, metavar="URL",
                          help="base URL to fetch the .gz files from instead (e.g. file:///media/usb/mnist)")
    from .sweep import add_sweep_parser  # sweep.py reuses train's parser: imported once that exists
    add_sweep_parser(sub)
    return parser


def config_from_args(args: argparse.Namespace) -> Config:
    """Preset, then a JSON config file, then explicit flags: later ones win."""
    import json
    values: dict = {}
    if args.preset:
        values.update(PRESETS[args.preset].config.to_dict())
    if args.config:
        try:
            content = json.loads(Path(args.config).read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError("config", f"cannot read {args.config}: {_first_line(exc)}") from None
        if not isinstance(content, dict):
            raise ConfigError("config", f"{args.config} must hold a JSON object of settings "
                              f'(like {{"width": 64}}), not a {type(content).__name__}')
        values.update(content)
    if args.optimizer is not None:
        values["optimizer_d"] = values["optimizer_g"] = args.optimizer
    values.update({name: getattr(args, name) for name in FIELDS if getattr(args, name) is not None})
    return from_dict(values)


def cmd_presets() -> int:
    for preset in PRESETS.values():
        print(f"{preset.name}: {preset.title}")
        print(f"  {preset.explanation}")
        print(f"  shows: {preset.criterion}")
        if preset.fix is not None:
            changes = ", ".join(f"{name} {value}" for name, value in preset.fix.changes)
            print(f"  fix:   {preset.fix.label} ({changes}, live): works when {preset.fix.criterion}")
        print(f"  run:   python -m gancore train --preset {preset.name}\n")
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from .data.images import download
    path = download(args.name, Path(args.dir) if args.dir else None, progress=sys.stderr.isatty(),
                    base_url=args.mirror)
    print(f"{args.name} is ready in {path}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Validate everything (settings, folder, checkpoint, memory) before writing anything, then train."""
    from . import checkpoint
    from .budget import check_budget, free_bytes
    from .outputs import RunDirectory
    from .run import Run
    from .train import pick_device
    config = config_from_args(args)
    threads = _threads(args.threads, config)
    every = _seconds("checkpoint_every", args.checkpoint_every)
    out = Path(args.out or f"runs/{time.strftime('%Y%m%d-%H%M%S')}")
    directory = RunDirectory(out, config)
    content = checkpoint.read(args.resume) if args.resume else None
    if content is not None:
        checkpoint.check_fits(content, config)
    device = pick_device(config.device).type
    check_budget(config, None, free_bytes(device))
    if threads:
        torch.set_num_threads(threads)
    try:
        run = Run(config, hooks=[directory.evaluator], sinks=[directory.write_rows])
    except (RuntimeError, MemoryError) as exc:  # an allocation the estimate did not foresee
        print(f"gancore: error: could not build the run: {_first_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
    try:
        if content is not None:
            run.call(lambda trainer: checkpoint.load(trainer, content)).result()
        directory.open(run, content["step"] if content is not None else None)
    except BaseException:
        run.stop()
        raise
    interrupted = False
    previous = signal.signal(signal.SIGINT, lambda *_: run.pause())
    try:
        try:
            run.start()
        except RuntimeError:  # the thread ended before Start (memory ran out in the first evaluation):
            if run.status != "error":  # its reason is said below, like an error while training
                raise
        directory.follow(progress=not args.no_progress and sys.stderr.isatty(), checkpoint_every=every)
        interrupted = run.status == "paused"
    finally:
        signal.signal(signal.SIGINT, previous)
    status = {"finished": "completed", "diverged": "diverged", "error": "error"}.get(run.status, "stopped")
    summary, problems = directory.write(status)
    run.stop()
    for problem in problems:
        print(f"gancore: could not write {problem}", file=sys.stderr)
    if status == "error":
        print(f"gancore: error: {_first_line(run.reason)} (metrics kept in {out})", file=sys.stderr)
        return EXIT_ERROR
    if status == "diverged":
        print(f"gancore: diverged: {run.reason} Metrics kept in {out}", file=sys.stderr)
        return EXIT_DIVERGED
    print(f"{status}: {summary['steps']} steps; results in {out}")
    if problems:
        return EXIT_ERROR
    return EXIT_INTERRUPTED if interrupted else 0


def _threads(value: str, config: Config) -> int:
    """0 (auto): one thread for the toy nets (bench/README.md: faster on 2 cores, and robust when the
    cores are shared), torch's own choice for images. More threads than cores only adds hand-offs."""
    try:
        threads = int(value)
    except ValueError:
        raise ConfigError("threads", f"expected an int, got {value!r}") from None
    if threads < 0:
        raise ConfigError("threads", f"{threads} is below the minimum 0")
    cores = _cores()
    if threads > cores:
        raise ConfigError("threads", f"{threads} is above the maximum {cores} (the CPU cores this process may use)")
    return threads or (0 if config.spec.is_image else 1)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _seconds(name: str, value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise ConfigError(name, f"expected a number of seconds, got {value!r}") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise ConfigError(name, f"{value} is not a number of seconds >= 0")
    return seconds


def _first_line(text: object) -> str:
    lines = str(text).strip().splitlines()
    return lines[0] if lines else type(text).__name__


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "presets":
            return cmd_presets()
        if args.command == "download":
            return cmd_download(args)
        if args.command == "sweep":
            from .sweep import run_sweep
            return run_sweep(args)
        return cmd_train(args)
    except ConfigError as exc:
        known = exc.field in FIELDS or exc.field in OWN_FLAGS
        bad = flag(exc.field) if known else exc.field if exc.field.isidentifier() else repr(exc.field)
        print(f"gancore: error: {bad}: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except (DataError, ValueError) as exc:
        print(f"gancore: error: {_first_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `python -m gancore presets | head`: the reader left, nothing went wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # a folder that cannot be written, a full disk
        print(f"gancore: error: {_first_line(exc)}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
