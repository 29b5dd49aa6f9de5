"""Every objective on fixed tensors against hand-derived values, and the theory the course teaches."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from gancore.config import Config
from gancore.losses import OBJECTIVES, clip_weights, gradient_penalty
from gancore.models import build_models

REAL = torch.tensor([2.0, 0.0, -0.5])  # raw scores (logits) of D on real samples
FAKE = torch.tensor([-1.0, 2.0])  # raw scores on fake samples


def sig(s: float) -> float:
    return 1 / (1 + math.exp(-s))


def mean(values) -> float:
    return sum(values) / len(values)


R, F = REAL.tolist(), FAKE.tolist()
BCE_D = -mean([math.log(sig(r)) for r in R]) - mean([math.log(1 - sig(f)) for f in F])
EXPECTED = {  # (D loss, G loss), written from the textbook formulas on D = sigmoid(score)
    "minimax": (BCE_D, mean([math.log(1 - sig(f)) for f in F])),
    "nonsaturating": (BCE_D, -mean([math.log(sig(f)) for f in F])),
    "kl": (BCE_D, -mean([math.log(sig(f) / (1 - sig(f))) for f in F])),
    "wgan": (mean(F) - mean(R), -mean(F)),
    "wgan-gp": (mean(F) - mean(R), -mean(F)),
    "lsgan": (0.5 * mean([(r - 1) ** 2 for r in R]) + 0.5 * mean([f ** 2 for f in F]),
              0.5 * mean([(f - 1) ** 2 for f in F])),
    "hinge": (mean([max(0, 1 - r) for r in R]) + mean([max(0, 1 + f) for f in F]), -mean(F)),
    "relativistic": (mean([math.log(1 + math.exp(f - r)) for r, f in zip(R, F)]),
                     mean([math.log(1 + math.exp(r - f)) for r, f in zip(R, F)])),
}


@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_losses_on_fixed_scores(name: str) -> None:
    objective = OBJECTIVES[name]
    d_expected, g_expected = EXPECTED[name]
    real = REAL[: len(FAKE)] if name == "relativistic" else REAL  # a pairing loss scores pairs
    assert objective.d_loss(real, FAKE).item() == pytest.approx(d_expected, rel=1e-6)
    assert objective.g_loss(real, FAKE).item() == pytest.approx(g_expected, rel=1e-6)


def test_hand_computed_numbers() -> None:
    """The formulas above, worked out on paper once, so a formula wrong in both places still fails.
    softplus(-2) = 0.126928, softplus(0) = 0.693147, softplus(0.5) = 0.974077, softplus(-1) = 0.313262,
    softplus(2) = 2.126928; -log D(x) = softplus(-s) and -log(1 - D(x)) = softplus(s)."""
    assert BCE_D == pytest.approx((0.126928 + 0.693147 + 0.974077) / 3 + (0.313262 + 2.126928) / 2, abs=1e-5)
    assert EXPECTED["minimax"][1] == pytest.approx(-(0.313262 + 2.126928) / 2, abs=1e-5)
    assert EXPECTED["nonsaturating"][1] == pytest.approx((1.313262 + 0.126928) / 2, abs=1e-5)
    assert EXPECTED["kl"][1] == pytest.approx(-0.5)
    assert EXPECTED["hinge"][0] == pytest.approx((0 + 1 + 1.5) / 3 + (0 + 3) / 2)
    assert EXPECTED["lsgan"] == pytest.approx(((1 + 1 + 2.25) / 6 + (1 + 4) / 4, (4 + 1) / 4))


def test_losses_stay_finite_for_extreme_scores() -> None:
    """softplus keeps log(0) out: a confident D (|score| = 200) gives finite losses and gradients."""
    scores = torch.tensor([200.0, -200.0], requires_grad=True)
    for objective in OBJECTIVES.values():
        loss = objective.d_loss(scores, -scores) + objective.g_loss(-scores, scores)
        loss.backward()
        assert math.isfinite(loss.item()) and torch.isfinite(scores.grad).all()
        scores.grad = None


def test_saturating_gradient_vanishes_where_nonsaturating_does_not() -> None:
    """d/ds log(1 - sigmoid(s)) = -sigmoid(s) -> 0 as D(G(z)) -> 0; d/ds -log sigmoid(s) -> -1."""
    s = torch.tensor([-10.0], requires_grad=True)
    OBJECTIVES["minimax"].g_loss(None, s).backward()
    assert s.grad.item() == pytest.approx(-sig(-10.0), rel=1e-4)  # about -4.5e-5
    s.grad = None
    OBJECTIVES["nonsaturating"].g_loss(None, s).backward()
    assert s.grad.item() == pytest.approx(-(1 - sig(-10.0)), rel=1e-4)  # about -1


class LinearCritic(nn.Module):
    """f(x) = <a, x> with |a| = slope: its gradient norm is `slope` everywhere."""

    def __init__(self, slope: float) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.tensor([0.6, 0.8]) * slope)

    def forward(self, x: torch.Tensor, labels=None) -> torch.Tensor:
        return x @ self.a


@pytest.mark.parametrize("slope", [0.25, 1.0, 2.0, 3.5])
def test_gradient_penalty_of_a_linear_critic(slope: float) -> None:
    torch.manual_seed(0)
    real, fake = torch.randn(64, 2), torch.randn(64, 2) + 3
    eps = torch.rand(64, 1)
    gp = gradient_penalty(LinearCritic(slope), real, fake, None, eps)
    assert gp.item() == pytest.approx((slope - 1) ** 2, abs=1e-6)


def test_gradient_penalty_is_differentiable_in_the_critic() -> None:
    """The penalty must train the critic: d gp / d slope = 2 (slope - 1) for the linear critic."""
    critic = LinearCritic(2.0)
    gp = gradient_penalty(critic, torch.randn(8, 2), torch.randn(8, 2), None, torch.rand(8, 1))
    gp.backward()
    assert critic.a.grad.norm().item() == pytest.approx(2 * (2.0 - 1), rel=1e-5)


def test_clipping_keeps_every_weight_within_c() -> None:
    _, d = build_models(Config(), (2,), 8)
    with torch.no_grad():
        for p in d.parameters():
            p.mul_(100)
    clip_weights(d, 0.01)
    weights = torch.cat([p.flatten() for p in d.parameters()])
    assert weights.abs().max().item() == pytest.approx(0.01)
    assert (weights.abs() <= 0.01).all()


def test_discriminator_approaches_the_optimal_one() -> None:
    """Trained with the BCE loss on p_d = N(0, 1) and p_g = N(1, 1), D tends to p_d / (p_d + p_g),
    i.e. a logit of 0.5 - x (the course's optimal-discriminator result)."""
    torch.manual_seed(0)
    config = Config(dataset="gauss1d", width=32, depth=2, device="cpu")
    _, d = build_models(config, (1,), 0)
    opt = torch.optim.Adam(d.parameters(), lr=3e-3)
    bce = OBJECTIVES["nonsaturating"].d_loss
    for _ in range(1500):
        real, fake = torch.randn(512, 1), torch.randn(512, 1) + 1
        loss = bce(d(real), d(fake))
        opt.zero_grad()
        loss.backward()
        opt.step()
    x = torch.linspace(-1.5, 2.5, 41)[:, None]
    with torch.no_grad():
        learned = torch.sigmoid(d(x))
    optimal = torch.sigmoid(0.5 - x[:, 0])
    assert (learned - optimal).abs().max().item() < 0.05
