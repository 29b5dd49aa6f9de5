"""The cells of a sweep: grid axes parsed and validated like `train`'s flags, one Config per (cell, seed),
and the two sweeps the course asks for as presets.

Every value of every axis is checked against the base config before anything runs, so a typo exits with
one line instead of costing a cluster's worth of failed runs.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from .config import FIELDS, Config, ConfigError

ALIASES = {"optimizer": ("optimizer_d", "optimizer_g")}  # as train's --optimizer: both nets at once


@dataclass(frozen=True)
class Axis:
    name: str  # a Config field, or an alias of ALIASES
    values: tuple[Any, ...]  # coerced by Config: 2e-4 and "0.0002" are the same value


@dataclass(frozen=True)
class Cell:
    """One run of the sweep: its grid values, its seed and its validated config."""
    values: tuple[tuple[str, Any], ...]
    seed: int
    config: Config

    @property
    def name(self) -> str:
        """The run directory's name, from the grid values and the seed (readable, and stable across runs)."""
        return ",".join(f"{k}={value_text(v)}" for k, v in self.values) + f",seed={self.seed}"


@dataclass(frozen=True)
class SweepPreset:
    name: str
    title: str
    explanation: str  # what the map shows
    base: dict[str, Any]  # settings on top of the config defaults
    grid: tuple[str, ...]  # as --grid takes them


SWEEP_PRESETS = {p.name: p for p in (
    SweepPreset(
        "lr-balance", "D and G learning rates on the ring (non-saturating)",
        "Each cell trains the 8-mode ring for 1,500 iterations with one pair of learning rates. Read it by rows: "
        "with a slow D (1e-4, 3e-4) G has not reached the data yet in that budget (too few sharp samples to "
        "judge); with the fastest D a slower G collapses onto one or two modes; the fast, equal pair covers the "
        "most modes with a fair share. Equal rates alone are not enough: in a fixed budget the pace matters too. "
        "The spread over seeds (min-max) shows how much of a cell is luck.",
        {"dataset": "ring", "loss": "nonsaturating", "steps": 1500, "width": 64, "depth": 2, "eval_every": 250},
        ("lr_d=0.0001,0.0003,0.001,0.003", "lr_g=0.0001,0.0003,0.001,0.003")),
    SweepPreset(
        "critic-steps", "D steps per G step against G steps per iteration",
        "Each cell trains the ring for 1,000 iterations of n_critic D updates and g_steps G updates. Read the "
        "rows: with one D step per iteration G has not reached the data yet in that budget; with 2 D steps, "
        "more G steps make it worse (G runs ahead of a D that cannot keep up); with 5 D steps more G steps "
        "help, up to the corner that covers the most modes. More updates per iteration is also more training: "
        "compare cells with the same number of updates to tell balance from budget.",
        {"dataset": "ring", "loss": "nonsaturating", "steps": 1000, "width": 64, "depth": 2, "eval_every": 250},
        ("n_critic=1,2,5", "g_steps=1,2,5")),
)}


def parse_axis(text: str, base: Config) -> Axis:
    """`NAME=V1,V2,...`, each value checked against `base`. Raises ConfigError("grid", one line)."""
    name, sep, values = text.partition("=")
    name = name.strip().lstrip("-").replace("-", "_")
    if not sep or not name or not values.strip():
        raise ConfigError("grid", f"{text!r}: expected NAME=V1,V2,... (e.g. lr_d=1e-4,1e-3)")
    if name not in FIELDS and name not in ALIASES:
        raise ConfigError("grid", f"{text!r}: unknown setting {name!r} (see `python -m gancore train --help`)")
    if name == "seed":
        raise ConfigError("grid", "sweep seeds with --seeds 0 1 2, not --grid seed=...")
    coerced = []
    for raw in (v.strip() for v in values.split(",")):
        try:
            coerced.append(getattr(_apply(base, name, raw), _fields(name)[0]))
        except ConfigError as exc:
            raise ConfigError("grid", f"{name}={raw}: {exc.message}") from None
    if len(set(map(repr, coerced))) != len(coerced):
        raise ConfigError("grid", f"{text!r}: a value is repeated")
    return Axis(name, tuple(coerced))


def cells(base: Config, axes: list[Axis], seeds: list[int]) -> list[Cell]:
    """Every combination of the axes, for every seed; a combination the config refuses (e.g. a DCGAN on
    the ring) raises ConfigError("grid", one line naming it) before anything runs."""
    names = [a.name for a in axes]
    if len(set(names)) != len(names):
        raise ConfigError("grid", f"an axis is given twice: {', '.join(names)}")
    out = []
    for combo in itertools.product(*(a.values for a in axes)):
        values = tuple(zip(names, combo))
        for seed in seeds:
            config = base
            try:
                for name, value in values:
                    config = _apply(config, name, value)
                config = config.replace(seed=seed)
            except ConfigError as exc:
                where = ",".join(f"{k}={value_text(v)}" for k, v in values)
                raise ConfigError("grid", f"{where}, seed {seed}: {exc.field}: {exc.message}") from None
            out.append(Cell(values, seed, config))
    return out


def _fields(name: str) -> tuple[str, ...]:
    return ALIASES.get(name, (name,))


def _apply(config: Config, name: str, value: Any) -> Config:
    return config.replace(**{f: value for f in _fields(name)})


def value_text(value: Any) -> str:
    """A grid value as run names and sweep.csv write it (2e-4 as 0.0002, not 0.00020000000000000001)."""
    return f"{value:g}" if isinstance(value, float) else str(value)
