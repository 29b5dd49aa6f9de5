"""What the pictures show now, computed on the trainer's fixed noise so points move smoothly between frames."""

from __future__ import annotations

import numpy as np

from ..records import Frame, ImageFrame, LineFrame, PlaneFrame
from ..train import Trainer
from .distances import kde_1d, mixture_pdf_1d, optimal_discriminator
from .fields import critic_grid, critic_line, probability, push_arrows

FIELD_RESOLUTION = 64  # the heatmap's cells per axis
GRID_1D = 200  # points of the 1-D density curves


def frame(trainer: Trainer, bounds: np.ndarray | None) -> Frame:
    """An ImageFrame, a PlaneFrame (2-D: D's field and G's push) or a LineFrame (1-D: the densities)."""
    fake_t = trainer.generate(trainer.fixed_z, trainer.fixed_labels)
    labels = trainer.fixed_labels.cpu().numpy() if trainer.fixed_labels is not None else None
    if trainer.is_image:
        pixels = np.clip((fake_t.cpu().numpy()[:, 0] + 1) * 127.5, 0, 255).astype(np.uint8)
        return ImageFrame(step=trainer.step, labels=labels, images=pixels,
                          rows=trainer.data.n_classes if labels is not None else None)
    fake = fake_t.cpu().numpy()
    real = trainer.fixed_real.cpu().numpy()
    k = trainer.data.n_classes if trainer.conditional else 0
    common = dict(step=trainer.step, labels=labels, real=real, fake=fake, bounds=bounds,
                  probabilities=trainer.objective.probabilities)
    if fake.shape[1] == 2:
        xs, ys, scores = critic_grid(trainer.d, bounds, FIELD_RESOLUTION, k, trainer.device)
        arrows = push_arrows(trainer.d, trainer.objective, fake_t, trainer.fixed_labels, trainer.fixed_real)
        return PlaneFrame(**common, xs=xs, ys=ys, scores=scores, arrows=arrows)
    grid = np.linspace(bounds[0, 0], bounds[0, 1], GRID_1D, dtype=np.float32)
    p_data = mixture_pdf_1d(grid, trainer.data.centres[:, 0], trainer.data.stds)
    p_g = kde_1d(fake[:, 0], grid)
    scores = critic_line(trainer.d, grid, k, trainer.device)
    return LineFrame(**common, grid=grid, p_data=p_data, p_g=p_g, scores=scores,
                     d_prob=probability(scores) if trainer.objective.probabilities else None,
                     d_optimal=optimal_discriminator(p_data, p_g))
