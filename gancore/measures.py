"""The registry of measurements: every per-step column and every evaluation number, declared once.

A measurement has a name (its CSV column and snapshot key), a label and unit for charts, whether its axis is
logarithmic, the chart group it is drawn in, and the runs it applies to (a predicate on the run's RunInfo).
The trainer records device values with `Trainer.record(name, tensor)`; the flush decodes them generically by
the measurement's `reduce` (a 0-d value, or the L2 norm of a vector of per-parameter norms). The CSV header,
the live charts, the Compare tab and the CLI summary all read this table: a new measurement with a chart is
one entry here plus the line that computes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .info import RunInfo

Applies = Callable[[RunInfo], bool]


def always(info: RunInfo) -> bool:
    return True


def probabilities(info: RunInfo) -> bool:
    return info.probabilities


def clipped(info: RunInfo) -> bool:
    return info.constraint == "weight clipping"


def penalised(info: RunInfo) -> bool:
    return info.constraint == "gradient penalty"


def toy(info: RunInfo) -> bool:
    return not info.is_image


def images(info: RunInfo) -> bool:
    return info.is_image


def with_modes(info: RunInfo) -> bool:
    return info.n_modes > 0


def conditional(info: RunInfo) -> bool:
    return info.conditional


@dataclass(frozen=True)
class Measure:
    name: str
    label: str
    group: str = ""  # chart group key (CHART_GROUPS); "" for columns no chart draws (counters, clocks)
    unit: str = ""
    log: bool = False
    applies: Applies = always
    reduce: str = "value"  # per step: "value" (a 0-d tensor) or "norm" (L2 norm of a vector of norms)
    host: bool = False  # per step: set by the trainer from host numbers, never fetched from the device
    integer: bool = False  # written without a decimal point (steps, counters)
    dash: str | None = None  # drawing hints for the view: a dotted secondary line ...
    hidden: bool = False  # ... or one shown only when clicked in the legend
    label_probabilities: str = ""  # the label when the scores are probabilities (the D logit gap)
    compare: str = ""  # title in the Compare tab ("" : not offered there)
    summary: bool = False  # evaluation numbers: also in the CLI's summary.json

    def label_for(self, info: RunInfo | None) -> str:
        if self.label_probabilities and info is not None and info.probabilities:
            return self.label_probabilities
        return self.label


@dataclass(frozen=True)
class ChartGroup:
    key: str
    title: str  # "{objective}" is filled from the run's description
    y_title: str
    log: bool = False
    y_range: tuple[float, float] | None = None
    applies: Applies = always
    not_applicable: str = ""  # the note shown when the group does not apply to the run ...
    explained: bool = False  # ... drawn with that note (it teaches something) rather than left out


CHART_GROUPS: dict[str, ChartGroup] = {g.key: g for g in [
    ChartGroup("losses", "Losses ({objective})", "loss"),
    ChartGroup("probabilities", "D(x) and D(G(z))", "probability", y_range=(-0.02, 1.02), applies=probabilities,
               not_applicable="D is a critic, not a probability, with {objective}:<br>see the critic chart",
               explained=True),
    ChartGroup("critic", "Critic estimate vs exact W1", "distance"),
    ChartGroup("gradients", "Gradient norms", "norm (log scale)", log=True),
    ChartGroup("clipping", "Clipped critic weights", "share of weights at ±c", y_range=(-0.02, 1.02),
               applies=clipped, not_applicable="only WGAN with weight clipping clips weights"),
]}

STEP_MEASURES: dict[str, Measure] = {m.name: m for m in [
    Measure("step", "step", host=True, integer=True),
    Measure("time", "seconds since the run began", unit="s", host=True),
    Measure("loss_d", "D loss", "losses"),
    Measure("loss_g", "G loss", "losses", compare="G loss"),
    Measure("d_real", "D(x) real", "probabilities", applies=probabilities),
    Measure("d_fake", "D(G(z)) fake", "probabilities", applies=probabilities),
    Measure("d_accuracy", "D accuracy", "probabilities", applies=probabilities, dash="dot"),
    Measure("w_estimate", "critic E f(real) − E f(fake)", "critic", label_probabilities="D logit gap",
            compare="Critic estimate / D logit gap"),
    Measure("critic_real", "E f(real)", "critic", dash="dot", hidden=True),
    Measure("critic_fake", "E f(fake)", "critic", dash="dot", hidden=True),
    Measure("gp", "gradient penalty", applies=penalised),
    Measure("grad_norm_d", "D", "gradients", log=True, reduce="norm"),
    Measure("grad_norm_g", "G", "gradients", log=True, reduce="norm", compare="G gradient norm"),
    Measure("clip_frac", "share of clipped weights", "clipping", applies=clipped),
    Measure("lr_d", "D learning rate", host=True, log=True),
    Measure("lr_g", "G learning rate", host=True, log=True),
    Measure("step_time", "seconds per step", unit="s", host=True),
    Measure("samples_per_s", "samples per second", host=True),
    Measure("d_updates", "D updates", host=True, integer=True),
    Measure("g_updates", "G updates", host=True, integer=True),
]}
LAYER_PREFIX = "grad_norm_g."  # per-layer G norms, one column per layer: "grad_norm_g.<layer>"
LAYER_MEASURE = Measure(LAYER_PREFIX, "G", "gradients", log=True, reduce="norm", dash="dot")

EVAL_MEASURES: dict[str, Measure] = {m.name: m for m in [
    Measure("modes_total", "modes", applies=with_modes, integer=True, summary=True),
    Measure("modes_covered", "{units} hit", "coverage", applies=with_modes, integer=True, summary=True),
    Measure("modes_covered_strict", "with a fair share", "coverage", applies=with_modes, integer=True,
            summary=True, compare="Modes with a fair share"),
    Measure("hq_fraction", "high quality", "coverage", unit="%", applies=with_modes, summary=True,
            compare="High-quality fraction"),
    Measure("label_accuracy", "label accuracy", "coverage", unit="%", applies=conditional, summary=True),
    Measure("kl_uniform", "KL from uniform", applies=with_modes, summary=True),
    Measure("w1_exact", "exact W1", "critic", applies=toy, summary=True, compare="Exact W1 (lower is better)"),
    Measure("js_grid", "JS on a grid", applies=toy, summary=True),
    Measure("swd", "sliced Wasserstein distance", applies=images, summary=True),
    Measure("fd_features", "Fréchet distance (features)", applies=images, summary=True),
    Measure("seconds", "seconds per evaluation", unit="s"),
]}


def step_measure(name: str) -> Measure:
    """The declaration of a per-step column (per-layer G norms share one)."""
    if name.startswith(LAYER_PREFIX):
        return LAYER_MEASURE
    return STEP_MEASURES[name]


def group_measures(group: str, info: RunInfo | None) -> list[Measure]:
    """The measurements a chart group draws for a run, per-step ones first, in declaration order."""
    found = [m for m in (*STEP_MEASURES.values(), *EVAL_MEASURES.values()) if m.group == group]
    return [m for m in found if info is None or m.applies(info)]


def compared() -> dict[str, Measure]:
    """What the Compare tab offers, by name."""
    return {m.name: m for m in (*EVAL_MEASURES.values(), *STEP_MEASURES.values()) if m.compare}
