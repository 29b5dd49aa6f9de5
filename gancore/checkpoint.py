"""Checkpoints: weights, optimizer state, generator state, config and step, loadable with
`torch.load(weights_only=True)`.

Only tensors, numbers, strings, lists and dicts go in, so loading never unpickles code. Every field is
checked before anything is loaded: a checkpoint of another architecture is refused with the settings that
differ, a missing or mistyped field with its name. The random generator's state is kept, so a run resumed
on the same device continues exactly as if it had never stopped (same seed, same losses, bit for bit).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, BinaryIO

import torch

from . import atomic
from .config import Config, ConfigError, from_dict
from .train import Trainer

FORMAT = "gancore-checkpoint-1"
# Settings that decide the shape of the networks and of the optimizer state: a checkpoint only fits a run
# that agrees on all of them.
MUST_MATCH = ("dataset", "modes", "arch", "width", "depth", "activation", "latent_dim", "conditional",
              "cond_g", "cond_d", "optimizer_d", "optimizer_g")
COUNTERS = ("step", "d_updates", "g_updates")
# What each optimizer keeps per parameter (gancore's settings: no amsgrad, no momentum); torch's
# load_state_dict checks none of it, and a missing moment fails only at the next step.
DEVICE_DEPENDENT = ("fused", "foreach")  # the kernel each device uses (one of them, or neither), not a setting
MOMENTS = {"adam": {"step", "exp_avg", "exp_avg_sq"}, "rmsprop": {"step", "square_avg"}, "sgd": set()}


class CheckpointError(ValueError):
    """A checkpoint cannot be read, or does not fit the run it is loaded into."""


def save(trainer: Trainer, target: str | Path | BinaryIO) -> None:
    """Write the trainer's state; a path is replaced atomically (a kill mid-save keeps the old file)."""
    content = {"format": FORMAT, "config": trainer.config.to_dict(), **trainer.state()}
    if isinstance(target, (str, Path)):
        atomic.replace_with(target, lambda f: torch.save(content, f))
    else:
        torch.save(content, target)


def to_bytes(trainer: Trainer) -> bytes:
    buffer = io.BytesIO()
    save(trainer, buffer)
    return buffer.getvalue()


def read(source: str | Path | BinaryIO) -> dict:
    """The checkpoint's contents (safe: weights_only=True), after checking its format and field types."""
    try:
        content = torch.load(source, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {source} does not exist") from None
    except IsADirectoryError:
        raise CheckpointError(f"checkpoint {source} is a folder, not a file") from None
    except Exception as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"checkpoint {source} is not a readable gancore checkpoint ({reason})") from None
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {source} is not a gancore checkpoint (format {FORMAT})")
    _check_fields(content)
    return content


def _check_fields(content: dict) -> None:
    def bad(name: str, allowed: str) -> CheckpointError:
        return CheckpointError(f"checkpoint field {name!r} must be {allowed}")

    for name in COUNTERS:
        value = content.get(name)
        if type(value) is not int or value < 0:
            raise bad(name, f"an integer >= 0, got {_shown(value)}")
    for name in ("g", "d"):
        weights = content.get(name)
        if not isinstance(weights, dict) or not all(isinstance(v, torch.Tensor) for v in weights.values()):
            raise bad(name, "a dict of weight tensors")
    for name in ("opt_g", "opt_d"):
        opt = content.get(name)
        groups = opt.get("param_groups") if isinstance(opt, dict) else None
        if (not isinstance(opt, dict) or not isinstance(opt.get("state"), dict) or not isinstance(groups, list)
                or not all(isinstance(g, dict) and isinstance(g.get("params"), list) for g in groups)):
            raise bad(name, "an optimizer state (a dict with 'state' and 'param_groups')")
    rng = content.get("rng")
    if rng is not None and not (isinstance(rng, torch.Tensor) and rng.dtype == torch.uint8 and rng.dim() == 1):
        raise bad("rng", "a random generator state (a 1-D uint8 tensor)")
    if not isinstance(content.get("config"), dict):
        raise bad("config", "a dict of settings")


