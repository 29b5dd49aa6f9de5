"""Evaluation at its cadence, frames for the pictures, and diagnoses, published into the run's snapshot.

It runs on the training thread between flushes (every torch call stays on one thread), but off the hot
path: pictures at most every `frame_seconds`, evaluations every `eval_every` steps, and the time each one
costs is measured and published, so the dashboard and the command line read the same numbers.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch

from ..train import Trainer
from .coverage import N_EVAL_SAMPLES, class_coverage, mode_coverage
from .diagnose import diagnose
from .distances import (frechet_distance, js_grid, kde_1d, mixture_pdf_1d, optimal_discriminator,
                        sliced_wasserstein, w1_exact)
from .fields import critic_grid, critic_line, probability, push_arrows

W1_POINTS = 512  # exact W1 is an assignment problem: 512 x 512 takes 15-50 ms, 2,500 x 2,500 seconds
IMAGE_POINTS = 1000  # images per evaluation: drawing 2,500 through a DCGAN costs more than all the rest
FIELD_RESOLUTION = 64  # the heatmap's cells per axis
GRID_1D = 200  # points of the 1-D density curves
MAX_EVALS = 1000  # evaluations kept; beyond that every other one is dropped (memory stays flat)
SCALARS = ("modes_total", "modes_covered", "modes_covered_strict", "hq_fraction", "kl_uniform", "w1_exact",
           "js_grid", "swd", "fd_features", "label_accuracy", "seconds")


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
        if trainer is not self._trainer:
            self._start(trainer)
        now = time.monotonic()
        if self.frames and (now - self._last_frame >= self._frame_seconds or self._frame_step < 0):
            frame = self.frame(trainer)
            self._last_frame, self._frame_step = time.monotonic(), trainer.step
            run.store.publish(frame=frame)
        if trainer.step - self._eval_step >= trainer.config.eval_every or self._eval_step < 0:
            result = self.evaluate(trainer)
            self._eval_step = trainer.step
            self._append(result)
            run.store.publish(evaluation=result, evals=self._history(), eval_cost=self._cost())
        if now - self._last_diagnosis >= self.diagnose_seconds:
            snapshot = run.store.snapshot()
            found = diagnose(snapshot.columns, self._history(), loss=trainer.config.loss,
                             clip=trainer.config.clip)
            run.store.publish(diagnoses=found)
            self._last_diagnosis = now

    def _start(self, trainer: Trainer) -> None:
        self._trainer = trainer
        self._last_frame = self._last_diagnosis = -math.inf
        self._frame_step = self._eval_step = -1
        self._evals: list[dict] = []
        self._eval_seconds = 0.0
        self._started = time.monotonic()
        image = trainer.spec_is_image
        self._frame_seconds = self.frame_seconds or (2.0 if image else 0.5)
        device = trainer.device
        rng = torch.Generator(device).manual_seed(trainer.config.seed + 2)
        if image:  # as many fakes as held-out reals (SWD and the Frechet distance compare equal sets)
            from .classifier import load_classifier
            self._classifier = load_classifier(trainer.data.name, trainer.config.data_dir, device)
            self._real = trainer.data.test_split()[0][:IMAGE_POINTS]
            with torch.no_grad():
                self._real_features = self._classifier.features(self._real).cpu().numpy()
            self._real_flat = self._real.flatten(1).cpu().numpy()
            n = len(self._real)
        else:
            n = N_EVAL_SAMPLES
            self._real = trainer.data.sample(n, rng)[0].cpu().numpy()
            self._bounds = trainer.data.bounds()
        self._z = trainer.noise(n, rng)  # fixed evaluation noise: curves move with G, not with the draw
        k = trainer.data.n_classes
        self._labels = torch.arange(n, device=device) % k if trainer.conditional else None

    # --- evaluation -------------------------------------------------------------------------------------
    def evaluate(self, trainer: Trainer) -> dict[str, Any]:
        """Every number of one evaluation (NaN where it does not apply), the per-mode or per-class
        histogram, and the real and fake samples it used (so anyone can recompute the numbers)."""
        if trainer is not self._trainer:
            self._start(trainer)
        t0 = time.perf_counter()
        out: dict[str, Any] = {name: math.nan for name in SCALARS}
        out["step"] = trainer.step
        fake_t = trainer.generate(self._z, self._labels)
        asked = self._labels.cpu().numpy() if self._labels is not None else None
        if trainer.spec_is_image:
            self._evaluate_images(fake_t, asked, out)
        else:
            self._evaluate_toy(trainer, fake_t.cpu().numpy(), asked, out)
        out["seconds"] = time.perf_counter() - t0
        self._eval_seconds += out["seconds"]
        return out

    def _evaluate_toy(self, trainer: Trainer, fake: np.ndarray, asked: np.ndarray | None, out: dict) -> None:
        data = trainer.data
        out["real"], out["fake"] = self._real, fake
        out["w1_exact"] = w1_exact(self._real[:W1_POINTS], fake[:W1_POINTS]) if fake.shape[1] > 1 \
            else w1_exact(self._real, fake)  # 1-D: sorting is exact and cheap for all samples
        if fake.shape[1] == 2:
            out["js_grid"] = js_grid(self._real, fake, bounds=self._bounds)
        if data.centres is None:
            out["modes_total"] = 0
            return
        out["centres"], out["stds"] = data.centres, data.stds
        coverage = mode_coverage(fake, data.centres, data.stds)
        self._coverage(coverage, out)
        if asked is not None:
            from .coverage import assign_modes
            nearest, _ = assign_modes(fake, data.centres, data.stds)
            out["label_accuracy"] = float(np.mean(nearest == asked))

    @torch.no_grad()
    def _evaluate_images(self, fake: torch.Tensor, asked: np.ndarray | None, out: dict) -> None:
        logits = self._classifier(fake)
        confidence, predicted = torch.softmax(logits, dim=1).max(dim=1)
        predicted = predicted.cpu().numpy()
        self._coverage(class_coverage(predicted, logits.shape[1]), out)
        out["confidence"] = float(confidence.mean())
        out["swd"] = sliced_wasserstein(self._real_flat, fake.flatten(1).cpu().numpy())
        out["fd_features"] = frechet_distance(self._real_features, self._classifier.features(fake).cpu().numpy())
        if asked is not None:
            out["label_accuracy"] = float(np.mean(predicted == asked))

    @staticmethod
    def _coverage(coverage, out: dict) -> None:
        out.update(modes_total=coverage.modes_total, modes_covered=coverage.modes_covered,
                   modes_covered_strict=coverage.modes_covered_strict, hq_fraction=coverage.hq_fraction,
                   kl_uniform=coverage.kl_uniform, histogram=np.asarray(coverage.counts),
                   coverage=coverage.as_dict())

    def _append(self, result: dict) -> None:
        self._evals.append({k: v for k, v in result.items() if k in SCALARS or k in ("step", "histogram")})
        if len(self._evals) > MAX_EVALS:
            self._evals = self._evals[::2]

    def _history(self) -> dict[str, np.ndarray]:
        """Evaluations as columns (one row each) plus "histogram": (evaluations, modes) counts."""
        rows = self._evals
        history = {name: np.array([r[name] for r in rows], np.float32) for name in ("step", *SCALARS)}
        if rows and "histogram" in rows[0]:
            history["histogram"] = np.stack([r["histogram"] for r in rows]).astype(np.float32)
        return history

    def _cost(self) -> dict[str, float]:
        wall = max(time.monotonic() - self._started, 1e-9)
        return {"eval_seconds": self._eval_seconds, "wall_seconds": wall, "share": self._eval_seconds / wall,
                "evaluations": len(self._evals)}

    # --- frames -------------------------------------------------------------------------------------------
    def frame(self, trainer: Trainer) -> dict[str, Any]:
        """What the pictures show now, computed on the fixed noise so points move smoothly between frames."""
        if trainer is not self._trainer:
            self._start(trainer)
        fake_t = trainer.generate(trainer.fixed_z, trainer.fixed_labels)
        labels = trainer.fixed_labels.cpu().numpy() if trainer.fixed_labels is not None else None
        frame: dict[str, Any] = {"step": trainer.step, "labels": labels}
        if trainer.spec_is_image:
            pixels = np.clip((fake_t.cpu().numpy()[:, 0] + 1) * 127.5, 0, 255).astype(np.uint8)
            frame.update(kind="image", images=pixels, rows=trainer.data.n_classes if labels is not None else None)
            return frame
        fake = fake_t.cpu().numpy()
        real = trainer.fixed_real.cpu().numpy()
        k = trainer.data.n_classes if trainer.conditional else 0
        sigmoid = trainer.objective.sigmoid
        frame.update(real=real, fake=fake, bounds=self._bounds, sigmoid=sigmoid)
        if fake.shape[1] == 2:
            xs, ys, scores = critic_grid(trainer.d, self._bounds, FIELD_RESOLUTION, k, trainer.device)
            frame.update(kind="2d", xs=xs, ys=ys, scores=scores,
                         arrows=push_arrows(trainer.d, trainer.objective, fake_t, trainer.fixed_labels))
            return frame
        grid = np.linspace(self._bounds[0, 0], self._bounds[0, 1], GRID_1D, dtype=np.float32)
        p_data = mixture_pdf_1d(grid, trainer.data.centres[:, 0], trainer.data.stds)
        p_g = kde_1d(fake[:, 0], grid)
        scores = critic_line(trainer.d, grid, k, trainer.device)
        frame.update(kind="1d", grid=grid, p_data=p_data, p_g=p_g, scores=scores,
                     d_prob=probability(scores) if sigmoid else None,
                     d_optimal=optimal_discriminator(p_data, p_g))
        return frame
