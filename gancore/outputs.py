"""The run directory the command line writes: config, metrics, events, checkpoint, pictures, summary.

metrics.csv is streamed as rows are flushed (full resolution however long the run; the in-memory store
keeps only a bounded history); everything else is written once at the end, from the final weights.
"""

from __future__ import annotations

import csv
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from . import checkpoint
from .config import Config
from .evaluate.evaluator import Evaluator
from .render import frame_picture, png
from .run import Run

W_CRITIC_WINDOW = 50  # the critic's estimate is noisy per step: the summary averages the last 50 steps


class RunDirectory:
    def __init__(self, out: Path, config: Config) -> None:
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "config.json").write_text(config.to_json() + "\n")
        self.evaluator = Evaluator(frames=False)  # the final picture is drawn once, at the end
        self._csv_file = open(self.out / "metrics.csv", "w", newline="")
        self._csv = csv.writer(self._csv_file)
        self._header_written = False
        self._started = time.monotonic()
        self.run: Run | None = None

    def attach(self, run: Run) -> None:
        self.run = run

    def write_rows(self, rows: np.ndarray) -> None:
        """A Run sink: append flushed rows to metrics.csv (step and counters as integers)."""
        names = self.run.store.names
        if not self._header_written:
            self._csv.writerow(names)
            self._header_written = True
        integer = [i for i, n in enumerate(names) if n in ("step", "d_updates", "g_updates")]
        for row in rows.tolist():
            for i in integer:
                row[i] = int(row[i])
            self._csv.writerow(["" if isinstance(v, float) and math.isnan(v) else f"{v:.6g}"
                                if isinstance(v, float) else v for v in row])
        self._csv_file.flush()

    def follow(self, progress: bool) -> None:
        """Wait for the run to stop training, drawing a progress bar on a terminal."""
        from tqdm import tqdm
        run = self.run
        steps = run.config.steps or None
        with tqdm(total=steps, disable=not progress, unit="it", dynamic_ncols=True) as bar:
            while not run.wait(timeout=0.25):
                snap = run.snapshot()
                bar.update(snap.step - bar.n)
                evaluation = snap.state.get("evaluation") or {}
                bar.set_postfix(loss_d=f"{snap.latest('loss_d'):.3f}", loss_g=f"{snap.latest('loss_g'):.3f}",
                                w1=f"{evaluation.get('w1_exact', math.nan):.3f}", refresh=False)
            bar.update(run.snapshot().step - bar.n)

    def write(self, status: str) -> dict[str, Any]:
        """Final evaluation, checkpoint, pictures, events and summary.json (also for diverged runs)."""
        self._csv_file.close()
        run = self.run
        result = run.call(self.evaluator.evaluate).result()
        run.call(lambda trainer: checkpoint.save(trainer, self.out / "checkpoint.pt")).result()
        snap = run.snapshot()
        with open(self.out / "events.jsonl", "w") as f:
            for e in snap.events:
                f.write(json.dumps({"step": e.step, "what": e.what, "old": e.old, "new": e.new, "note": e.note})
                        + "\n")
        frame = run.call(self.evaluator.frame).result()
        (self.out / "samples.png").write_bytes(png(frame_picture(frame)))
        if "real" in result:
            extra = {k: result[k] for k in ("centres", "stds") if k in result}
            np.savez_compressed(self.out / "samples.npz", real=result["real"], fake=result["fake"], **extra)
        summary = summarise(status, snap, result, time.monotonic() - self._started, run.config)
        (self.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        return summary


def summarise(status: str, snap, result: dict, seconds: float, config: Config) -> dict[str, Any]:
    """summary.json: the headline numbers of a run, NaN written as null (JSON has no NaN)."""
    w = snap.columns.get("w_estimate", np.array([]))[-W_CRITIC_WINDOW:]
    w = w[np.isfinite(w)]
    histogram = result.get("histogram")
    summary = {
        "status": status, "steps": snap.step, "seconds": round(seconds, 3), "dataset": config.dataset,
        "loss": config.loss, "conditional": config.conditional, "reason": snap.state.get("reason", ""),
        "modes_total": result["modes_total"], "modes_covered": result["modes_covered"],
        "modes_covered_strict": result["modes_covered_strict"], "hq_fraction": result["hq_fraction"],
        "class_histogram": histogram.tolist() if histogram is not None else None,
        "kl_uniform": result["kl_uniform"], "w_critic": float(w.mean()) if len(w) else math.nan,
        "w1_exact": result["w1_exact"], "js_grid": result["js_grid"], "swd": result["swd"],
        "fd_features": result["fd_features"], "label_accuracy": result["label_accuracy"],
        "coverage_protocol": result.get("coverage"),
        "eval_cost_share": (snap.state.get("eval_cost") or {}).get("share"),
        "diagnoses": [d.title for d in snap.state.get("diagnoses", [])],
    }
    return {k: _json_number(v) for k, v in summary.items()}


def _json_number(v: Any) -> Any:
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    return v
