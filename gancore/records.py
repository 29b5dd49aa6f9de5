"""Typed records a run publishes: evaluations, their history, their cost, and the pictures' frames.

A frame's class says what it holds (an image grid, a 2-D plane with D's field and G's push, or a 1-D line
with the densities), so a viewer dispatches on the type, never on which keys a dict happens to have.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .measures import EVAL_MEASURES


@dataclass(frozen=True, kw_only=True)
class Evaluation:
    """One evaluation: every number of EVAL_MEASURES (NaN where it does not apply), the per-mode or per-class
    histogram of high-quality samples, the coverage protocol's thresholds, and the samples it used (toy data),
    so anyone can recompute the numbers."""

    step: int
    values: dict[str, float]
    histogram: np.ndarray | None = None
    coverage: dict[str, Any] | None = None
    confidence: float = math.nan
    real: np.ndarray | None = None
    fake: np.ndarray | None = None
    centres: np.ndarray | None = None
    stds: np.ndarray | None = None

    def __getitem__(self, name: str) -> float:
        return self.values[name]


@dataclass(frozen=True)
class Evaluations:
    """The history of evaluations as columns ("step" and every EVAL_MEASURES name), one row each, and the
    histograms as an (evaluations, modes) matrix."""

    columns: dict[str, np.ndarray] = field(default_factory=dict)
    histogram: np.ndarray | None = None

    def __len__(self) -> int:
        steps = self.columns.get("step")
        return 0 if steps is None else len(steps)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def get(self, name: str) -> np.ndarray | None:
        return self.columns.get(name)

    def table(self) -> dict[str, np.ndarray]:
        """Columns plus "histogram": the shape the detectors read."""
        return {**self.columns, **({"histogram": self.histogram} if self.histogram is not None else {})}

    @classmethod
    def of(cls, evaluations: list[Evaluation]) -> "Evaluations":
        columns = {"step": np.array([e.step for e in evaluations], np.float32)}
        columns.update({name: np.array([e.values[name] for e in evaluations], np.float32)
                        for name in EVAL_MEASURES})
        hists = [e.histogram for e in evaluations]
        histogram = np.stack(hists).astype(np.float32) if hists and all(h is not None for h in hists) else None
        return cls(columns, histogram)


@dataclass(frozen=True)
class EvalCost:
    """How much of the run's wall time the evaluations took (the dashboard and the CLI show the same)."""

    eval_seconds: float
    wall_seconds: float
    share: float
    evaluations: int


@dataclass(frozen=True, kw_only=True)
class Frame:
    step: int
    labels: np.ndarray | None  # the class of each generated sample (conditional runs)


@dataclass(frozen=True, kw_only=True)
class ImageFrame(Frame):
    images: np.ndarray  # (n, 28, 28) uint8
    rows: int | None  # one row per class when conditional


@dataclass(frozen=True, kw_only=True)
class PointsFrame(Frame):
    real: np.ndarray
    fake: np.ndarray
    bounds: np.ndarray  # (dims, 2): the box every picture covers
    probabilities: bool  # D's scores are logits of a probability
    scores: np.ndarray  # D's raw scores on the field (2-D) or the line (1-D)


@dataclass(frozen=True, kw_only=True)
class PlaneFrame(PointsFrame):
    xs: np.ndarray
    ys: np.ndarray
    arrows: np.ndarray  # where G's loss pushes each fake point


@dataclass(frozen=True, kw_only=True)
class LineFrame(PointsFrame):
    grid: np.ndarray
    p_data: np.ndarray
    p_g: np.ndarray
    d_prob: np.ndarray | None
    d_optimal: np.ndarray
