"""One GAN training iteration, readable top to bottom, and the measurements taken on the way.

An iteration is `n_critic` D steps then `g_steps` G steps. D scores real and fake in one pass; the fake
batch made for the last D step is reused (with its graph) by the first G step, as in the DCGAN example, so
a 1:1 iteration runs G forward once. The last D step of an iteration and its G steps are measured: each
measurement is one `record(name, tensor)` call (declared in gancore.measures), stays on the device and is
fetched in one transfer per flush, so CUDA training never waits on the host for a log line.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from .config import FIELDS, LIVE_FIELDS, Config, ConfigError
from .data import make_dataset
from .info import STEP_KINDS, RunInfo
from .losses import OBJECTIVES
from .measures import LAYER_PREFIX, STEP_MEASURES, step_measure
from .models import build_models, layer_groups

_INIT_LOCK = threading.Lock()  # model init draws from torch's global RNG: one run at a time seeds it

def pick_device(name: str) -> torch.device:
    """`auto` prefers CUDA, then Apple's MPS, then the CPU; an unavailable explicit choice is a ConfigError
    naming the field, so every boundary (CLI, link, sidebar) reports it like any bad setting."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", "cuda was asked for but no CUDA GPU is available")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError("device", "mps was asked for but Apple MPS is not available")
    return torch.device(name)


def make_optimizer(name: str, params, lr: float, beta1: float, beta2: float, device: torch.device
                   ) -> torch.optim.Optimizer:
    """Adam uses (beta1, beta2); RMSprop and SGD run without momentum, as in the WGAN paper.

    Fused kernels where torch has them (Adam and SGD, CPU and CUDA): one call updates every parameter,
    4x faster than the per-tensor loop on a 3x128 MLP. RMSprop falls back to the foreach kernels."""
    params = list(params)
    cls, kwargs = {"adam": (torch.optim.Adam, {"betas": (beta1, beta2)}), "rmsprop": (torch.optim.RMSprop, {}),
                   "sgd": (torch.optim.SGD, {})}[name]
    if name != "rmsprop" and device.type in ("cpu", "cuda"):
        return cls(params, lr=lr, fused=True, **kwargs)
    return cls(params, lr=lr, foreach=True, **kwargs)


@dataclass
class _Row:
    """One logged step: host numbers plus device tensors that are fetched at the next flush."""

    step: int
    kind: str
    seconds: float
    batch: int
    lr_d: float
    lr_g: float
    d_updates: int
    g_updates: int
    tensors: dict[str, Tensor]


