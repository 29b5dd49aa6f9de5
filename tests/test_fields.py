"""The two pictures on a hand-built critic: the heatmap is oriented like the plane, and G's arrows point
where its loss says (uphill in D for the non-saturating loss)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from gancore.evaluate.fields import critic_grid, push_arrows
from gancore.losses import OBJECTIVES


class Linear2d(nn.Module):
    """D(x) = a x + b y: known everywhere, so every pixel and arrow has a value on paper."""

    def __init__(self, a: float, b: float) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor([a, b]))

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return x @ self.w


BOUNDS = np.array([[-1.0, 3.0], [-2.0, 2.0]])  # x from -1 to 3, y from -2 to 2


def test_heatmap_rows_are_y_and_columns_are_x() -> None:
    """A critic growing to the right is largest in the last column; one growing upwards in the last row."""
    xs, ys, right = critic_grid(Linear2d(1.0, 0.0), BOUNDS, 5)
    assert xs.tolist() == [-1.0, 0.0, 1.0, 2.0, 3.0] and ys.tolist() == [-2.0, -1.0, 0.0, 1.0, 2.0]
    np.testing.assert_allclose(right, np.tile(xs, (5, 1)))  # scores[i, j] = D(xs[j], ys[i]) = xs[j]
    _, _, up = critic_grid(Linear2d(0.0, 1.0), BOUNDS, 5)
    np.testing.assert_allclose(up, np.tile(ys[:, None], (1, 5)))
    _, _, both = critic_grid(Linear2d(2.0, -1.0), BOUNDS, 5)
    assert both[0, -1] == 2 * 3.0 + 2.0 and both[-1, 0] == 2 * -1.0 - 2.0  # bottom right max, top left min


def test_arrows_push_fakes_uphill_in_d_for_the_non_saturating_loss() -> None:
    """-d/dx softplus(-D(x)) = sigmoid(-D(x)) grad D: along grad D = (1, 2), shorter where D is already high."""
    d = Linear2d(1.0, 2.0)
    fake = torch.tensor([[0.0, 0.0], [1.0, 1.0], [-1.0, -1.0]])
    arrows = push_arrows(d, OBJECTIVES["nonsaturating"], fake)
    scores = np.array([0.0, 3.0, -3.0])
    expected = (1 / (1 + np.exp(scores)))[:, None] * np.array([1.0, 2.0])
    np.testing.assert_allclose(arrows, expected, rtol=1e-5)
    assert np.all(arrows @ np.array([1.0, 2.0]) > 0)  # every arrow climbs D
    assert d.w.requires_grad  # D's weights are left trainable


def test_arrows_of_the_critic_objectives_follow_grad_d_at_unit_length() -> None:
    """The WGAN G loss -mean f(x) is linear in f: each arrow is grad f = (1, 2) whatever the batch size."""
    d = Linear2d(1.0, 2.0)
    for n in (1, 7):
        arrows = push_arrows(d, OBJECTIVES["wgan"], torch.randn(n, 2))
        np.testing.assert_allclose(arrows, np.tile([1.0, 2.0], (n, 1)), rtol=1e-6)
