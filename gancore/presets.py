"""Presets: the phenomena a GAN class should see, each a bundle of settings with what to watch for.

Every preset names the measurement that proves its phenomenon (`criterion`, checked by `shows`) so the
tests and the time-to-phenomenon benchmark hold the presets to their promise.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from .config import Config
from .evaluate.diagnose import diagnose_snapshot
from .metrics import Snapshot

if TYPE_CHECKING:
    from .run import Run


PRESENTED = ("samples", "coverage", "losses")  # the presenter view of custom settings


@dataclass(frozen=True)
class Fix:
    """The live change a preset's text suggests, and the measurement that says it worked: one button on the
    page, and a test that applies it once the phenomenon shows (`demonstrate(..., fix=True)`)."""
    label: str  # the button: "Switch to WGAN-GP (5 critic steps)"
    changes: tuple[tuple[str, Any], ...]  # live settings, applied at once
    criterion: str
    recovered: Callable[[Snapshot, Snapshot], bool]  # (the run as the change was made, the run now)
    within_steps: int  # steps after the change
    step: tuple[str, int] | None = None  # a step plan after the change, else Start

    def apply(self, run: "Run") -> Snapshot:
        """Make the change on `run` between two steps, then its step plan or Start; returns the run as it
        was at the change, which `recovered` compares against. A step budget that would end before the
        fix's steps are done is lifted, so the fix gets to show (the page's button and the tests use this)."""
        run.pause()  # an exact "before", and a running step plan (Train D x1000) would keep the step waiting
        run.wait(timeout=10.0)
        before = run.snapshot()
        steps = run.config.steps
        run.set(**dict(self.changes), **({"steps": 0} if steps and before.step + self.within_steps > steps else {}))
        run.step(*self.step) if self.step else run.start()
        return before


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    explanation: str  # what the class should watch for, and why it happens
    config: Config
    criterion: str  # the measurable form of the phenomenon
    check: Callable[[Snapshot], bool]
    action: tuple[str, int] | None = None  # a step plan instead of Start: ("d", 1000) = train D alone
    within_steps: int = 0  # the phenomenon shows within this many steps (tests check it on 2 seeds)
    charts: tuple[str, ...] = PRESENTED  # what a projector shows: "samples", "histogram", "heatmap",
    #                                      "coverage" or a chart group of gancore.measures
    short: str = ""  # its name in a picker, where the title would be cut (the title heads "What to watch")
    fix: Fix | None = None  # the live change that undoes the phenomenon, where the text suggests one

    def matches(self, config: Config) -> bool:
        """Whether a run still has this preset's settings (how long it trains does not change what it shows)."""
        return config.replace(steps=self.config.steps) == self.config

    def fixed(self, config: Config) -> bool:
        """Whether a run has this preset's settings with its fix applied (the page then says so)."""
        return self.fix is not None and \
            config.replace(steps=self.config.steps) == self.config.replace(**dict(self.fix.changes))

    def shows(self, snapshot: Snapshot) -> bool:
        """Whether the snapshot shows the phenomenon (False while the measurements are not there yet). A
        check that raises is a bug, and surfaces as one."""
        return bool(self.check(snapshot))


def _recent(s: Snapshot, name: str, n: int = 20) -> float:
    return float(np.nanmedian(s.columns[name][-n:]))


def _diagnosed(*kinds: str) -> Callable[[Snapshot], bool]:
    """The engine's own detectors (gancore.evaluate.diagnose, as the page's banners) report one of `kinds`.
    Recomputed on the snapshot, so a check never waits for the evaluator's next diagnosis tick."""
    return lambda s: any(d.kind in kinds for d in diagnose_snapshot(s, s.config.get("clip")))


def _sharp_but_incomplete(s: Snapshot, evaluations: int = 5) -> bool:
    """Half or more of the samples are sharp (within 3 std of a mode), yet some mode misses its fair share
    (the strict coverage) in each of the last `evaluations`: quality without coverage."""
    e = s.evaluations
    if len(e) < evaluations:
        return False
    recent = slice(-evaluations, None)
    return bool(np.all(e["hq_fraction"][recent] >= 0.5) and
                np.all(e["modes_covered_strict"][recent] < e["modes_total"][recent]))


def _collapsing(s: Snapshot) -> bool:
    return _diagnosed("mode_collapse", "mode_hopping")(s) or _sharp_but_incomplete(s)


def _stuck_far(s: Snapshot) -> bool:
    e = s.evaluations
    return len(e) >= 3 and bool(np.all(e["w1_exact"][-3:] > 4.0)) and _recent(s, "grad_norm_g") < 0.05


