"""What the trainer tests share: reading a trainer's table and a trainer whose numbers follow on paper."""

from __future__ import annotations

import numpy as np
import torch

from gancore.config import Config
from gancore.train import Trainer


def params(module: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten().clone() for p in module.parameters()])


def column(trainer: Trainer, table: np.ndarray, name: str) -> np.ndarray:
    return table[:, trainer.columns.index(name)]


def hand_built(**changes) -> Trainer:
    """A trainer whose numbers can be derived on paper: every real point sits at (1, 0) (one ring mode,
    std 1e-4), G ignores z and outputs (-1, -0.5), and D(x) = x1 + 2 x2 on the whole region the points use
    (hidden units relu(x + 10) for x1 and x2, two dead units, head (1, 2, 0, 0) with bias -30)."""
    config = Config(dataset="ring", modes=1, radius=1.0, std=1e-4, width=4, depth=1, latent_dim=3,
                    batch_size=64, device="cpu", **changes)
    t = Trainer(config)
    with torch.no_grad():
        first, = t.d.features.layers
        first.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [0.0, 0.0]]))
        first.bias.copy_(torch.tensor([10.0, 10.0, 0.0, 0.0]))
        t.d.head.weight.copy_(torch.tensor([[1.0, 2.0, 0.0, 0.0]]))
        t.d.head.bias.fill_(-30.0)
        g_in, g_out = t.g.body.layers
        g_in.weight.zero_()
        g_in.bias.fill_(-1.0)  # relu(-1) = 0: the hidden layer is dead, no gradient reaches z's weights
        g_out.weight.zero_()
        g_out.bias.copy_(torch.tensor([-1.0, -0.5]))
    return t


def sigmoid(x: float) -> float:
    return 1 / (1 + np.exp(-x))


def softplus(x: float) -> float:
    return float(np.log1p(np.exp(x)))
