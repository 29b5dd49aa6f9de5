"""Every objective of a GAN course, as a D loss and a G loss on the same raw scores.

Scores are D's raw outputs s (logits). With D(x) = sigmoid(s), the log terms are written with softplus,
which is exact and never takes log(0): -log D = softplus(-s) and -log(1 - D) = softplus(s).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

LossFn = Callable[..., Tensor]


def _bce_d(real: Tensor, fake: Tensor) -> Tensor:
    """-E log D(x) - E log(1 - D(G(z))): the standard discriminator of the GAN family."""
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def _wasserstein_d(real: Tensor, fake: Tensor) -> Tensor:
    """The critic maximises E f(x) - E f(G(z)), so it minimises the negative."""
    return fake.mean() - real.mean()


@dataclass(frozen=True)
class Objective:
    name: str
    d_loss: LossFn
    g_loss: Callable[[Tensor], Tensor]
    sigmoid: bool  # scores are logits of a probability: d_real/d_fake are meaningful
    clip: bool = False  # WGAN: clip D's weights after each D step
    penalty: bool = False  # WGAN-GP: add lambda * gradient penalty to the D loss
    help: str = ""


OBJECTIVES: dict[str, Objective] = {o.name: o for o in [
    Objective("minimax", _bce_d, lambda fake: -F.softplus(fake).mean(), sigmoid=True,
              help="G minimises log(1 - D(G(z))): the original, saturating game; its gradient vanishes "
                   "when D confidently rejects the fakes"),
    Objective("nonsaturating", _bce_d, lambda fake: F.softplus(-fake).mean(), sigmoid=True,
              help="G minimises -log D(G(z)): same fixed point, strong gradients when D rejects the fakes"),
    Objective("kl", _bce_d, lambda fake: -fake.mean(), sigmoid=True,
              help="G minimises -log(D/(1-D)) = -logit: KL(p_g || p_data) at the optimal D"),
    Objective("wgan", _wasserstein_d, lambda fake: -fake.mean(), sigmoid=False, clip=True,
              help="Wasserstein critic kept (roughly) Lipschitz by clipping every weight to [-c, c]"),
    Objective("wgan-gp", _wasserstein_d, lambda fake: -fake.mean(), sigmoid=False, penalty=True,
              help="Wasserstein critic with a gradient penalty lambda * E(||grad f(x_hat)|| - 1)^2"),
    Objective("lsgan", lambda real, fake: 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake ** 2).mean(),
              lambda fake: 0.5 * ((fake - 1) ** 2).mean(), sigmoid=False,
              help="least squares: D regresses real to 1 and fake to 0, G pulls its scores to 1"),
    Objective("hinge", lambda real, fake: F.relu(1 - real).mean() + F.relu(1 + fake).mean(),
              lambda fake: -fake.mean(), sigmoid=False,
              help="hinge D loss (SAGAN/BigGAN), G maximises the critic score"),
]}


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


@torch.no_grad()
def clip_weights(d: nn.Module, c: float) -> None:
    """WGAN's Lipschitz constraint: every weight of the critic into [-c, c]."""
    params = [p for p in d.parameters()]
    torch._foreach_clamp_min_(params, -c)
    torch._foreach_clamp_max_(params, c)