class Trainer:
    """Owns data, models, optimizers, the objective and the fixed noise of one run. Single-threaded."""

    def __init__(self, config: Config, dataset=None) -> None:
        self.config = config
        self.device = pick_device(config.device)
        if dataset is None:
            dataset = make_dataset(config.dataset, *config.data_params(), data_dir=config.data_dir)
        self.data = dataset.to(self.device)
        self.rng = torch.Generator(self.device).manual_seed(config.seed)
        with _INIT_LOCK, torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self.g, self.d = build_models(config, self.data.shape, self.data.n_classes)
        self.g.to(self.device)
        self.d.to(self.device)
        self.g_layers = layer_groups(self.g)
        self._layer_slices = _layer_slices(self.g_layers)
        self.columns = list(STEP_MEASURES) + [f"{LAYER_PREFIX}{name}" for name, _ in self.g_layers]
        self.opt_d = self._optimizer("d")
        self.opt_g = self._optimizer("g")
        self.objective = OBJECTIVES[config.loss]
        self.conditional = config.conditional
        self.step = 0
        self.d_updates = 0
        self.g_updates = 0
        self._rows: list[_Row] = []
        self._measured: dict[str, Tensor] | None = None  # the current step's records, while it is measured
        self._kept: tuple[Tensor, Tensor | None, Tensor] | None = None  # last D step's fakes (with graph)
        self._signs = torch.tensor([[1.0], [-1.0]], device=self.device)  # real scores > 0, fake < 0: correct
        fixed = torch.Generator(self.device).manual_seed(config.seed + 1)
        n_fixed = 100 if self.is_image else 512
        self.fixed_labels = (torch.arange(n_fixed, device=self.device) * self.data.n_classes // n_fixed
                             if self.conditional else None)  # conditional grids: one row per class
        self.fixed_z = self.noise(n_fixed, fixed)
        self.fixed_real, self.fixed_real_labels = self.data.sample(n_fixed, fixed)

    @property
    def is_image(self) -> bool:
        return self.config.spec.is_image

    @property
    def info(self) -> RunInfo:
        """The run's description for viewers; it changes when the objective does."""
        spec, obj = self.config.spec, self.objective
        return RunInfo(dataset=spec.name, data_kind=spec.kind, data_shape=tuple(self.data.shape),
                       n_modes=self.data.n_classes, unit=spec.unit, class_names=tuple(self.data.class_names),
                       objective=obj.name, probabilities=obj.probabilities, constraint=obj.constraint_name,
                       conditional=self.conditional)

    # --- building blocks ------------------------------------------------------------------------------
    def _optimizer(self, which: str) -> torch.optim.Optimizer:
        c = self.config
        name, lr, net = (c.optimizer_d, c.lr_d, self.d) if which == "d" else (c.optimizer_g, c.lr_g, self.g)
        return make_optimizer(name, net.parameters(), lr, c.beta1, c.beta2, self.device)

    def noise(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        shape = (n, self.config.latent_dim)
        rng = generator or self.rng
        if self.config.prior == "uniform":
            return torch.rand(shape, device=self.device, generator=rng) * 2 - 1
        return torch.randn(shape, device=self.device, generator=rng)

    def _fake_labels(self, n: int) -> Tensor | None:
        if not self.conditional:
            return None
        return torch.randint(self.data.n_classes, (n,), device=self.device, generator=self.rng)

    def record(self, name: str, value: Tensor) -> None:
        """Log a measurement of the current step (declared in gancore.measures; a later record of the same
        name in the step wins). Unmeasured steps ignore it: callers pass tensors, never host numbers."""
        if self._measured is not None:
            self._measured[name] = value.detach()

    # --- one D step and one G step --------------------------------------------------------------------
    def _d_step(self, last: bool) -> None:
        """Update D once. The last D step before a G step keeps its fakes' graph for that G step to reuse,
        and is the one measured."""
        c, obj = self.config, self.objective
        record = self.record if last else None
        real, labels = self.data.sample(c.batch_size, self.rng)
        labels = labels if self.conditional else None
        with torch.set_grad_enabled(last):
            fake = self.g(self.noise(c.batch_size), labels)
        self._kept = (fake, labels, real) if last else None
        b = c.batch_size
        both_labels = torch.cat([labels, labels]) if labels is not None else None
        scores = self.d(torch.cat([real, fake.detach()]), both_labels)
        loss = obj.d_loss(scores[:b], scores[b:])
        if record:  # few ops on the (2, batch) view of the scores: real and fake at once
            pairs = scores.detach().view(2, b)
            critic = pairs.mean(dim=1)
            record("critic_real", critic[0])
            record("critic_fake", critic[1])
            record("w_estimate", critic[0] - critic[1])
            if obj.probabilities:
                prob = torch.sigmoid(pairs).mean(dim=1)
                record("d_real", prob[0])
                record("d_fake", prob[1])
                record("d_accuracy", ((pairs * self._signs) > 0).float().mean())
        if obj.penalty is not None:
            eps = torch.rand((b,) + (1,) * len(self.data.shape), device=self.device, generator=self.rng)
            loss = loss + obj.penalty(self.d, real, fake.detach(), labels, eps, c.gp_lambda, record or _skip)
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        if record:
            record("loss_d", loss)
            record("grad_norm_d", torch.stack(torch._foreach_norm([p.grad for p in self.d.parameters()])))
        self.opt_d.step()
        if obj.constraint is not None:
            obj.constraint(self.d, c.clip, record or _skip)
        self.d_updates += 1

    def _g_step(self, update: bool) -> None:
        """One G step (or, with update=False, only G's gradient: the frozen-generator experiment)."""
        c, obj = self.config, self.objective
        if self._kept is not None:
            fake, labels, real = self._kept
            self._kept = None
        else:
            if obj.g_sees_real:
                real, labels = self.data.sample(c.batch_size, self.rng)
                labels = labels if self.conditional else None
            else:
                real, labels = None, self._fake_labels(c.batch_size)
            fake = self.g(self.noise(c.batch_size), labels)
        self.d.requires_grad_(False)  # G's step needs gradients w.r.t. D's input only, not D's weights
        try:
            real_scores = None
            if obj.g_sees_real:
                with torch.no_grad():
                    real_scores = self.d(real, labels)
            loss = obj.g_loss(real_scores, self.d(fake, labels))
            self.opt_g.zero_grad(set_to_none=True)
            loss.backward()
        finally:
            self.d.requires_grad_(True)
        params = [p for _, group in self.g_layers for p in group]
        norms = torch.stack(torch._foreach_norm([p.grad for p in params]))
        self.record("loss_g", loss)
        self.record("grad_norm_g", norms)
        for layer, part in self._layer_slices:
            self.record(f"{LAYER_PREFIX}{layer}", norms[part])
        if update:
            self.opt_g.step()
            self.g_updates += 1
        else:
            self.opt_g.zero_grad(set_to_none=True)

    # --- public steps -----------------------------------------------------------------------------------
    def train_step(self, kind: str = "iteration") -> None:
        """One step of a granularity: a full iteration, a D-only step (G frozen; G's gradient is still
        measured) or a G-only step. Each step logs one row."""
        t0 = time.perf_counter()
        c = self.config
        self._measured = {}
        if kind == "iteration":
            for i in range(c.n_critic):
                self._d_step(last=i == c.n_critic - 1)
            for _ in range(c.g_steps):
                self._g_step(update=True)
        elif kind == "d":
            self._d_step(last=True)
            self._g_step(update=False)
        elif kind == "g":
            self._g_step(update=True)
        else:
            self._measured = None
            raise ValueError(f"step kind must be one of {', '.join(STEP_KINDS)}, got {kind!r}")
        measured, self._measured = self._measured, None
        self.step += 1
        self._rows.append(_Row(self.step, kind, time.perf_counter() - t0, c.batch_size, c.lr_d, c.lr_g,
                               self.d_updates, self.g_updates, measured))

    def flush(self) -> tuple[np.ndarray, tuple[int, str] | None]:
        """Fetch the pending rows in one device transfer and decode each record by its declaration.
        Returns (rows in `columns` order, NaN where a step did not measure; divergence): divergence is
        (step, column) of the first recorded non-finite value, else None."""
        rows, self._rows = self._rows, []
        if not rows:
            return np.empty((0, len(self.columns)), np.float32), None
        t0 = time.perf_counter()
        flat = torch.cat([v.reshape(-1).float() for r in rows for v in r.tensors.values()]).cpu().numpy()
        sync = (time.perf_counter() - t0) / len(rows) if self.device.type != "cpu" else 0.0
        table = np.full((len(rows), len(self.columns)), np.nan, np.float32)
        at = {name: i for i, name in enumerate(self.columns)}
        divergence = None
        offset = 0
        for i, r in enumerate(rows):
            values: dict[str, float] = {}
            for name, v in r.tensors.items():
                chunk = flat[offset: offset + v.numel()]
                offset += v.numel()
                if step_measure(name).reduce == "norm":
                    values[name] = float(np.sqrt(np.square(chunk, dtype=np.float64).sum()))
                else:
                    values[name] = float(chunk[0])
            if divergence is None:
                bad = [name for name, v in values.items() if not math.isfinite(v)]
                if bad:
                    divergence = (r.step, bad[0])
            seconds = r.seconds + sync
            values.update(step=r.step, lr_d=r.lr_d, lr_g=r.lr_g, step_time=seconds, d_updates=r.d_updates,
                          g_updates=r.g_updates, samples_per_s=r.batch / seconds if seconds > 0 else np.nan)
            for name, v in values.items():
                table[i, at[name]] = v
        return table, divergence

    # --- live changes ---------------------------------------------------------------------------------
    def apply(self, config: Config) -> list[tuple[str, object, object, str]]:
        """Switch to `config` (only live fields may differ), keeping optimizer state where it can.
        Returns (field, old, new, note) per change."""
        changes = []
        old = self.config
        self.config = config
        for name in (f for f in FIELDS if f in LIVE_FIELDS):
            before, after = getattr(old, name), getattr(config, name)
            if before == after:
                continue
            note = ""
            if name in ("optimizer_d", "optimizer_g"):
                which = name[-1]
                setattr(self, f"opt_{which}", self._optimizer(which))
                note = "new optimizer, its state starts fresh"
            elif name in ("lr_d", "lr_g", "beta1", "beta2"):
                self._update_hyperparameters()
            elif name == "loss":
                self.objective = OBJECTIVES[after]
            changes.append((name, before, after, note))
        return changes

    def _update_hyperparameters(self) -> None:
        c = self.config
        for opt, lr in ((self.opt_d, c.lr_d), (self.opt_g, c.lr_g)):
            for group in opt.param_groups:
                group["lr"] = lr
                if "betas" in group:
                    group["betas"] = (c.beta1, c.beta2)

    # --- state for rollback and checkpoints ------------------------------------------------------------
    def state(self) -> dict:
        """Everything needed to continue: weights, optimizer state, step counters (tensors are copies)."""
        return _clone({"g": self.g.state_dict(), "d": self.d.state_dict(), "opt_g": self.opt_g.state_dict(),
                       "opt_d": self.opt_d.state_dict(), "step": self.step, "d_updates": self.d_updates,
                       "g_updates": self.g_updates, "rng": self.rng.get_state()})

    def load_state(self, state: dict, counters: bool = True) -> None:
        self.g.load_state_dict(state["g"])
        self.d.load_state_dict(state["d"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self._update_hyperparameters()  # the live settings win over the restored ones
        if counters:
            self.step, self.d_updates, self.g_updates = state["step"], state["d_updates"], state["g_updates"]
            self.rng.set_state(state["rng"])

    @torch.no_grad()
    def generate(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """Samples for pictures and evaluation, with G in eval mode (batch norm uses its running stats)."""
        self.g.eval()
        try:
            return self.g(z, labels)
        finally:
            self.g.train()


def _skip(name: str, value: Tensor) -> None:
    """The record of an unmeasured D step: hooks may call it, nothing is kept."""


def _layer_slices(groups) -> list[tuple[str, slice]]:
    slices, start = [], 0
    for name, params in groups:
        slices.append((name, slice(start, start + len(params))))
        start += len(params)
    return slices


def _clone(obj):
    if isinstance(obj, Tensor):
        return obj.detach().clone()
    if isinstance(obj, dict):
        return {k: _clone(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clone(v) for v in obj]
    return obj
