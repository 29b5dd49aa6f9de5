"""One evaluation of a generator: coverage, distances and label agreement on fixed evaluation noise.

`Evaluations` of one trainer draw their real samples and their noise once, so curves move with G and not
with the draw. Images are scored by the data set's classifier (features for the Frechet distance too).
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch

from ..measures import EVAL_MEASURES
from ..records import Evaluation
from ..train import Trainer
from .coverage import N_EVAL_SAMPLES, assign_modes, class_coverage, mode_coverage
from .distances import frechet_distance, js_grid, sliced_wasserstein, w1_exact

W1_POINTS = 512  # exact W1 is an assignment problem: 512 x 512 takes 15-50 ms, 2,500 x 2,500 seconds
IMAGE_POINTS = 1000  # images per evaluation: drawing 2,500 through a DCGAN costs more than all the rest


class Evaluations:
    """The evaluation protocol of one trainer (its fixed real samples, noise and labels)."""

    def __init__(self, trainer: Trainer) -> None:
        self.trainer = trainer
        device = trainer.device
        rng = torch.Generator(device).manual_seed(trainer.config.seed + 2)
        if trainer.is_image:  # as many fakes as held-out reals (SWD and the Frechet distance compare equal sets)
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
            self.bounds = trainer.data.bounds()
        self._z = trainer.noise(n, rng)
        k = trainer.data.n_classes
        self._labels = torch.arange(n, device=device) % k if trainer.conditional else None

    def evaluate(self) -> Evaluation:
        t0 = time.perf_counter()
        trainer = self.trainer
        values = {name: math.nan for name in EVAL_MEASURES}
        fake_t = trainer.generate(self._z, self._labels)
        asked = self._labels.cpu().numpy() if self._labels is not None else None
        extra = self._images(fake_t, asked, values) if trainer.is_image else self._toy(fake_t.cpu().numpy(),
                                                                                      asked, values)
        values["seconds"] = time.perf_counter() - t0
        return Evaluation(step=trainer.step, values=values, **extra)

    def _toy(self, fake: np.ndarray, asked: np.ndarray | None, values: dict) -> dict:
        data = self.trainer.data
        extra: dict = dict(real=self._real, fake=fake)
        values["w1_exact"] = w1_exact(self._real[:W1_POINTS], fake[:W1_POINTS]) if fake.shape[1] > 1 \
            else w1_exact(self._real, fake)  # 1-D: sorting is exact and cheap for all samples
        if fake.shape[1] == 2:
            values["js_grid"] = js_grid(self._real, fake, bounds=self.bounds)
        if data.centres is None:
            values["modes_total"] = 0
            return extra
        extra.update(centres=data.centres, stds=data.stds)
        extra.update(_coverage(mode_coverage(fake, data.centres, data.stds), values))
        if asked is not None:
            nearest, _ = assign_modes(fake, data.centres, data.stds)
            values["label_accuracy"] = float(np.mean(nearest == asked))
        return extra

    @torch.no_grad()
    def _images(self, fake: torch.Tensor, asked: np.ndarray | None, values: dict) -> dict:
        logits = self._classifier(fake)
        confidence, predicted = torch.softmax(logits, dim=1).max(dim=1)
        predicted = predicted.cpu().numpy()
        extra = _coverage(class_coverage(predicted, logits.shape[1]), values)
        values["swd"] = sliced_wasserstein(self._real_flat, fake.flatten(1).cpu().numpy())
        values["fd_features"] = frechet_distance(self._real_features,
                                                 self._classifier.features(fake).cpu().numpy())
        if asked is not None:
            values["label_accuracy"] = float(np.mean(predicted == asked))
        return dict(extra, confidence=float(confidence.mean()))


def _coverage(coverage, values: dict) -> dict:
    values.update(modes_total=coverage.modes_total, modes_covered=coverage.modes_covered,
                  modes_covered_strict=coverage.modes_covered_strict, hq_fraction=coverage.hq_fraction,
                  kl_uniform=coverage.kl_uniform)
    return dict(histogram=np.asarray(coverage.counts), coverage=coverage.as_dict())
