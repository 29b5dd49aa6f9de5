"""One validated configuration: the single source of defaults, limits, choices and help texts.

The command line, the sidebar and the presets all read these fields, so a default or a limit is written
once. Field metadata says which settings a running training accepts live (`live=True`) and which need a
new run.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

from .data import DATASETS, resolved
from .losses import OBJECTIVES

LOSSES = tuple(OBJECTIVES)  # the registry of objectives is the list of names
OPTIMIZERS = ("adam", "rmsprop", "sgd")
ACTIVATIONS = ("relu", "leaky_relu", "tanh", "elu")
DEVICES = ("auto", "cpu", "cuda", "mps")


class ConfigError(ValueError):
    """A setting is invalid; `field` names it so a form can show the message next to the right widget."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


def _f(default: Any, help: str, *, group: str, choices: tuple | None = None, low: float | None = None,
       high: float | None = None, live: bool = False, log: bool = False) -> Any:
    meta = dict(help=help, group=group, choices=choices, low=low, high=high, live=live, log=log)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Config:
    # data
    dataset: str = _f("ring", "data set", group="data", choices=tuple(DATASETS))
    modes: int | None = _f(None, "number of modes (ring: K; grid: side; gauss1d: count); empty: the data "
                           "set's default", group="data", low=1, high=64)
    radius: float | None = _f(None, "ring radius, grid spacing, blob offset, 1-D half-span or spiral radius; "
                              "empty: the data set's default", group="data", low=0.01, high=100)
    std: float | None = _f(None, "standard deviation of each mode (spiral: noise); empty: the data set's "
                           "default", group="data", low=1e-4, high=10)
    data_dir: str | None = _f(None, "folder with the MNIST/Fashion-MNIST IDX files (default: the user cache)",
                              group="data")
    # model
    arch: str = _f("mlp", "network family: MLPs, or DCGAN-style convolutions (28x28 images only)",
                   group="model", choices=("mlp", "dcgan"))
    width: int = _f(128, "hidden units per MLP layer (DCGAN: base channels)", group="model", low=4, high=2048)
    depth: int = _f(3, "hidden layers of each MLP", group="model", low=1, high=8)
    activation: str = _f("relu", "hidden activation of the MLPs", group="model", choices=ACTIVATIONS)
    latent_dim: int = _f(16, "size of the noise vector z", group="model", low=1, high=512)
    prior: str = _f("normal", "distribution of z", group="model", choices=("normal", "uniform"))
    conditional: bool = _f(False, "conditional GAN: G and D see the label (mode index or class)",
                           group="model")
    cond_g: str = _f("onehot", "how G sees the label", group="model", choices=("onehot", "embedding"))
    cond_d: str = _f("concat", "how D sees the label: concatenated input, or a projection discriminator",
                     group="model", choices=("concat", "projection"))
    # objective
    loss: str = _f("nonsaturating", "objective; " + "; ".join(f"{o.name}: {o.help}" for o in OBJECTIVES.values()),
                   group="objective", choices=LOSSES, live=True)
    clip: float = _f(0.01, "WGAN weight clipping bound c", group="objective", low=1e-5, high=10, live=True,
                     log=True)
    gp_lambda: float = _f(10.0, "WGAN-GP penalty weight lambda (10 for images; the paper used 0.1 on toys)",
                          group="objective", low=0.0, high=1000, live=True)
    # training
    n_critic: int = _f(1, "D steps per iteration", group="training", low=1, high=100, live=True)
    g_steps: int = _f(1, "G steps per iteration", group="training", low=1, high=100, live=True)
    optimizer_d: str = _f("adam", "D optimizer", group="training", choices=OPTIMIZERS, live=True)
    optimizer_g: str = _f("adam", "G optimizer", group="training", choices=OPTIMIZERS, live=True)
    lr_d: float = _f(1e-3, "D learning rate", group="training", low=1e-7, high=10, live=True, log=True)
    lr_g: float = _f(1e-3, "G learning rate", group="training", low=1e-7, high=10, live=True, log=True)
    beta1: float = _f(0.5, "Adam beta1 (RMSprop and SGD run without momentum, as in the WGAN paper)",
                      group="training", low=0.0, high=0.999,
                      live=True)
    beta2: float = _f(0.999, "Adam beta2", group="training", low=0.0, high=0.9999, live=True)
    batch_size: int = _f(256, "samples per batch", group="training", low=1, high=8192, live=True)
    steps: int = _f(2000, "iterations to train (0: until stopped)", group="training", low=0, high=10**9,
                    live=True)
    seed: int = _f(0, "random seed (same seed on CPU: same run)", group="training", low=0, high=2**31 - 1)
    device: str = _f("auto", "auto picks CUDA, then Apple MPS, then CPU", group="training", choices=DEVICES)
    # measurement
    eval_every: int = _f(250, "iterations between evaluations (coverage, W1, histograms)", group="measure",
                         low=1, high=10**6, live=True)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # accept plain values ("2e-4", 3.0) at every boundary
            object.__setattr__(self, f.name, coerce(f.name, getattr(self, f.name)))
        validate(self)

    # --- conveniences -------------------------------------------------------------------------------
    def replace(self, **changes: Any) -> "Config":
        """A validated copy with `changes` applied (unknown names raise ConfigError)."""
        return from_dict({**self.to_dict(), **changes})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @property
    def spec(self):
        return DATASETS[self.dataset]

    def data_params(self) -> tuple[int | None, float | None, float | None]:
        """modes, radius and std with the data set's defaults filled in."""
        return resolved(self.spec, self.modes, self.radius, self.std)


