"""Every objective of a GAN course, one entry each: its D loss, its G loss, and its own extra terms.

Scores are D's raw outputs s (logits). With D(x) = sigmoid(s), the log terms are written with softplus,
which is exact and never takes log(0): -log D = softplus(-s) and -log(1 - D) = softplus(s). Both losses
take (real scores, fake scores); a G loss that ignores the real scores declares it (`g_sees_real=False`)
so the trainer skips the extra forward pass on real data. A penalty or a weight constraint is a hook of
the objective (`penalty`, `constraint`): the training step calls the hooks, it never asks which loss runs.
Adding an objective is one entry in OBJECTIVES; the config's choices, the sidebar and the CLI read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import torch
import torch.nn.functional as F
from torch import Tensor, nn

Pair = Callable[[Tensor | None, Tensor], Tensor]
Record = Callable[[str, Tensor], None]


def _bce_d(real: Tensor, fake: Tensor) -> Tensor:
    """-E log D(x) - E log(1 - D(G(z))): the standard discriminator of the GAN family."""
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def _wasserstein_d(real: Tensor, fake: Tensor) -> Tensor:
    """The critic maximises E f(x) - E f(G(z)), so it minimises the negative."""
    return fake.mean() - real.mean()


def _critic_g(real: Tensor | None, fake: Tensor) -> Tensor:
    return -fake.mean()


class Penalty(Protocol):
    """An extra D-loss term computed on its own pass (its double backward would cost 3x in the main one)."""

    def __call__(self, d: nn.Module, real: Tensor, fake: Tensor, labels: Tensor | None, eps: Tensor,
                 weight: float, record: Record) -> Tensor: ...


class Constraint(Protocol):
    """Applied to D's weights after each D step."""

    def __call__(self, d: nn.Module, bound: float, record: Record) -> None: ...


def interpolate(real: Tensor, fake: Tensor, eps: Tensor) -> Tensor:
    """x_hat = eps * real + (1 - eps) * fake, one mixing weight per sample, ready for a gradient."""
    return (eps * real + (1 - eps) * fake).requires_grad_(True)


def penalty(x_hat: Tensor, scores: Tensor) -> Tensor:
    """E (||grad_x D(x_hat)||_2 - 1)^2 (Gulrajani et al. 2017), from D's scores on x_hat, differentiable in D."""
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def gradient_penalty(d: nn.Module, real: Tensor, fake: Tensor, labels: Tensor | None, eps: Tensor) -> Tensor:
    """The WGAN-GP penalty on interpolates of a real and a fake batch. Conditional critics are penalised
    with the labels of the pair, so the constraint holds per class."""
    x_hat = interpolate(real, fake, eps)
    return penalty(x_hat, d(x_hat, labels))


def _gp_term(d: nn.Module, real: Tensor, fake: Tensor, labels: Tensor | None, eps: Tensor, weight: float,
             record: Record) -> Tensor:
    gp = gradient_penalty(d, real, fake, labels, eps)
    record("gp", gp)
    return weight * gp


@torch.no_grad()
def clip_weights(d: nn.Module, c: float) -> None:
    """WGAN's Lipschitz constraint: every weight of the critic into [-c, c]."""
    params = [p for p in d.parameters()]
    torch._foreach_clamp_min_(params, -c)
    torch._foreach_clamp_max_(params, c)


@torch.no_grad()
def _clip_constraint(d: nn.Module, bound: float, record: Record) -> None:
    clip_weights(d, bound)
    weights = torch.cat([p.detach().flatten() for p in d.parameters()])
    record("clip_frac", (weights.abs() >= bound * (1 - 1e-6)).float().mean())


@dataclass(frozen=True)
class Objective:
    name: str
    d_loss: Pair
    g_loss: Pair
    help: str
    probabilities: bool = False  # scores are logits of a probability: D(x) and D(G(z)) are meaningful
    g_sees_real: bool = False  # the G loss uses the real scores (relativistic): the step scores a real batch
    penalty: Penalty | None = None  # an extra D-loss term, weighted by `gp_lambda`
    constraint: Constraint | None = None  # applied after each D step with bound `clip`
    constraint_name: str = ""  # how the run describes its Lipschitz device: "weight clipping", ...


OBJECTIVES: dict[str, Objective] = {o.name: o for o in [
    Objective("minimax", _bce_d, lambda real, fake: -F.softplus(fake).mean(), probabilities=True,
              help="G minimises log(1 - D(G(z))): the original, saturating game; its gradient vanishes "
                   "when D confidently rejects the fakes"),
    Objective("nonsaturating", _bce_d, lambda real, fake: F.softplus(-fake).mean(), probabilities=True,
              help="G minimises -log D(G(z)): same fixed point, strong gradients when D rejects the fakes"),
    Objective("kl", _bce_d, _critic_g, probabilities=True,
              help="G minimises -log(D/(1-D)) = -logit: KL(p_g || p_data) at the optimal D"),
    Objective("wgan", _wasserstein_d, _critic_g, constraint=_clip_constraint, constraint_name="weight clipping",
              help="Wasserstein critic kept (roughly) Lipschitz by clipping every weight to [-c, c]"),
    Objective("wgan-gp", _wasserstein_d, _critic_g, penalty=_gp_term, constraint_name="gradient penalty",
              help="Wasserstein critic with a gradient penalty lambda * E(||grad f(x_hat)|| - 1)^2"),
    Objective("lsgan", lambda real, fake: 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake ** 2).mean(),
              lambda real, fake: 0.5 * ((fake - 1) ** 2).mean(),
              help="least squares: D regresses real to 1 and fake to 0, G pulls its scores to 1"),
    Objective("hinge", lambda real, fake: F.relu(1 - real).mean() + F.relu(1 + fake).mean(), _critic_g,
              help="hinge D loss (SAGAN/BigGAN), G maximises the critic score"),
    Objective("relativistic", lambda real, fake: F.softplus(fake - real).mean(),
              lambda real, fake: F.softplus(real - fake).mean(), g_sees_real=True,
              help="relativistic pairing GAN (RpGAN, Jolicoeur-Martineau 2018): D asks whether a real sample "
                   "scores higher than its paired fake, softplus(f(fake) - f(real)); G swaps the pair"),
]}
