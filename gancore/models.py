"""Generators and discriminators: MLPs for 1-D/2-D/28x28 data and a DCGAN-style convolutional pair.

D always returns a raw score (one number per sample, no sigmoid): every objective shares one network and
applies sigmoid/BCE inside its own loss. A sigmoid hard-wired into D is what kept WGAN out of GAN Lab.
Conditional variants take the label in G (one-hot or a learned embedding next to z) and in D (one-hot
concatenation, or a projection discriminator: score = psi(h) + <embed(y), h>).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import Config


ACTIVATIONS = {  # in place: one allocation less per layer and step (each follows a Linear's fresh output)
    "relu": torch.relu_,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.2, inplace=True),
    "tanh": torch.tanh_,
    "elu": lambda x: F.elu(x, inplace=True),
}


class MLP(nn.Module):
    """Linear layers with an activation after each hidden one (and after the last if `last_activation`).

    The forward pass is one loop over the weights instead of a call per layer module: on the tiny nets of
    the toy demos the per-module call overhead is a sizeable share of a step."""

    def __init__(self, sizes: list[int], activation: str, last_activation: str | None = None) -> None:
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))
        self.activation = activation
        self.last_activation = last_activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act = ACTIVATIONS[self.activation]
        x = x.flatten(1)
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = F.linear(x, layer.weight, layer.bias)
            if i < last:
                x = act(x)
        return ACTIVATIONS[self.last_activation](x) if self.last_activation else x


class LabelInput(nn.Module):
    """Turns labels into the vector G concatenates with z: a fixed one-hot or a learned embedding."""

    def __init__(self, n_classes: int, mode: str) -> None:
        super().__init__()
        self.n_classes = n_classes
        self.embedding = nn.Embedding(n_classes, n_classes) if mode == "embedding" else None

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        if self.embedding is not None:
            return self.embedding(y)
        return F.one_hot(y, self.n_classes).float()


class Generator(nn.Module):
    """z (and a label) -> one sample; `body` maps the joined input to the sample's flat or image form."""

    def __init__(self, body: nn.Module, out_shape: tuple[int, ...], labels: LabelInput | None) -> None:
        super().__init__()
        self.labels = labels
        self.body = body
        self.out_shape = out_shape

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.labels is not None:
            z = torch.cat([z, self.labels(y)], dim=1)
        return self.body(z).view(-1, *self.out_shape)


class Discriminator(nn.Module):
    """x (and a label) -> raw score: `features` then a linear head. A concatenating conditional D joins the
    one-hot to the flat input (MLP) or to the convolutional features (DCGAN, `join_input=False`)."""

    def __init__(self, features: nn.Module, n_features: int, n_classes: int, cond_d: str,
                 join_input: bool) -> None:
        super().__init__()
        self.features = features
        self.n_classes = n_classes
        concat = n_classes > 0 and cond_d == "concat"
        self.join_input = concat and join_input
        self.join_features = concat and not join_input
        self.head = nn.Linear(n_features + (n_classes if self.join_features else 0), 1)
        self.projection = nn.Embedding(n_classes, n_features) if n_classes > 0 and not concat else None

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.join_input:
            x = torch.cat([x.flatten(1), F.one_hot(y, self.n_classes).to(x.dtype)], dim=1)
        h = self.features(x)
        if self.join_features:
            h = torch.cat([h, F.one_hot(y, self.n_classes).to(h.dtype)], dim=1)
        score = self.head(h).squeeze(1)
        if self.projection is not None:
            score = score + (self.projection(y) * h).sum(dim=1)
        return score


def build_models(config: Config, shape: tuple[int, ...], n_classes: int) -> tuple[Generator, Discriminator]:
    """The G/D pair the config names, for samples of `shape`; labels enter only when conditional."""
    k = n_classes if config.conditional else 0
    labels = LabelInput(k, config.cond_g) if k else None
    n_out = math.prod(shape)
    image = len(shape) == 3
    if config.arch == "dcgan":
        g_body, d_features, n_features = _dcgan(config.latent_dim + k, config.width)
    else:
        hidden = [config.width] * config.depth
        g_body = MLP([config.latent_dim + k, *hidden, n_out], config.activation, "tanh" if image else None)
        joined = k if config.cond_d == "concat" else 0
        d_features = MLP([n_out + joined, *hidden], config.activation, last_activation=config.activation)
        n_features = config.width
    g = Generator(g_body, shape, labels)
    d = Discriminator(d_features, n_features, k, config.cond_d, join_input=config.arch == "mlp")
    if config.arch == "dcgan":
        g.apply(_dcgan_init)
        d.apply(_dcgan_init)
    return g, d


def _dcgan(n_in: int, width: int) -> tuple[nn.Module, nn.Module, int]:
    """DCGAN for 28x28 (Radford et al.): G upsamples 7 -> 14 -> 28 with batch norm; D has no batch norm,
    so one pass can score real and fake together and the WGAN-GP penalty stays per-sample."""
    g = nn.Sequential(
        nn.Linear(n_in, 2 * width * 7 * 7), nn.Unflatten(1, (2 * width, 7, 7)), nn.BatchNorm2d(2 * width),
        nn.ReLU(inplace=True),
        nn.ConvTranspose2d(2 * width, width, 4, 2, 1), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
        nn.ConvTranspose2d(width, 1, 4, 2, 1), nn.Tanh())
    d = nn.Sequential(
        nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(width, 2 * width, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True), nn.Flatten())
    return g, d, 2 * width * 7 * 7


def _dcgan_init(m: nn.Module) -> None:
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def layer_groups(model: nn.Module) -> list[tuple[str, list[nn.Parameter]]]:
    """(readable name, parameters) for each module that owns parameters: per-layer gradient norms."""
    groups = []
    counts: dict[str, int] = {}
    for module in model.modules():
        params = list(module.parameters(recurse=False))
        if not params:
            continue
        kind = {"Linear": "linear", "Conv2d": "conv", "ConvTranspose2d": "deconv", "BatchNorm2d": "bn",
                "Embedding": "embed"}.get(type(module).__name__, type(module).__name__.lower())
        counts[kind] = counts.get(kind, 0) + 1
        groups.append((f"{kind}{counts[kind]}", params))
    return groups