def _all_modes(s: Snapshot) -> bool:
    e = s.evaluations
    return len(e) >= 2 and e["modes_covered"][-1] == e["modes_total"][-1] and \
        e["w1_exact"][-1] < 0.5 * e["w1_exact"][0]


def _clip_stalls(s: Snapshot) -> bool:
    e = s.evaluations
    return len(s.columns["w_estimate"]) > 200 and abs(_recent(s, "w_estimate", 50)) < 0.05 and \
        len(e) >= 2 and e["w1_exact"][-1] > 0.5


def _balanced_labels(s: Snapshot) -> bool:
    e = s.evaluations
    return len(e) >= 1 and e["label_accuracy"][-1] >= 0.6 and e["kl_uniform"][-1] < 0.1


def _fits_1d(s: Snapshot, evaluations: int = 5) -> bool:
    """The median W1 of the last 5 evaluations: one evaluation of a fitted 1-D G jumps between 0.02 and 0.5
    (seed 6 at step 3,000: 0.044, 0.173, 0.497), and the lowest W1 ever reached said "showing" next to a
    W1 of 0.47 once G had drifted off for good."""
    e = s.evaluations
    return len(e) >= evaluations and float(np.median(e["w1_exact"][-evaluations:])) < 0.1


def _gradient_back(before: Snapshot, now: Snapshot) -> bool:
    g = now.columns["grad_norm_g"]
    return len(g) > len(before.columns["grad_norm_g"]) and g[-1] >= 100 * _recent(before, "grad_norm_g", 5)


def _walks_to_target(before: Snapshot, now: Snapshot) -> bool:
    e = now.evaluations
    return len(e) > len(before.evaluations) and e["w1_exact"][-1] < 1.0 and _recent(now, "grad_norm_g", 5) > 0.05


def _balanced(before: Snapshot, now: Snapshot) -> bool:
    return now.step - before.step >= 50 and _recent(now, "d_fake") > 0.2 and \
        not _diagnosed("d_overpowering", "divergence")(now)


def _covers_again(before: Snapshot, now: Snapshot) -> bool:
    e, b = now.evaluations, before.evaluations
    return len(e) - len(b) >= 2 and bool(np.all(e["modes_covered"][-2:] == e["modes_total"][-2:])) and \
        e["w1_exact"][-1] < 0.5 * b["w1_exact"][-1]


RING = Config(dataset="ring", latent_dim=16, batch_size=256, beta1=0.5)
DIGITS_MLP = Config(dataset="digits", width=512, depth=2, activation="leaky_relu", latent_dim=64, batch_size=64,
                    lr_d=1e-3, lr_g=1e-3, beta1=0.5, eval_every=100)