def _shown(value: Any) -> str:
    text = repr(value) if not isinstance(value, torch.Tensor) else f"a tensor of shape {tuple(value.shape)}"
    return text if len(text) <= 40 else type(value).__name__


def config_of(content: dict) -> Config:
    try:
        return from_dict(content["config"])
    except (ConfigError, TypeError) as exc:
        raise CheckpointError(f"checkpoint holds an invalid config: {exc}") from None


def check_fits(content: dict, config: Config) -> Config:
    """The checkpoint's own config, after checking it builds the same networks as `config`."""
    saved = config_of(content)
    differ = [f"{name} {getattr(saved, name)!r} (run has {getattr(config, name)!r})"
              for name in MUST_MATCH if getattr(saved, name) != getattr(config, name)]
    if differ:
        raise CheckpointError("checkpoint was made for another architecture: " + "; ".join(differ))
    return saved


def load(trainer: Trainer, source: str | Path | BinaryIO | dict) -> None:
    """Load weights, optimizer state, generator state and step counters into `trainer` (its live settings
    stay). `source` may be the dict `read` returned. A refused load may leave the trainer half-loaded:
    build a new one before training on."""
    content = source if isinstance(source, dict) else read(source)
    check_fits(content, trainer.config)
    for name, opt, kind in (("opt_g", trainer.opt_g, trainer.config.optimizer_g),
                            ("opt_d", trainer.opt_d, trainer.config.optimizer_d)):
        _check_optimizer(name, content[name], opt, MOMENTS[kind])
    rng = content.get("rng")
    if rng is None or rng.numel() != trainer.rng.get_state().numel():
        rng = trainer.rng.get_state()  # saved on another kind of device: the run goes on, not bit-exact
    try:
        trainer.load_state({**content, "rng": rng}, counters=True)
    except Exception as exc:
        raise CheckpointError(f"checkpoint does not fit this model: {str(exc).splitlines()[0]}") from None


def _check_optimizer(name: str, saved: dict, opt: torch.optim.Optimizer, moments: set[str]) -> None:
    """Same settings of the same types as the run's optimizer, and moments shaped like the weights:
    torch checks neither, and a mismatch would only fail at the next step, on the training thread."""
    own = opt.state_dict()["param_groups"]
    if len(saved["param_groups"]) != len(own):
        raise CheckpointError(f"checkpoint field {name!r} has {len(saved['param_groups'])} parameter groups, "
                              f"the run's optimizer {len(own)}")
    for group, mine in zip(saved["param_groups"], own):
        for key, value in mine.items():
            there = group.get(key)
            if key in ("params", "lr", "betas"):  # the run's own lr and betas replace the saved ones
                fits = key in group
            elif key in DEVICE_DEPENDENT:
                fits = _same_kind(there, value)
            else:
                fits = type(there) is type(value) and there == value
            if not fits:
                raise CheckpointError(f"checkpoint field {name}.param_groups.{key} must be {_shown(value)}, "
                                      f"got {_shown(there)}")
        if group.get("fused") and group.get("foreach"):
            raise CheckpointError(f"checkpoint field {name}.param_groups asks for both fused and foreach kernels")
    params = [p for group in opt.param_groups for p in group["params"]]
    for index, kept in saved["state"].items():
        if type(index) is not int or not 0 <= index < len(params) or not isinstance(kept, dict):
            raise CheckpointError(f"checkpoint field {name}.state has an entry {_shown(index)} for no parameter")
        if set(kept) != moments:
            raise CheckpointError(f"checkpoint field {name}.state.{index} must hold {', '.join(sorted(moments))}, "
                                  f"got {', '.join(sorted(map(str, kept))) or 'nothing'}")
        for key, tensor in kept.items():
            ok = isinstance(tensor, torch.Tensor) and tensor.is_floating_point() and (
                tensor.dim() == 0 or tensor.shape == params[index].shape)
            if not ok:
                raise CheckpointError(f"checkpoint field {name}.state.{index}.{key} must be a float tensor of "
                                      f"shape {tuple(params[index].shape)}, got {_shown(tensor)}")


def _same_kind(value: Any, like: Any) -> bool:
    """Kernel switches: a bool or None, whichever the saving device chose."""
    return value is None or isinstance(value, bool)