FIELDS: dict[str, dataclasses.Field] = {f.name: f for f in dataclasses.fields(Config)}
LIVE_FIELDS = frozenset(name for name, f in FIELDS.items() if f.metadata["live"])


def from_dict(values: dict[str, Any]) -> Config:
    """Build a Config from plain values (JSON, URL, CLI); unknown names and wrong types raise ConfigError."""
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise ConfigError(unknown[0], f"unknown setting (known: {', '.join(FIELDS)})")
    return Config(**values)


def coerce(name: str, value: Any) -> Any:
    """Convert a plain value (often a string) to the field's type, with a message naming the field."""
    f = FIELDS[name]
    kind = f.type if isinstance(f.type, str) else f.type.__name__
    optional = "None" in kind
    if value is None or (optional and isinstance(value, str) and value.strip().lower() in ("", "none")):
        if optional:
            return None
        raise ConfigError(name, "a value is required")
    try:
        if kind.startswith("bool"):
            if isinstance(value, str):
                if value.strip().lower() in ("1", "true", "yes", "on"):
                    return True
                if value.strip().lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError
            if not isinstance(value, (bool, int)) or value not in (0, 1):
                raise ValueError
            return bool(value)
        if kind.startswith("int"):
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
            if not number.is_integer():
                raise ValueError
            return int(number)
        if kind.startswith("float"):
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        return str(value)
    except (TypeError, ValueError, OverflowError):
        expected = kind.split(" ")[0]
        raise ConfigError(name, f"expected {'an' if expected == 'int' else 'a'} {expected}, got {value!r}") from None


def unused(c: Config) -> dict[str, str]:
    """The settings these settings ignore, each with why: the sidebar disables them and says so, since a
    student turning the clip bound of a non-saturating GAN would wait for an effect that cannot come."""
    objective = OBJECTIVES[c.loss]
    reasons: dict[str, str] = {}
    for name, uses, device in (("clip", "constraint", "weight clipping"),
                               ("gp_lambda", "penalty", "a gradient penalty")):
        if getattr(objective, uses) is None:
            users = ", ".join(o.name for o in OBJECTIVES.values() if getattr(o, uses) is not None)
            reasons[name] = f"only {device} uses it (loss {users}); {c.loss} has none"
    if "adam" not in (c.optimizer_d, c.optimizer_g):
        for name in ("beta1", "beta2"):
            reasons[name] = f"only Adam uses it; D runs {c.optimizer_d} and G {c.optimizer_g}"
    if not c.conditional:
        for name in ("cond_g", "cond_d"):
            reasons[name] = "only a conditional GAN uses it (Data: Conditional GAN)"
    return reasons


def validate(c: Config) -> None:
    """Check every field's type, choices and limits, then the rules that tie fields together."""
    for name, f in FIELDS.items():
        value = getattr(c, name)
        m = f.metadata
        if value is None:
            if "None" not in str(f.type):
                raise ConfigError(name, "a value is required")
            continue
        if m["choices"] is not None and value not in m["choices"]:
            raise ConfigError(name, f"{value!r} is not one of {', '.join(map(str, m['choices']))}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(name, f"{value} is not a finite number")
        if m["low"] is not None and value < m["low"]:
            raise ConfigError(name, f"{value} is below the minimum {m['low']:g}")
        if m["high"] is not None and value > m["high"]:
            raise ConfigError(name, f"{value} is above the maximum {m['high']:g}")
    spec = DATASETS[c.dataset]
    for name in ("modes", "radius", "std"):
        if getattr(c, name) is not None and getattr(spec, name) is None:
            raise ConfigError(name, f"data set {c.dataset!r} has no {name} to set")
    if c.dataset == "grid" and c.modes is not None and c.modes > 10:
        raise ConfigError("modes", f"grid side {c.modes} is above the maximum 10 (100 modes)")
    if c.arch == "dcgan" and not spec.is_image:
        raise ConfigError("arch", f"dcgan needs 28x28 images; {c.dataset!r} is {spec.kind} data (use mlp)")
    if c.conditional and not spec.labelled:
        raise ConfigError("conditional", f"data set {c.dataset!r} has no labels to condition on")
    if c.data_dir is not None and not spec.folder:
        raise ConfigError("data_dir", f"data set {c.dataset!r} is built in and reads no folder")
