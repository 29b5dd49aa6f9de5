"""`sweep`: one ordinary headless run per (grid cell, seed), on Dask, summarised in sweep.csv and sweep.png.

The runs go to Dask (an embedded LocalCluster, one single-threaded worker process per core, or an
existing scheduler), not a home-made pool: the same command scales from a laptop to a cluster, and a
worker lost mid-run is Dask's problem (`retries=1`: the run goes to another worker). A run that fails or
diverges is a row, never the end of the sweep; a run whose directory holds a finished summary of the same
config is not trained again, so re-running the command resumes it.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import signal
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Sequence

from . import atomic
from .__main__ import EXIT_INTERRUPTED, EXIT_USAGE, OWN_FLAGS, _first_line, _Parser, build_parser, \
    config_from_args, flag
from .config import FIELDS, Config, ConfigError
from .sweep_grid import SWEEP_PRESETS, Axis, Cell, cells, parse_axis, value_text
from .sweep_map import draw

HEADLINE = ("modes_covered", "modes_covered_strict", "hq_fraction", "w1_exact", "label_accuracy")
OUTCOMES = (*HEADLINE, "modes_total", "kl_uniform", "js_grid", "swd", "steps")
FINISHED = ("completed", "diverged")  # outcomes of the settings themselves: the same config gives them again
PLOTLY_FILE = "plotly.min.js"  # in the sweep's folder: the runs' report.html pages load it from there
CELL_FILE = "sweep_cell.json"  # in each run directory: who ran it, how long, which diagnoses (kinds)


def add_sweep_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """`sweep`: every flag of `train` (taken from its parser, so the two never drift) plus the grid. Beside
    `train` in the same subparsers, its parser is reused; on its own, the command line's is built."""
    train = subparsers.choices.get("train") or next(
        a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices["train"]
    sweep = subparsers.add_parser("sweep", help="train a grid of settings x seeds on Dask; write sweep.csv "
                                  "and sweep.png")
    for action in train._actions:  # the settings flags; the run-only ones are the sweep's own below
        if action.dest not in ("help", "out", "threads", "checkpoint_every", "resume"):
            sweep._add_action(action)
    sweep.add_argument("--out", default=None, help="sweep folder, one run directory per run (default: sweeps/<time>)")
    sweep.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2,...",
                       help="an axis over any setting (repeatable), e.g. --grid lr_d=1e-4,1e-3")
    sweep.add_argument("--seeds", nargs="+", default=None, metavar="SEED", help="seeds per cell (default: 0)")
    sweep.add_argument("--sweep-preset", choices=sorted(SWEEP_PRESETS), help="a named sweep: base settings "
                       "and grid (" + "; ".join(f"{p.name}: {p.title}" for p in SWEEP_PRESETS.values()) + ")")
    sweep.add_argument("--outcome", default="modes_covered_strict", choices=OUTCOMES,
                       help="what the map colours (default: modes with a fair share)")
    sweep.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="an existing Dask scheduler (tcp://host:8786) instead of a local cluster")
    sweep.add_argument("--workers", default=None, metavar="N",
                       help="worker processes of the local cluster (default: one per core)")
    sweep.add_argument("--threads", default="1", help="torch threads per run (default 1: one run per core)")
    sweep.add_argument("--checkpoint-every", default="0", metavar="SECONDS",
                       help="checkpoint.pt every SECONDS of a run (default 0: only at the end)")
    return sweep


