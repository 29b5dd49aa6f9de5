"""How much memory a run will need, estimated from its config before anything is built.

A link or a flag can ask for a DCGAN of width 2048 at batch 8192; building it first and failing later
takes a server from 0.4 GB to 8 GB. These pure functions count what scales with the settings (weights,
gradients, optimizer moments, the rollback copy, one step's activations and the data set on the device),
so the command line can refuse a run above the free memory and the dashboard above its own budget.
"""

from __future__ import annotations

import math
import os

from .config import Config, ConfigError

FLOAT = 4  # bytes: everything trains in float32
BACKWARD = 2  # each saved activation has a gradient of its size while the backward pass runs
OPTIMIZER_MOMENTS = {"adam": 2, "rmsprop": 1, "sgd": 0}  # tensors the size of the weights (no momentum)
IMAGES_ON_DEVICE = {"digits": 5_000, "mnist": 60_000, "fashion": 60_000}  # training images held as float32
SHAPES = {"1d": (1,), "2d": (2,), "image": (1, 28, 28)}
GB = 1e9


class BudgetError(ConfigError):
    """A run would need more memory than allowed; the message gives the estimate and the limit."""


def data_shape(config: Config) -> tuple[int, ...]:
    return SHAPES[config.spec.kind]


def n_classes(config: Config) -> int:
    """Labels the networks see: 0 unless conditional (then the modes, or 10 image classes)."""
    if not config.conditional:
        return 0
    return 10 if config.spec.is_image else config.data_params()[0] or 0


def parameter_counts(config: Config, shape: tuple[int, ...]) -> tuple[int, int]:
    """(G, D) parameter counts of the networks `build_models` makes for this config (exact)."""
    k = n_classes(config)
    w, n_out, z = config.width, math.prod(shape), config.latent_dim + k
    label_g = k * k if k and config.cond_g == "embedding" else 0
    projection = k > 0 and config.cond_d != "concat"
    if config.arch == "dcgan":
        features = 2 * w * 49
        g = (z * features + features) + 2 * 2 * w + (2 * w * w * 16 + w) + 2 * w + (w * 16 + 1)
        d = (16 * w + w) + (w * 2 * w * 16 + 2 * w)
        head_in = features + (k if k and not projection else 0)
    else:
        hidden = [w] * config.depth
        g = _linear_params([z, *hidden, n_out])
        d = _linear_params([n_out + (k if k and not projection else 0), *hidden])
        features, head_in = w, w
    d += head_in + 1 + (k * features if projection else 0)
    return g + label_g, d


def _linear_params(sizes: list[int]) -> int:
    return sum(a * b + b for a, b in zip(sizes, sizes[1:]))


def activation_floats(config: Config, shape: tuple[int, ...]) -> tuple[int, int]:
    """(G, D) floats each network keeps per sample for its backward pass: every layer's output."""
    w, n_out = config.width, math.prod(shape)
    if config.arch == "dcgan":
        g = 2 * (2 * w * 49) + 2 * (w * 196) + 2 * n_out  # linear+batch norm, deconv+batch norm, deconv+tanh
        d = n_out + w * 196 + 2 * w * 49 + 1
    else:
        g = config.width * config.depth + n_out
        d = n_out + config.width * config.depth + 1
    return g, d


def workspace_floats(config: Config) -> int:
    """Floats per sample of the largest unfolded (im2col) buffer a convolution builds on the CPU: the
    14x14 -> 7x7 layers, width channels x a 4x4 kernel x 49 positions. Transient, but part of the peak."""
    return config.width * 16 * 49 if config.arch == "dcgan" else 0


def estimate_bytes(config: Config, shape: tuple[int, ...] | None = None) -> int:
    """Bytes a run needs: weights, gradients, optimizer moments and the run's rollback copy of both, one
    step's activations (G on a batch, D on real and fake, twice for the backward pass, once more for the
    WGAN-GP penalty's double backward), a convolution's unfolded input for real and fake, and the image
    data set on the device."""
    shape = shape or data_shape(config)
    g, d = parameter_counts(config, shape)
    moments = OPTIMIZER_MOMENTS[config.optimizer_g] * g + OPTIMIZER_MOMENTS[config.optimizer_d] * d
    weights = (g + d) * 3 + moments * 2  # weights, gradients, rollback copy; moments live and copied
    act_g, act_d = activation_floats(config, shape)
    per_sample = act_g + 2 * act_d + (act_d if config.loss == "wgan-gp" else 0)
    activations = config.batch_size * (per_sample * BACKWARD + 2 * workspace_floats(config))
    data = IMAGES_ON_DEVICE.get(config.dataset, 0) * math.prod(shape)
    return (weights + activations + data) * FLOAT


def check_budget(config: Config, shape: tuple[int, ...] | None, limit_bytes: float) -> int:
    """The estimate, or BudgetError when it is above `limit_bytes` (the field named is the biggest knob)."""
    need = estimate_bytes(config, shape)
    if need > limit_bytes:
        raise BudgetError("batch_size", f"run needs about {need / GB:.2f} GB (limit {limit_bytes / GB:.2f} GB): "
                          "lower width, batch_size or latent_dim")
    return need


def free_bytes(device: str) -> int:
    """Memory free for a new run on `device` ("cpu" or "cuda"): the GPU's free memory, else the RAM the
    kernel reports as available (MemAvailable: free plus what it can reclaim)."""
    if device == "cuda":
        import torch
        return int(torch.cuda.mem_get_info()[0])
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