PRESETS: dict[str, Preset] = {p.name: p for p in [
    Preset(
        "mode-hopping", "Mode collapse and mode hopping on a ring of 8 Gaussians",
        "A standard GAN (non-saturating loss, Adam 1e-3) on 8 well-separated modes. Watch the per-mode "
        "histogram: the generator covers a few modes at a time, and the modes it covers keep changing "
        "(the class-by-time heatmap shows bands jumping). D learns to reject the modes G sits on, G flees "
        "to modes D currently accepts, and nothing in the game rewards covering all of them at once. Then "
        "switch to WGAN-GP with its recipe (penalty 0.1, 5 critic steps per G step, Adam betas (0.5, 0.9)) "
        "and watch the coverage.",
        RING.replace(loss="nonsaturating", lr_d=1e-3, lr_g=1e-3, steps=0, eval_every=200),  # until paused
        "the mode-collapse or mode-hopping detector fires, or for 5 evaluations in a row at least half the "
        "samples are sharp yet some mode misses its fair share",
        _collapsing,
        short="Mode hopping on a ring", within_steps=4000, charts=("samples", "heatmap", "histogram", "coverage"),
        fix=Fix("Switch to WGAN-GP (5 critic steps)",
                (("loss", "wgan-gp"), ("gp_lambda", 0.1), ("n_critic", 5), ("beta2", 0.9)),
                "every mode hit in two evaluations in a row, and the exact W1 half what it was at the switch",
                _covers_again, within_steps=1500)),
    Preset(
        "vanishing-frozen-g", "Vanishing gradients: freeze G, train D, watch G's gradient die",
        "Train only the discriminator (press 'Train D x1000'): it learns to reject the generator's samples "
        "with confidence, D(G(z)) -> 0. With the saturating loss log(1 - D(G(z))) the generator's gradient "
        "norm falls by orders of magnitude (log axis): a perfect D gives G nothing to learn from. Then switch "
        "the loss to non-saturating (-log D(G(z))) and step once: the gradient comes back, large.",
        RING.replace(loss="minimax", lr_d=1e-3, steps=0, eval_every=250),
        "the vanishing-gradient detector fires: grad_norm_g 100x below its early level, sustained, while D "
        "is confident",
        _diagnosed("vanishing_gradients"), action=("d", 1000),
        short="Vanishing gradients: D only", within_steps=1000,
        charts=("samples", "gradients", "probabilities"),
        fix=Fix("Switch to non-saturating, step once", (("loss", "nonsaturating"),),
                "G's gradient norm at the next iteration is 100x or more what it was", _gradient_back,
                within_steps=1, step=("iteration", 1))),
    Preset(
        "vanishing-saturating", "Vanishing gradients in full training: the saturating loss never moves G",
        "One Gaussian far from where the generator starts, SGD for both nets and 5 D steps per G step. With "
        "the original minimax loss the generator never gets going: W1 stays large and G's gradient norm is "
        "tiny because D rejects every fake confidently. Switch the loss to non-saturating: the same gradient "
        "signal is now strong and G walks to the target in a few dozen iterations.",
        Config(dataset="blob", loss="minimax", optimizer_d="sgd", optimizer_g="sgd", lr_d=0.05, lr_g=0.05,
               n_critic=5, latent_dim=16, batch_size=256, steps=2000, eval_every=50),
        "W1 stays above 4 and grad_norm_g below 0.05",
        _stuck_far,
        short="Saturating loss: G stuck", within_steps=300, charts=("samples", "gradients", "critic"),
        fix=Fix("Switch the loss to non-saturating", (("loss", "nonsaturating"),),
                "the exact W1 falls below 1 (from above 4) with G's gradient norm above 0.05", _walks_to_target,
                within_steps=200)),
    Preset(
        "wgan-gp", "WGAN-GP covers every mode",
        "The Wasserstein objective with a gradient penalty (lambda 0.1 as in the paper's toy runs, 5 critic "
        "steps, Adam with betas (0.5, 0.9); lr 5e-4 rather than the paper's 1e-4, so it shows in seconds). The critic's estimate E f(real) - E f(fake) falls together "
        "with the exact W1, and samples appear near all 8 modes: the critic keeps giving useful gradients "
        "everywhere, so the generator has no reason to drop modes. Early on many samples sit on the ring "
        "between modes: coverage and quality are two different numbers.",
        RING.replace(loss="wgan-gp", gp_lambda=0.1, n_critic=5, lr_d=5e-4, lr_g=5e-4, beta2=0.9, steps=3000,
                     eval_every=100),
        "all 8 modes hit and the exact W1 halved",
        _all_modes,
        short="WGAN-GP covers every mode", within_steps=800, charts=("samples", "critic", "coverage", "histogram")),
    Preset(
        "wgan-clip", "WGAN with weight clipping: why the gradient penalty exists",
        "The original WGAN keeps its critic Lipschitz by clipping every weight to [-0.01, 0.01] (RMSprop "
        "5e-5, 5 critic steps). Watch the critic's estimate: it sits near 0 for hundreds of iterations while "
        "the exact W1 stays large, and the clipped-weights share climbs: a clipped critic is a weak critic, "
        "so learning is slow. Its estimate is only proportional to W1 (by an unknown Lipschitz constant).",
        RING.replace(loss="wgan", clip=0.01, optimizer_d="rmsprop", optimizer_g="rmsprop", lr_d=5e-5,
                     lr_g=5e-5, n_critic=5, steps=3000, eval_every=100),
        "|critic estimate| < 0.05 while the exact W1 stays above 0.5",
        _clip_stalls,
        short="WGAN with weight clipping", within_steps=400, charts=("samples", "critic", "clipping")),
    Preset(
        "cgan-digits", "Conditional GAN on digits: every class, on demand",
        "G and D both see the digit's label (G: one-hot next to z; D: a projection discriminator, which "
        "learns the conditioning much faster than concatenation here). Each row of the sample grid is one "
        "asked-for class; the classifier's agreement with the asked label climbs and the class histogram "
        "goes flat: conditioning takes the choice of mode away from the generator, so it cannot collapse "
        "onto a few digits.",
        DIGITS_MLP.replace(conditional=True, cond_d="projection", steps=3000),
        "label accuracy >= 0.6 with a class histogram within KL 0.1 of uniform",
        _balanced_labels,
        short="Conditional GAN on digits", within_steps=600, charts=("samples", "coverage", "histogram")),
    Preset(
        "unbalanced-lr", "Unbalanced learning rates: the discriminator overpowers",
        "D learns 1000x faster than G (lr 1e-3 vs 1e-6). D quickly separates real from fake: D(x) -> 1, "
        "D(G(z)) -> 0, and G, moving in tiny steps, cannot catch up. Raise lr_g live (to 1e-3) and watch "
        "the game come back into balance.",
        # lr_g 1e-6, not 1e-5: at 1e-5 Adam's steady steps brought G onto a few modes by step ~600 (a collapse,
        # no longer D winning); at 1e-6 D still wins at 3,000 steps, and raising lr_g to 1e-3 balances it
        RING.replace(loss="nonsaturating", lr_d=1e-3, lr_g=1e-6, steps=3000),
        "the D-overpowering detector fires: D(x) > 0.95 and D(G(z)) < 0.05, sustained",
        _diagnosed("d_overpowering"),
        short="Unbalanced learning rates", within_steps=600, charts=("samples", "probabilities", "losses"),
        fix=Fix("Raise lr_g to 1e-3", (("lr_g", 1e-3),),
                "D(G(z)) back above 0.2 (median of the last 20 steps), with no D-overpowering or divergence "
                "banner", _balanced, within_steps=300)),
    Preset(
        "gauss1d", "1-D: data density, generator density and D(x)",
        "The classic picture of the GAN paper: p_data (grey), the generator's density (red), D(x), and the "
        "optimal discriminator p_data / (p_data + p_g) for the current G. D tracks the optimum while G's "
        "density moves onto the data; as they meet, D(x) flattens towards 1/2 everywhere. Set modes to 2 "
        "for a new run and watch G settle on one mode: mode collapse in one dimension.",
        # at 1e-3 G fitted by step 100, then drifted to a W1 of 0.2-0.8 and back; at 2e-4 seeds 0 and 6 drifted
        # to a median W1 of 0.19-0.21 by step 3,000; at 1e-4 seeds 0, 1, 5, 6 fit by step 400 and stay under 0.08
        Config(dataset="gauss1d", modes=1, loss="nonsaturating", lr_d=1e-4, lr_g=1e-4, steps=3000,
               eval_every=100),
        "the exact W1, median of the last 5 evaluations, is below 0.1 (a quarter of the data's std)",
        _fits_1d,
        short="1-D densities and D(x)", within_steps=1500, charts=("samples", "critic", "losses")),
]}

