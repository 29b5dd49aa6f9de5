"""The run hook that schedules evaluations, frames and diagnoses, and publishes them into the snapshot.

It runs on the training thread between flushes (every torch call stays on one thread), but off the hot
path: pictures at most every `frame_seconds`, evaluations every `eval_every` steps, diagnoses every
`diagnose_seconds`; the time the evaluations cost is measured and published, so the dashboard and the
command line read the same numbers. The work itself lives in evaluations.py, frames.py and diagnose.py.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Any

from ..records import EvalCost, Evaluation, Evaluations, Frame
from ..train import Trainer
from . import evaluations, frames
from .diagnose import diagnose_snapshot

MAX_EVALS = 1000  # evaluations kept; beyond that every other one is dropped (memory stays flat)


class Evaluator:
    """A Run hook. One per trainer: a reset brings a new trainer, and the evaluator starts afresh."""

    def __init__(self, frame_seconds: float | None = None, diagnose_seconds: float = 0.5, frames: bool = True
                 ) -> None:
        """`frames=False` for headless runs: nobody looks at pictures there, so none are drawn."""
        self.frame_seconds = frame_seconds
        self.frames = frames
        self.diagnose_seconds = diagnose_seconds
        self._trainer: Trainer | None = None

    # --- the hook ---------------------------------------------------------------------------------------
    def __call__(self, run: Any, trainer: Trainer) -> None:
        self._use(trainer)
        now = time.monotonic()
        due = now - self._last_frame >= self._frame_seconds or self._frame_step < 0
        settling = getattr(run, "settling", False) and trainer.step != self._frame_step  # paused: this step
        if self.frames and (due or settling):
            picture = self.frame(trainer)
            self._last_frame, self._frame_step = time.monotonic(), trainer.step
            run.store.publish(frame=picture)
        if trainer.step - self._eval_step >= trainer.config.eval_every or self._eval_step < 0:
            result = self.evaluate(trainer)
            self._eval_step = trainer.step
            self._append(result)
            run.store.publish(evaluation=result, evaluations=Evaluations.of(self._evals), eval_cost=self._cost())
        if now - self._last_diagnosis >= self.diagnose_seconds:
            run.store.publish(diagnoses=diagnose_snapshot(run.store.snapshot(), trainer.config.clip))
            self._last_diagnosis = now

    def _use(self, trainer: Trainer) -> None:
        if trainer is self._trainer:
            return
        self._trainer = trainer
        self._last_frame = self._last_diagnosis = -math.inf
        self._frame_step = self._eval_step = -1
        self._evals: list[Evaluation] = []
        self._eval_seconds = 0.0
        self._started = time.monotonic()
        self._frame_seconds = self.frame_seconds or (2.0 if trainer.is_image else 0.5)
        self._protocol = evaluations.Evaluations(trainer)

    # --- the work, on demand ------------------------------------------------------------------------------
    def evaluate(self, trainer: Trainer) -> Evaluation:
        """Every number of one evaluation (NaN where it does not apply), its histogram and samples."""
        self._use(trainer)
        result = self._protocol.evaluate()
        self._eval_seconds += result.values["seconds"]
        return result

    def frame(self, trainer: Trainer) -> Frame:
        self._use(trainer)
        return frames.frame(trainer, getattr(self._protocol, "bounds", None))

    def _append(self, result: Evaluation) -> None:
        self._evals.append(replace(result, real=None, fake=None, centres=None, stds=None))  # the numbers only
        if len(self._evals) > MAX_EVALS:
            self._evals = self._evals[::2]

    def _cost(self) -> EvalCost:
        wall = max(time.monotonic() - self._started, 1e-9)
        return EvalCost(self._eval_seconds, wall, self._eval_seconds / wall, len(self._evals))