def run_sweep(args: argparse.Namespace) -> int:
    """Validate everything, then train the runs not already finished; bad input exits 2 with one line."""
    prog = "gancore sweep"
    try:
        plan = _plan(args)
    except ValueError as exc:
        print(f"{prog}: error: {usage_error(exc)}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return execute(plan, progress=not args.no_progress and sys.stderr.isatty())
    except OSError as exc:
        print(f"{prog}: error: {_first_line(exc)}", file=sys.stderr)
        return 1


def usage_error(exc: ValueError) -> str:
    """Bad sweep input in one line, the setting named as its flag (`--grid: lr_d=abc: ...`)."""
    if isinstance(exc, ConfigError):
        bad = flag(exc.field) if exc.field in FIELDS or exc.field in (*OWN_FLAGS, "grid", "seeds", "workers") \
            else exc.field
        return f"{bad}: {exc.message}"
    return _first_line(exc)


def plan_of(argv: Sequence[str]) -> Plan:
    """The plan of `gancore sweep ARGV`, for a caller that is not the command line (the dashboard): bad input
    raises ValueError, its one line as usage_error words it; nothing is written."""
    parser = _Parser(prog="gancore", exit_on_error=False)
    add_sweep_parser(parser.add_subparsers(dest="command", required=True, parser_class=_Parser))
    try:
        args = parser.parse_args(["sweep", *argv])
    except (argparse.ArgumentError, SystemExit) as exc:
        raise ValueError(f"bad sweep settings: {exc}") from None
    return _plan(args)


class Plan:
    """A validated sweep: its folder, axes, runs (cells) and settings, and where it runs."""

    def __init__(self, out: Path, axes: list[Axis], cells: list[Cell], settings: dict[str, Any],
                 scheduler: str | None, workers: int, threads: int, checkpoint_every: float) -> None:
        self.out, self.axes, self.cells, self.settings = out, axes, cells, settings
        self.scheduler, self.workers, self.threads, self.checkpoint_every = scheduler, workers, threads, \
            checkpoint_every


def _plan(args: argparse.Namespace) -> Plan:
    from .__main__ import _cores, _seconds, _threads
    from .outputs import check_out
    preset = SWEEP_PRESETS.get(args.sweep_preset) if args.sweep_preset else None
    base = config_from_args(args)
    if preset is not None:  # the preset's settings, under the flags given explicitly
        given = {n: getattr(args, n) for n in FIELDS if getattr(args, n) is not None}
        base = base.replace(**{**preset.base, **given})
    axes = [parse_axis(text, base) for text in (args.grid or (preset.grid if preset else []))]
    if not axes:
        raise ConfigError("grid", "give at least one axis, e.g. --grid lr_d=1e-4,1e-3 (or --sweep-preset)")
    seeds = [_int("seeds", s, 0, 2**31 - 1) for s in (args.seeds or ["0"])]
    if len(set(seeds)) != len(seeds):
        raise ConfigError("seeds", "a seed is repeated")
    out = Path(args.out or f"sweeps/{time.strftime('%Y%m%d-%H%M%S')}")
    check_out(out)
    workers = _int("workers", args.workers, 1, 1024) if args.workers is not None else _cores()
    settings = {"base": base.to_dict(), "grid": {a.name: list(a.values) for a in axes}, "seeds": seeds,
                "outcome": args.outcome, "sweep_preset": args.sweep_preset,
                "explanation": preset.explanation if preset else None,
                "scheduler": args.scheduler, "workers": None if args.scheduler else workers}
    return Plan(out, axes, cells(base, axes, seeds), settings, args.scheduler, workers,
                 _threads(args.threads, base) or 1, _seconds("checkpoint_every", args.checkpoint_every))


def train_cell(config: dict[str, Any], out: str, threads: int = 1, checkpoint_every: float = 0.0) -> dict[str, Any]:
    """The task a worker runs: one headless run into `out` (as `train --out`), returned as a sweep.csv row.
    A failure is a row with status "error" and its reason, never an exception out of the task."""
    import torch

    from .outputs import RunDirectory
    from .run import Run
    started = time.monotonic()
    torch.set_num_threads(threads)
    row: dict[str, Any] = {"worker": _worker_address()}
    try:
        directory = RunDirectory(Path(out), Config(**config), plotly_src=f"../{PLOTLY_FILE}")
        run = Run(directory.config, hooks=[directory.evaluator], sinks=[directory.write_rows])
        try:
            directory.open(run)
            run.start()
            directory.follow(progress=False, checkpoint_every=checkpoint_every)
            status = {"finished": "completed", "diverged": "diverged", "error": "error"}.get(run.status, "stopped")
            summary, problems = directory.write(status)
            kinds = [d.kind for d in run.snapshot().diagnoses]
        finally:
            run.stop()
        row.update(_headline(summary), diagnosis_kinds=";".join(kinds))
        if problems:
            row["reason"] = (row["reason"] + "; " if row["reason"] else "") + "could not write " + "; ".join(problems)
    except Exception as exc:  # a bad data folder, a full disk, a bug: this run's row says so
        row.update(status="error", reason=f"{type(exc).__name__}: {_first_line(exc)}")
    row["seconds"] = round(time.monotonic() - started, 3)
    try:
        atomic.write_text(Path(out) / CELL_FILE, json.dumps(row) + "\n")
    except OSError:
        pass  # the row still reaches sweep.csv; only resume loses it
    return row


def _headline(summary: dict[str, Any]) -> dict[str, Any]:
    return {"status": summary["status"], "reason": summary.get("reason") or "", "steps": summary.get("steps"),
            **{k: summary.get(k) for k in HEADLINE}, "diagnoses": "; ".join(summary.get("diagnoses") or [])}


def _worker_address() -> str:
    try:
        from distributed import get_worker
        return get_worker().address
    except (ImportError, ValueError):  # called outside a worker (a test, a plain loop)
        return "local"


def finished_row(cell: Cell, out: Path) -> dict[str, Any] | None:
    """The row of a run already finished in `out` with this cell's exact config, or None: trained again."""
    try:
        summary = json.loads((out / "summary.json").read_text())
        same = json.loads((out / "config.json").read_text()) == cell.config.to_dict()
        extra = json.loads((out / CELL_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not same or summary.get("status") not in FINISHED:
        return None
    return {**extra, **_headline(summary)}


def write_settings(plan: Plan) -> None:
    """The sweep's folder and its sweep.json, the first thing a sweep writes: from then on it can be opened.
    Also plotly.js, once, for the runs' report.html pages (each would otherwise carry its own 4.8 MB)."""
    plan.out.mkdir(parents=True, exist_ok=True)
    atomic.write_text(plan.out / "sweep.json", json.dumps(plan.settings, indent=2) + "\n")
    if not (plan.out / PLOTLY_FILE).is_file():
        from plotly.offline import get_plotlyjs
        atomic.write_text(plan.out / PLOTLY_FILE, get_plotlyjs())


def execute(plan: Plan, progress: bool = False) -> int:
    """Train `plan`'s runs not already finished; 0, or EXIT_INTERRUPTED after Ctrl-C."""
    write_settings(plan)
    rows: dict[str, dict[str, Any]] = {}
    todo = []
    for cell in plan.cells:
        done = finished_row(cell, plan.out / cell.name)
        if done is None:
            todo.append(cell)
        else:
            rows[cell.name] = cell_row(cell, done)
    print(f"sweep: {len(plan.cells)} runs, {len(rows)} already finished, {len(todo)} to train", file=sys.stderr)
    interrupted = False
    if todo:
        # Ctrl-C is KeyboardInterrupt here even where a shell started the sweep with SIGINT ignored (a
        # background job): `kill -INT` then stops it cleanly, as it stops `train`, instead of being lost.
        # (Signals can only be set from the main thread: the Python API called from another keeps its own.)
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.default_int_handler) if main else None
        try:
            interrupted = _train_all(plan, todo, rows, progress)
        finally:
            if main:
                signal.signal(signal.SIGINT, previous)
    for cell in todo if interrupted else ():  # a run that finished as Ctrl-C came is a row, as a resume sees it
        done = None if cell.name in rows else finished_row(cell, plan.out / cell.name)
        if done is not None:
            rows[cell.name] = cell_row(cell, done)
    _write_results(plan, rows)
    failed = sum(r["status"] != "completed" for r in rows.values())
    print(f"sweep: {len(rows)} of {len(plan.cells)} runs in {plan.out / 'sweep.csv'} ({failed} failed or diverged); "
          f"trained {sum(bool(r.get('trained')) for r in rows.values())} now; map in {plan.out / 'sweep.png'}")
    if interrupted:
        print("sweep: interrupted; run the same command again to train the rest", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def _train_all(plan: Plan, todo: list[Cell], rows: dict[str, dict], progress: bool) -> bool:
    """Submit every run, collect them as they finish (sweep.csv rewritten each time); True if Ctrl-C."""
    from distributed import Client, LocalCluster, as_completed
    from tqdm import tqdm
    cluster = None
    if plan.scheduler is None:
        # on this machine only; the HTTP server on a free port (None would still try 8787 and warn)
        cluster = LocalCluster(n_workers=plan.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=":0", silence_logs=logging.ERROR)
    client = Client(plan.scheduler or cluster, timeout="30s")
    tag = uuid.uuid4().hex[:8]  # fresh task keys: a shared scheduler may still know an earlier sweep's
    by_future = {client.submit(train_cell, c.config.to_dict(), str(plan.out / c.name), plan.threads,
                               plan.checkpoint_every, key=f"sweep-{tag}-{i}", retries=1, pure=False): c
                 for i, c in enumerate(todo)}
    slots = sum(client.nthreads().values()) or 1
    failed = 0
    try:
        with tqdm(total=len(todo), disable=not progress, unit="run", dynamic_ncols=True) as bar:
            bar.set_postfix(running=min(slots, len(todo)), failed=0)
            for future in as_completed(by_future):
                cell = by_future[future]
                try:
                    result = future.result()
                except Exception as exc:  # the run's worker was lost twice (KilledWorker) or the task broke
                    result = {"status": "error", "reason": f"{type(exc).__name__}: {_first_line(exc)}"}
                rows[cell.name] = cell_row(cell, {**result, "trained": True})
                failed += result["status"] != "completed"
                bar.update(1)
                bar.set_postfix(running=min(slots, len(todo) - bar.n), failed=failed)
                _write_csv(plan, rows)
        return False
    except KeyboardInterrupt:
        client.cancel(list(by_future))
        return True
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


COLUMNS = ("seed", "status", "reason", "worker", "seconds", "steps", *HEADLINE, "diagnoses", "diagnosis_kinds",
           "run")


def cell_row(cell: Cell, result: dict[str, Any]) -> dict[str, Any]:
    """A run's sweep.csv row: its grid values, seed and run directory's name, then what the run gave."""
    return {**{k: v for k, v in cell.values}, "seed": cell.seed, "run": cell.name, **result}


def csv_text(row: dict[str, Any]) -> dict[str, str]:
    """A row as sweep.csv holds it (and as the map and the page read it): every value as text."""
    return {k: value_text(v) if v is not None else "" for k, v in row.items()}


def _write_results(plan: Plan, rows: dict[str, dict]) -> None:
    _write_csv(plan, rows)
    axes = [(a.name, [value_text(v) for v in a.values]) for a in plan.axes]
    title = plan.settings["sweep_preset"] or " x ".join(a.name for a in plan.axes)
    image = draw(read_csv(plan.out / "sweep.csv"), axes, plan.settings["outcome"], f"Sweep: {title}")
    atomic.replace_with(plan.out / "sweep.png", lambda f: image.save(f, format="PNG"))


def _write_csv(plan: Plan, rows: dict[str, dict]) -> None:
    """All rows so far, in grid order, replaced atomically: a reader never sees half a file."""
    names = [a.name for a in plan.axes] + list(COLUMNS)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, names, extrasaction="ignore")
    writer.writeheader()
    for cell in plan.cells:
        if cell.name in rows:
            writer.writerow(csv_text(rows[cell.name]))
    atomic.write_text(plan.out / "sweep.csv", buffer.getvalue())


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _int(name: str, value: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(name, f"expected an int, got {value!r}") from None
    if not low <= number <= high:
        raise ConfigError(name, f"{number} is outside {low}..{high}")
    return number


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m gancore.sweep ARGS`: the sweep command on its own (ARGS as after `gancore sweep`)."""
    parser = _Parser(prog="gancore")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    add_sweep_parser(sub)
    return run_sweep(parser.parse_args(["sweep", *(sys.argv[1:] if argv is None else argv)]))


if __name__ == "__main__":
    sys.exit(main())
