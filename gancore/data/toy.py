"""Toy distributions in 1-D and 2-D, sampled on the training device.

Every mixture knows its mode centres and per-mode std, because mode coverage is measured in units of each
mode's std (the Unrolled GAN / VEEGAN / PacGAN protocol). Samples come with their mode index as a label, so
a conditional GAN can be trained on toy data too.
"""

from __future__ import annotations

import math

import numpy as np
import torch


class Mixture:
    """An equal-weight mixture of isotropic Gaussians; `centres` (K, dim), one std per mode."""

    def __init__(self, name: str, centres: np.ndarray, std: float, device: torch.device | str = "cpu") -> None:
        self.name = name
        self.centres = np.asarray(centres, dtype=np.float32)
        self.stds = np.full(len(self.centres), std, dtype=np.float32)
        self.shape: tuple[int, ...] = (self.centres.shape[1],)
        self.n_classes = len(self.centres)
        self.class_names = [str(i) for i in range(self.n_classes)]
        self.device = torch.device(device)
        self._centres = torch.as_tensor(self.centres, device=self.device)
        self._std = float(std)

    def to(self, device: torch.device | str) -> "Mixture":
        self.device = torch.device(device)
        self._centres = self._centres.to(self.device)
        return self

    def sample(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """n points and the index of the mode each came from."""
        labels = torch.randint(self.n_classes, (n,), device=self.device, generator=generator)
        noise = torch.randn((n, *self.shape), device=self.device, generator=generator)
        return self._centres[labels] + self._std * noise, labels

    def bounds(self) -> np.ndarray:
        """(dim, 2) low/high box of every picture and grid: the data with a margin of 5 std, and the origin,
        where a fresh generator puts its mass (so a far target and G's start are both in view)."""
        margin = max(5 * float(self.stds.max()), 0.25 * float(np.ptp(self.centres, axis=0).max() or 4.0))
        low = np.minimum(self.centres.min(0) - margin, -1.0)
        high = np.maximum(self.centres.max(0) + margin, 1.0)
        return np.stack([low, high], axis=1).astype(np.float32)


class SwissRoll:
    """A continuous 2-D spiral (the WGAN-GP toy swiss roll): no modes, no labels."""

    n_classes = 0
    class_names: list[str] = []
    centres = None
    stds = None
    shape = (2,)

    def __init__(self, radius: float, std: float, device: torch.device | str = "cpu") -> None:
        self.name = "swissroll"
        self.radius = radius
        self.std = std
        self.device = torch.device(device)

    def to(self, device: torch.device | str) -> "SwissRoll":
        self.device = torch.device(device)
        return self

    def sample(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, None]:
        t = 1.5 * math.pi * (1 + 2 * torch.rand(n, device=self.device, generator=generator))
        scale = self.radius / (4.5 * math.pi)
        x = torch.stack([t * torch.cos(t), t * torch.sin(t)], dim=1) * scale
        return x + self.std * torch.randn((n, 2), device=self.device, generator=generator), None

    def bounds(self) -> np.ndarray:
        r = self.radius * 1.15 + 4 * self.std
        return np.array([[-r, r], [-r, r]], dtype=np.float32)


def ring(modes: int, radius: float, std: float) -> Mixture:
    angles = 2 * np.pi * np.arange(modes) / modes
    return Mixture("ring", radius * np.stack([np.cos(angles), np.sin(angles)], axis=1), std)


def grid(side: int, spacing: float, std: float) -> Mixture:
    axis = (np.arange(side) - (side - 1) / 2) * spacing
    xx, yy = np.meshgrid(axis, axis, indexing="ij")
    return Mixture("grid", np.stack([xx.ravel(), yy.ravel()], axis=1), std)


def blob(offset: float, std: float) -> Mixture:
    """One Gaussian at (offset, offset), far from where a fresh generator puts its mass."""
    return Mixture("blob", np.array([[offset, offset]]), std)


def gauss1d(modes: int, radius: float, std: float) -> Mixture:
    """1-D mixture: one mode at +radius, or `modes` modes evenly spread over [-radius, radius]."""
    centres = np.array([radius]) if modes == 1 else np.linspace(-radius, radius, modes)
    return Mixture("gauss1d", centres[:, None], std)
