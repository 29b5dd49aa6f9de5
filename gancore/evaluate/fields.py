"""Fields for the pictures: what D says everywhere, and where G's loss pushes each fake point.

These are GAN Lab's two best pictures (the discriminator heatmap and the generator's gradient arrows), on
raw scores, so they work for every objective: probability for the GAN family, critic value for the rest.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..losses import Objective


@torch.no_grad()
def critic_grid(d: nn.Module, bounds: np.ndarray, resolution: int, n_classes: int = 0,
                device: torch.device | str = "cpu") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """D's raw score on a resolution x resolution grid over `bounds` (2, 2). Returns (xs, ys, scores) with
    scores[i, j] at (xs[j], ys[i]) (row = y, as heatmaps expect). A conditional D is averaged over labels."""
    xs = np.linspace(bounds[0, 0], bounds[0, 1], resolution, dtype=np.float32)
    ys = np.linspace(bounds[1, 0], bounds[1, 1], resolution, dtype=np.float32)
    gx, gy = np.meshgrid(xs, ys)
    points = torch.as_tensor(np.stack([gx.ravel(), gy.ravel()], axis=1), device=device)
    scores = _mean_over_labels(d, points, n_classes)
    return xs, ys, scores.reshape(resolution, resolution)


@torch.no_grad()
def critic_line(d: nn.Module, grid: np.ndarray, n_classes: int = 0, device: torch.device | str = "cpu"
                ) -> np.ndarray:
    """D's raw score along a 1-D grid (the D(x) curve of the classic 1-D picture)."""
    points = torch.as_tensor(grid.astype(np.float32)[:, None], device=device)
    return _mean_over_labels(d, points, n_classes)


def _mean_over_labels(d: nn.Module, points: torch.Tensor, n_classes: int) -> np.ndarray:
    if not n_classes:
        return d(points).float().cpu().numpy()
    labels = torch.arange(n_classes, device=points.device).repeat_interleave(len(points))
    scores = d(points.repeat(n_classes, 1), labels).view(n_classes, len(points))
    return scores.mean(0).float().cpu().numpy()


def push_arrows(d: nn.Module, objective: Objective, fake: torch.Tensor, labels: torch.Tensor | None = None,
                real: torch.Tensor | None = None) -> np.ndarray:
    """-grad_x of G's loss at each fake point: the direction (and size) in which G's update moves it.

    The loss is a mean, so its gradient per point is scaled by n to be independent of the batch size.
    `real` (as many as the fakes) is scored for objectives whose G loss sees the real scores.
    With the saturating loss and a confident D these arrows shrink to nothing: vanishing gradients, seen.
    """
    x = fake.detach().clone().requires_grad_(True)
    d.requires_grad_(False)
    try:
        with torch.enable_grad():  # callers may sit in a no_grad block
            real_scores = d(real, labels).detach() if objective.g_sees_real and real is not None else None
            loss = objective.g_loss(real_scores, d(x, labels)) * len(x)
            (grad,) = torch.autograd.grad(loss, x)
    finally:
        d.requires_grad_(True)
    return (-grad).float().cpu().numpy()


def probability(scores: np.ndarray) -> np.ndarray:
    """sigmoid of raw scores, stable for large magnitudes."""
    return (0.5 * (1 + np.tanh(0.5 * scores))).astype(np.float32)
