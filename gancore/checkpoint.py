"""Checkpoints: weights, optimizer state, config and step, loadable with `torch.load(weights_only=True)`.

Only tensors, numbers, strings, lists and dicts go in, so loading never unpickles code. Loading into a
model of another architecture fails with a message that names the settings that differ.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

import torch

from .config import Config, ConfigError, from_dict
from .train import Trainer

FORMAT = "gancore-checkpoint-1"
# Settings that decide the shape of the networks and of the optimizer state: a checkpoint only fits a run
# that agrees on all of them.
MUST_MATCH = ("dataset", "modes", "arch", "width", "depth", "activation", "latent_dim", "conditional",
              "cond_g", "cond_d", "optimizer_d", "optimizer_g")


class CheckpointError(ValueError):
    """A checkpoint cannot be read, or does not fit the run it is loaded into."""


def save(trainer: Trainer, target: str | Path | BinaryIO) -> None:
    state = trainer.state()
    state.pop("rng")  # a generator state is a ByteTensor on the CPU only for CPU runs; not needed to resume
    torch.save({"format": FORMAT, "config": trainer.config.to_dict(), **state}, target)


def to_bytes(trainer: Trainer) -> bytes:
    buffer = io.BytesIO()
    save(trainer, buffer)
    return buffer.getvalue()


def read(source: str | Path | BinaryIO) -> dict:
    """The checkpoint's contents (safe: weights_only=True), after checking its format."""
    try:
        content = torch.load(source, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {source} does not exist") from None
    except Exception as exc:
        raise CheckpointError(f"checkpoint {source} is not a readable gancore checkpoint ({exc})") from None
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {source} is not a gancore checkpoint (format {FORMAT})")
    return content


def config_of(content: dict) -> Config:
    try:
        return from_dict(content["config"])
    except ConfigError as exc:
        raise CheckpointError(f"checkpoint holds an invalid config: {exc}") from None


def load(trainer: Trainer, source: str | Path | BinaryIO) -> None:
    """Load weights, optimizer state and step counters into `trainer` (its live settings stay)."""
    content = read(source)
    saved = config_of(content)
    differ = [f"{name} {getattr(saved, name)!r} (run has {getattr(trainer.config, name)!r})"
              for name in MUST_MATCH if getattr(saved, name) != getattr(trainer.config, name)]
    if differ:
        raise CheckpointError("checkpoint was made for another architecture: " + "; ".join(differ))
    try:
        trainer.load_state({**content, "rng": trainer.rng.get_state()}, counters=True)
    except (RuntimeError, KeyError, ValueError) as exc:
        raise CheckpointError(f"checkpoint does not fit this model: {str(exc).splitlines()[0]}") from None
