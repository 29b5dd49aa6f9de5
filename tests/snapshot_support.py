"""What the view's tests share: snapshots built by hand (exact control over NaN, events, length and
evaluations, in the shapes the engine publishes: float32 columns, typed evaluations, the run's own RunInfo)
and reading a figure's traces and live-change markers."""

from __future__ import annotations

import math

import numpy as np

from gancore.config import Config
from gancore.info import RunInfo
from gancore.measures import EVAL_MEASURES, STEP_MEASURES
from gancore.metrics import Snapshot
from gancore.records import Evaluation, Evaluations


def make_snapshot(n: int = 200, *, loss: str = "nonsaturating", events=(), evals=None, evaluation=None,
                  frame=None, seed: int = 0, layers=("linear1", "linear2"), dataset: str = "ring") -> Snapshot:
    """A snapshot shaped like the engine's: float32 columns, one row per step."""
    rng = np.random.default_rng(seed)
    columns = {name: rng.random(n).astype(np.float32) for name in STEP_MEASURES}
    columns["step"] = np.arange(1, n + 1, dtype=np.float32)
    columns["time"] = np.linspace(0, n / 100, n, dtype=np.float32)
    info = run_info(loss, dataset)
    if not info.probabilities:
        for name in ("d_real", "d_fake", "d_accuracy"):
            columns[name] = np.full(n, np.nan, np.float32)
    for layer in layers:
        columns[f"grad_norm_g.{layer}"] = rng.random(n).astype(np.float32)
    state = {"status": "running", "reason": "", "step": n, "config": Config(loss=loss).to_dict(), "info": info}
    if evals is not None:
        state["evaluations"] = typed_evals(evals)
    if evaluation is not None:
        state["evaluation"] = typed_evaluation(evaluation)
    if frame is not None:
        state["frame"] = frame
    return Snapshot(7, columns, list(events), **state)


def run_info(loss: str = "nonsaturating", dataset: str = "ring") -> RunInfo:
    """What a real run of `loss` on `dataset` says about itself."""
    from gancore.train import Trainer
    return Trainer(Config(dataset=dataset, loss=loss, width=4, depth=1, latent_dim=2, device="cpu")).info


def typed_evals(evals: dict[str, np.ndarray]) -> Evaluations:
    n = len(evals["step"])
    columns = {name: np.asarray(evals.get(name, np.full(n, np.nan)), np.float32) for name in ("step", *EVAL_MEASURES)}
    return Evaluations(columns, evals.get("histogram"))


def typed_evaluation(e: dict) -> Evaluation:
    return Evaluation(step=int(e.get("step", 0)), values={name: e.get(name, math.nan) for name in EVAL_MEASURES},
                      histogram=e.get("histogram"), coverage=e.get("coverage"))


def make_evals(e: int = 6, k: int = 8) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    hist = rng.integers(0, 300, size=(e, k)).astype(np.float32)
    return {"step": np.arange(e, dtype=np.float32) * 100, "modes_total": np.full(e, k, np.float32),
            "modes_covered": np.full(e, 5, np.float32), "modes_covered_strict": np.full(e, 3, np.float32),
            "hq_fraction": np.full(e, 0.9, np.float32), "w1_exact": np.linspace(2, 0.5, e).astype(np.float32),
            "label_accuracy": np.full(e, np.nan, np.float32), "histogram": hist}


def traces(fig, name: str | None = None):
    return [t for t in fig.data if name is None or t.name == name]


def event_shapes(fig):
    return [s for s in fig.layout.shapes if (s.name or "").startswith("event:")]
