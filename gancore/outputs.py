"""The run directory the command line writes: config, metrics, events, evaluations, pictures, checkpoint,
summary, and report.html (the settings, the summary and the Live tab's figures: dashboard/report.py).

metrics.csv is streamed as rows are flushed (full resolution however long the run; the in-memory store
keeps only a bounded history), one write per flush, so a killed process leaves whole lines. Every
evaluation and the pictures at the dashboard's cadence are appended the same way (gancore.logwriter: the
dashboard replays and follows the directory; frames.jsonl stays under logwriter.FRAMES_BUDGET). Every other
file is replaced atomically (gancore.atomic): a checkpoint periodically and at the end, the rest at the
end, from the final weights. Continuing a run in its own directory appends to its history; nothing is
written until the run and its checkpoint have been accepted.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from . import atomic, checkpoint
from .config import Config, ConfigError
from .evaluate.evaluator import Evaluator
from .logwriter import LogWriter, append_lines
from .measures import EVAL_MEASURES
from .render import frame_png
from .run import Run

W_CRITIC_WINDOW = 50  # the critic's estimate is noisy per step: the summary averages the last 50 steps
INTEGER_COLUMNS = ("step", "d_updates", "g_updates")


def check_out(out: Path) -> None:
    """Refuse an --out that cannot become a run directory, before anything is built or written."""
    if out.exists() and not out.is_dir():
        raise ConfigError("out", f"{out} exists and is not a folder: name a new or an existing run folder")
    parent = next((p for p in out.absolute().parents if p.exists()), None)
    if not out.exists() and parent is not None and not (parent.is_dir() and os.access(parent, os.W_OK)):
        raise ConfigError("out", f"cannot create {out}: {parent} is not a writable folder")


class RunDirectory:
    def __init__(self, out: Path, config: Config, plotly_src: str | None = None) -> None:
        """`plotly_src`: where report.html loads plotly.js from; None puts it inline (a page that opens
        anywhere), a sweep's runs share one file in the sweep's folder instead of 4.8 MB each."""
        check_out(Path(out))
        self.out = Path(out)
        self.config = config
        self.plotly_src = plotly_src
        self.log = LogWriter(self.out)
        self.evaluator = RecordingEvaluator(self.log)
        self._fd: int | None = None
        self._names: list[str] | None = None  # the csv header once written
        self._events: list[str] = []  # lines kept from before a resume
        self._problems: dict[str, None] = {}  # files that could not be written (ordered, each once)
        self._started = time.monotonic()
        self.run: Run | None = None

    def open(self, run: Run, resume_step: int | None = None) -> None:
        """Create the directory and its config.json; with `resume_step`, keep the history up to that step
        (metrics.csv and events.jsonl of the run this one continues) and drop what came later."""
        self.run = run
        self.out.mkdir(parents=True, exist_ok=True)
        atomic.remove_partials(self.out)
        atomic.write_text(self.out / "config.json", self.config.to_json() + "\n")
        kept = ""
        if resume_step is not None:
            kept = self._kept_rows(resume_step)
            self._events = [line for line in _lines(self.out / "events.jsonl") if _event_step(line) <= resume_step]
        atomic.write_text(self.out / "metrics.csv", kept)  # a whole file before appending to it
        self._fd = os.open(self.out / "metrics.csv", os.O_WRONLY | os.O_APPEND)
        self.log.open(run.store.snapshot().info, run.store.created, resume_step)

    def _kept_rows(self, resume_step: int) -> str:
        """The rows of an existing metrics.csv up to `resume_step`, under this run's header (columns
        matched by name); a torn last line of a killed run is dropped."""
        path = self.out / "metrics.csv"
        if not path.is_file():
            return ""
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
        if not rows:
            return ""
        header, names = rows[0], self.run.store.names
        kept = [dict(zip(header, r)) for r in rows[1:] if len(r) == len(header)]
        kept = [r for r in kept if _int(r.get("step")) is not None and _int(r["step"]) <= resume_step]
        if not kept:
            return ""
        self._names = list(names)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(names)
        writer.writerows([r.get(n, "") for n in names] for r in kept)
        return buffer.getvalue()

    def write_rows(self, rows: np.ndarray) -> None:
        """A Run sink: append flushed rows to metrics.csv (step and counters as integers), in one write."""
        names = self.run.store.names
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        if self._names is None:
            writer.writerow(names)
            self._names = list(names)
        integer = [i for i, n in enumerate(names) if n in INTEGER_COLUMNS]
        for row in rows.tolist():
            for i in integer:
                row[i] = int(row[i])
            writer.writerow(["" if isinstance(v, float) and math.isnan(v) else f"{v:.6g}"
                             if isinstance(v, float) else v for v in row])
        append_lines(self._fd, buffer.getvalue().encode())

    def close(self) -> None:
        """Close the appended files (metrics.csv and the log's) without writing anything else."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self.log.close()

    def follow(self, progress: bool, checkpoint_every: float = 0.0) -> None:
        """Wait for the run to stop training, drawing a progress bar on a terminal and saving a checkpoint
        every `checkpoint_every` seconds (0: only at the end)."""
        from tqdm import tqdm
        run = self.run
        steps = run.config.steps or None
        saved = time.monotonic()
        with tqdm(total=steps, disable=not progress, unit="it", dynamic_ncols=True) as bar:
            while not run.wait(timeout=min(0.25, checkpoint_every or 0.25)):
                snap = run.snapshot()
                bar.update(snap.step - bar.n)
                bar.set_postfix(loss_d=f"{snap.latest('loss_d'):.3f}", loss_g=f"{snap.latest('loss_g'):.3f}",
                                w1=f"{_facts(snap)['evaluation'].get('w1_exact', math.nan):.3f}", refresh=False)
                if checkpoint_every and time.monotonic() - saved >= checkpoint_every:
                    self.save_checkpoint()
                    saved = time.monotonic()
            bar.update(run.snapshot().step - bar.n)

    def save_checkpoint(self) -> None:
        """checkpoint.pt and events.jsonl as of now, taken on the training thread between two steps. A
        failed save (a full disk) is reported by `write` and does not stop the training."""
        try:
            self.run.call(self._save).result()
            self._write_events()
        except Exception as exc:
            if self.run.alive:  # else the run has just ended, and `write` says how
                self._problems[f"periodic checkpoint.pt: {_one_line(exc)}"] = None

    def _save(self, trainer) -> None:
        checkpoint.save(trainer, self.out / "checkpoint.pt")

    def _write_events(self) -> None:
        lines = self._events + [json.dumps(e.as_dict() if hasattr(e, "as_dict") else vars(e))
                                for e in self.run.snapshot().events]
        atomic.write_text(self.out / "events.jsonl", "".join(line + "\n" for line in lines))

    def write(self, status: str) -> tuple[dict[str, Any], list[str]]:
        """Final evaluation, checkpoint, pictures, events, report.html and summary.json (also for diverged runs).
        A run whose thread failed gets its events and summary only. Returns the summary and the files that
        could not be written, each with its reason: one failing file does not stop the others."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        run, problems = self.run, list(self._problems)
        result: dict = {}

        def attempt(name: str, write) -> None:
            try:
                write()
            except Exception as exc:
                problems.append(f"{name}: {_one_line(exc)}")

        if run.alive:
            def evaluate() -> None:
                result.update(_result(run.call(self.evaluator.evaluate).result()))
            attempt("evaluation", evaluate)
            attempt("checkpoint.pt", lambda: run.call(self._save).result())
            attempt("samples.png", lambda: atomic.write_bytes(
                self.out / "samples.png", frame_png(run.call(self.evaluator.final_frame).result())))
            if result.get("real") is not None:
                arrays = {k: result[k] for k in ("real", "fake", "centres", "stds") if result.get(k) is not None}
                attempt("samples.npz", lambda: atomic.replace_with(
                    self.out / "samples.npz", lambda f: np.savez_compressed(f, **arrays)))
        attempt("events.jsonl", self._write_events)
        self.log.close()
        problems += self.log.problems
        summary = summarise(status, run.snapshot(), result, time.monotonic() - self._started, run.config,
                            run.reason if status == "error" else None)
        attempt("report.html", lambda: atomic.write_text(self.out / "report.html",
                                                         _report(self.out, run.config, summary, self.plotly_src)))
        # summary.json last: its presence marks a finished run directory (resume, sweeps, the listing)
        attempt("summary.json", lambda: atomic.write_text(self.out / "summary.json",
                                                          json.dumps(summary, indent=2) + "\n"))
        return summary, problems


class RecordingEvaluator(Evaluator):
    """The run's evaluator, with pictures at the dashboard's cadence, that also records every evaluation and
    picture it makes into the run directory (the final ones included, so a replay ends where the run did)."""

    def __init__(self, log: LogWriter) -> None:
        super().__init__(frames=True)
        self.log = log

    def evaluate(self, trainer):
        result = super().evaluate(trainer)
        self.log.evaluation(result)
        return result

    def frame(self, trainer):
        picture = super().frame(trainer)
        self.log.frame(picture)
        return picture

    def final_frame(self, trainer):
        picture = super().frame(trainer)
        self.log.frame(picture, force=True)
        return picture


def _report(out: Path, config: Config, summary: dict[str, Any], plotly_src: str | None) -> str:
    """report.html, from the run directory as the dashboard's recorded view reads it back (the final
    evaluation and picture included), drawn by the dashboard's own figure builders. Plotly is imported
    only here: the engine loads no viewer library unless a report is written."""
    from dashboard.report import report_html
    from .logreader import RunReader
    return report_html(RunReader(out).snapshot(), config, summary, plotly_src)


def _facts(snap) -> dict[str, Any]:
    """What the directory reads from a snapshot besides its columns, in one place."""
    evaluation = snap.evaluation
    return {"reason": snap.reason, "evaluation": dict(evaluation.values) if evaluation else {},
            "eval_cost_share": snap.eval_cost.share if snap.eval_cost else None,
            "diagnoses": [d.title for d in snap.diagnoses]}


def _result(result: Any) -> dict[str, Any]:
    """The evaluator's result as a flat dict (its values, the histogram, the coverage and the samples)."""
    return {**result.values, "histogram": result.histogram, "coverage": result.coverage, "real": result.real,
            "fake": result.fake, "centres": result.centres, "stds": result.stds}