DEFAULT_PRESET = "mode-hopping"
CONTRAST_PRESET = "wgan-gp"  # what a comparison sets against the current run by default


@dataclass(frozen=True)
class Demonstration:
    preset: str
    seed: int
    shown: bool
    step: int  # the step at which the phenomenon was first seen (or the last step trained)
    seconds: float  # wall time from start to that moment
    snapshot: Snapshot
    recovered: bool | None = None  # with fix=True: whether the preset's fix worked within its steps
    fix_steps: int = 0  # steps from the fix to the recovery (or to the end of its budget)


def demonstrate(preset: Preset, seed: int = 0, *, max_steps: int | None = None, timeout: float = 120.0,
                poll: float = 0.05, fix: bool = False, **changes) -> Demonstration:
    """Run a preset headless (its action, or Start) until its phenomenon shows or `max_steps` pass
    (default: the preset's `within_steps`); with `fix`, then apply the preset's fix and train until it
    recovers or its steps pass. Tests and the time-to-phenomenon benchmark share this."""
    import time

    from .evaluate.evaluator import Evaluator
    from .run import Run

    steps = max_steps or preset.within_steps
    run = Run(preset.config.replace(seed=seed, steps=steps, **changes), hooks=[Evaluator()])
    started = time.monotonic()
    try:
        if preset.action:
            run.step(preset.action[0], min(preset.action[1], steps))
        else:
            run.start()
        shown = _until(run, preset.shows, lambda s: run.wait(timeout=0), started + timeout, poll)
        snapshot = run.snapshot() if not shown else shown
        result = Demonstration(preset.name, seed, bool(shown), snapshot.step, time.monotonic() - started, snapshot)
        if not (fix and shown and preset.fix):
            return result
        cure = preset.fix
        before = cure.apply(run)
        deadline = time.monotonic() + timeout
        done = _until(run, lambda s: cure.recovered(before, s),
                      lambda s: s.step - before.step >= cure.within_steps or run.wait(timeout=0), deadline, poll)
        after = done or run.snapshot()
        return dataclasses.replace(result, recovered=bool(done) or cure.recovered(before, after),
                                   fix_steps=after.step - before.step, snapshot=after)
    finally:
        run.stop()


def _until(run, success: Callable[[Snapshot], bool], over: Callable[[Snapshot], bool], deadline: float,
           poll: float) -> Snapshot | None:
    """The first snapshot where `success` holds; None once `over` holds (checked first, so a last
    snapshot is judged after the run went idle) or the deadline passed."""
    import time
    while True:
        snapshot = run.snapshot()
        finished = over(snapshot)
        if finished:
            snapshot = run.snapshot()
        if success(snapshot):
            return snapshot
        if finished or time.monotonic() > deadline:
            return None
        time.sleep(poll)