def summarise(status: str, snap, result: dict, seconds: float, config: Config,
              reason: str | None = None) -> dict[str, Any]:
    """summary.json: the headline numbers of a run, NaN written as null (JSON has no NaN). Without an
    evaluation (a run whose thread failed), the measures are null."""
    facts = _facts(snap)
    w = snap.columns.get("w_estimate", np.array([]))[-W_CRITIC_WINDOW:]
    w = w[np.isfinite(w)]
    histogram = result.get("histogram")
    measures = [name for name, m in EVAL_MEASURES.items() if m.summary]  # the registry says what is headline
    summary = {
        "status": status, "steps": snap.step, "seconds": round(seconds, 3), "dataset": config.dataset,
        "loss": config.loss, "conditional": config.conditional,
        "reason": reason if reason is not None else facts["reason"],
        **{name: result.get(name) for name in measures},
        "class_histogram": histogram.tolist() if histogram is not None else None,
        "w_critic": float(w.mean()) if len(w) else math.nan,
        "coverage_protocol": result.get("coverage"), "eval_cost_share": facts["eval_cost_share"],
        "diagnoses": facts["diagnoses"],
    }
    return {k: _json_number(v) for k, v in summary.items()}


def _json_number(v: Any) -> Any:
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    return v


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _lines(path: Path) -> list[str]:
    try:
        return [line for line in path.read_text().splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError):
        return []


def _event_step(line: str) -> float:
    try:
        step = json.loads(line).get("step")
    except (ValueError, AttributeError):
        return math.inf  # unreadable: dropped with the rows past the checkpoint
    return step if isinstance(step, (int, float)) else math.inf


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
