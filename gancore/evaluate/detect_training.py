"""Detectors on the per-step metrics: vanishing gradients, D overpowering G, divergence, explosion and a
stalled clipped critic (thresholds as named constants)."""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from ..losses import OBJECTIVES
from .detect_evaluations import coverage_incomplete
from .diagnosis import EARLY_ROWS, RECENT_ROWS, Diagnosis, span, sustained, table

# --- discriminator against generator (metrics) ----------------------------------------------------------
VANISH_RATIO = 100.0  # generator gradient >= 100x below its early level: two orders of magnitude
CONFIDENT_D_FAKE = 0.05  # D is confident when it gives fakes < 5%: minimax G's gradient scales with it
OVERPOWER_D_REAL = 0.95  # D overpowers G when it says > 95% on real data ...
OVERPOWER_D_FAKE = 0.05  # ... and < 5% on fakes, sustained: the game has stopped being a contest

# --- divergence (metrics) -------------------------------------------------------------------------------
ALWAYS_DEFINED = ("loss_d", "loss_g")  # every step that trains the net logs these: NaN there means NaN ...
COUNTED_BY = {"loss_d": "d_updates"}  # ... but a G-only step logs no loss_d ("not measured", not NaN): D's
#                                        loss counts only on rows where D's update counter moved
BOUNDED_COLUMNS = ("loss_d", "loss_g", "critic_real", "critic_fake", "w_estimate", "gp", "grad_norm_d",
                   "grad_norm_g")
EXPLODE_BOUND = 1e6  # no healthy run here comes near |value| 1e6 (float32 BCE tops out near 100)
# Growth is checked on drift-free columns only: a WGAN critic's raw outputs (and so loss_g) may drift by a
# constant without harm, because only their difference matters.
GROWTH_COLUMNS = ("loss_d", "w_estimate", "grad_norm_d", "grad_norm_g")
GROWTH_RATIO = 1e3  # three orders of magnitude above the early level ...
GROWTH_FLOOR = 100.0  # ... and above 100 in absolute terms (a clipped critic's W can grow 1e-4 -> 1e-1)
GROWTH_ROWS = 5  # judged on the median of the last 5 rows, so one spike is not a trend
BLOWN_UP_FIX = "Lower both learning rates (and Adam's beta1), or use WGAN-GP; restart from a fresh run."

# --- explosion (metrics) --------------------------------------------------------------------------------
# An update can overshoot far without overflowing (lr 10: a critic at 4e5, then dead ReLUs and a run that
# "completes"); by the end the values may be small again, so the peak of the whole history counts. Only the
# drift-free columns: a WGAN critic's raw outputs may drift far by a constant without harm.
EXPLOSION_COLUMNS = ("loss_d", "w_estimate", "gp", "grad_norm_d", "grad_norm_g")
EXPLOSION_BOUND = 1e4  # |value| above 1e4 at any logged step: healthy presets stay orders of magnitude below
#                        (checked over every preset), an overshooting update at lr 10 reaches 1e5-1e8

# --- clipped critic (metrics, loss "wgan") --------------------------------------------------------------
CLIP_FRAC_STALLED = 0.9  # 90% of the critic's weights at +-c: clipping, not learning, sets the critic
W_TINY_CLIP_RATIO = 1e-2  # |W estimate| < 1% of c: an MLP critic with random-sign +-c weights outputs
#                           about that little, so the critic separates nothing


def detect_vanishing_gradients(metrics: Mapping[str, np.ndarray], loss: str) -> Diagnosis | None:
    """grad_norm_g >= VANISH_RATIO below its early level, sustained, while D is confident (if it reports D(fake))."""
    steps, cols = table(metrics, ("grad_norm_g", "d_fake"))
    g, d_fake = cols["grad_norm_g"], cols["d_fake"]
    finite = g[np.isfinite(g)]
    if finite.size < EARLY_ROWS:
        return None
    early = float(np.median(finite[:EARLY_ROWS]))
    if not early > 0:
        return None
    with np.errstate(invalid="ignore"):
        # where D reports D(fake) it must be confident; rows without it (WGAN & co.) use the gradient alone
        cond = (g < early / VANISH_RATIO) & ~(d_fake >= CONFIDENT_D_FAKE)
    start = sustained(cond)
    if start is None:
        return None
    now = float(np.nanmedian(g[start:])) if np.any(np.isfinite(g[start:])) else math.nan
    since = int(steps[start])
    confident = ""
    if np.any(np.isfinite(d_fake[start:])):
        confident = f" while D gives fakes {np.nanmedian(d_fake[start:]):.0e}"
    if loss == "minimax":
        why = ("D rejects the fakes with confidence, and there log(1 - D(G(z))) is flat, so almost no gradient "
               "reaches the generator (Goodfellow et al. 2014, sec. 3).")
        fix = "Switch to the non-saturating loss or WGAN-GP, or lower D's learning rate."
    else:
        why = ("D has become so sure about the fakes that its output barely changes when G moves them, so the "
               "generator gets almost no gradient (Arjovsky & Bottou 2017).")
        fix = "Lower D's learning rate or its steps per iteration (n_critic), or try WGAN-GP."
    return Diagnosis(
        kind="vanishing_gradients",
        severity="error",
        title=(f"Vanishing generator gradients: |grad G| {early:.0e} -> {now:.0e}{confident} "
               f"{span(since, steps[-1])}"),
        explanation=why,
        suggestion=fix,
        since_step=since,
    )


def detect_d_overpowering(metrics: Mapping[str, np.ndarray]) -> Diagnosis | None:
    """D(real) > OVERPOWER_D_REAL and D(fake) < OVERPOWER_D_FAKE, sustained (probability losses only)."""
    steps, cols = table(metrics, ("d_real", "d_fake"))
    with np.errstate(invalid="ignore"):
        cond = (cols["d_real"] > OVERPOWER_D_REAL) & (cols["d_fake"] < OVERPOWER_D_FAKE)
    start = sustained(cond)
    if start is None:
        return None
    since = int(steps[start])
    d_real, d_fake = np.nanmedian(cols["d_real"][start:]), np.nanmedian(cols["d_fake"][start:])
    return Diagnosis(
        kind="d_overpowering",
        severity="warning",
        title=f"D overpowering G: D(real) {_prob(d_real)}, D(fake) {_prob(d_fake)} {span(since, steps[-1])}",
        explanation=("The discriminator tells real from fake almost perfectly, so the game has stopped being a "
                     "contest: its verdicts saturate and carry little information the generator can follow."),
        suggestion="Lower D's learning rate or n_critic, raise G's, or switch to WGAN-GP.",
        since_step=since,
    )


def detect_divergence(metrics: Mapping[str, np.ndarray]) -> Diagnosis | None:
    """Non-finite losses, any infinite value, |value| > EXPLODE_BOUND, or growth by GROWTH_RATIO, recently."""
    steps, cols = table(metrics, BOUNDED_COLUMNS + tuple(COUNTED_BY.values()))
    n = steps.size
    if n == 0:
        return None
    lo = max(0, n - RECENT_ROWS)
    bad = np.zeros(n, dtype=bool)
    reason = ""
    for name in BOUNDED_COLUMNS:
        v = cols[name]
        with np.errstate(invalid="ignore"):
            hit = np.isinf(v) | (np.abs(v) > EXPLODE_BOUND)
        if name in ALWAYS_DEFINED:  # NaN after a finite value: it became NaN (an all-NaN column is unlogged)
            hit |= np.isnan(v) & np.maximum.accumulate(np.isfinite(v)) & _measured(cols, name)
        if hit[lo:].any() and not reason:
            i = lo + int(np.argmax(hit[lo:]))
            reason = f"{name} reached {v[i]:.3g}" if np.isfinite(v[i]) else f"{name} became {v[i]}"
        bad |= hit
    if not reason:
        for name in GROWTH_COLUMNS:
            grown = _growth(cols[name])
            if grown is not None:
                early, now = grown
                reason = f"|{name}| grew from {early:.2g} to {now:.3g}"
                bad[max(0, n - GROWTH_ROWS):] = True
                break
    if not reason:
        return None
    first = lo + int(np.argmax(bad[lo:]))
    good_before = np.flatnonzero(~bad[:first])
    start = int(good_before[-1]) + 1 if good_before.size else 0  # start of the bad stretch holding `first`
    since = int(steps[start])
    return Diagnosis(
        kind="divergence",
        severity="error",
        title=f"Divergence: {reason} (since step {since})",
        explanation=("Training has blown up: an update overshot and the values feed back on themselves until they "
                     "overflow. Once a NaN appears every later update is NaN too."),
        suggestion=BLOWN_UP_FIX,
        since_step=since,
    )


def detect_explosion(metrics: Mapping[str, np.ndarray]) -> Diagnosis | None:
    """A drift-free column's |value| exceeded EXPLOSION_BOUND at some logged step (finite: not a divergence)."""
    steps, cols = table(metrics, EXPLOSION_COLUMNS)
    peaks = []
    for name in EXPLOSION_COLUMNS:
        with np.errstate(invalid="ignore"):
            over = np.flatnonzero(np.isfinite(cols[name]) & (np.abs(cols[name]) > EXPLOSION_BOUND))
        if over.size:
            peaks.append((int(over[0]), name))
    if not peaks:
        return None
    first, name = min(peaks)  # the column that crossed first: where the overshoot began
    v = np.abs(cols[name])
    peak = int(np.nanargmax(v))
    now = float(np.nanmedian(v[-GROWTH_ROWS:])) if np.isfinite(v[-GROWTH_ROWS:]).any() else math.nan
    since = int(steps[first])
    return Diagnosis(
        kind="explosion",
        severity="error",
        title=(f"Exploded: |{name}| reached {v[peak]:.2g} at step {int(steps[peak])} (now {now:.2g}; "
               f"healthy runs stay below {EXPLOSION_BOUND:.0e}) since step {since}"),
        explanation=("An update overshot: the networks' outputs and gradients grew by orders of magnitude. Nothing "
                     "overflowed, so training went on, but what it learned since is not a GAN's game any more: "
                     "the nets may have saturated or died (zero gradients) even if the numbers look calm now."),
        suggestion=BLOWN_UP_FIX,
        since_step=since,
    )


def detect_critic_stalled(metrics: Mapping[str, np.ndarray], evals: Mapping[str, np.ndarray], loss: str, *,
                          clip: float | None = None) -> Diagnosis | None:
    """Loss "wgan": most weights pinned at +-c, or (clip known) |W| < W_TINY_CLIP_RATIO * c while modes are missing."""
    objective = OBJECTIVES.get(loss)
    if objective is None or objective.constraint is None:
        return None
    steps, cols = table(metrics, ("clip_frac", "w_estimate"))
    with np.errstate(invalid="ignore"):
        pinned = cols["clip_frac"] >= CLIP_FRAC_STALLED
    start = sustained(pinned)
    if start is not None:
        share = float(np.nanmedian(cols["clip_frac"][start:]))
        head = f"{share:.0%} of the critic's weights sit at +-c"
    elif clip is not None and clip > 0 and coverage_incomplete(evals):
        with np.errstate(invalid="ignore"):
            start = sustained(np.abs(cols["w_estimate"]) < W_TINY_CLIP_RATIO * clip)
        if start is None:
            return None
        head = f"W estimate {np.nanmedian(cols['w_estimate'][start:]):.1e} with clip c = {clip:g}"
    else:
        return None
    since = int(steps[start])
    return Diagnosis(
        kind="critic_stalled",
        severity="warning",
        title=f"Clipped critic stalled: {head} {span(since, steps[-1])}",
        explanation=("Weight clipping has pushed the critic's weights against the bound, so the critic can only be "
                     "a very simple function: its Wasserstein estimate and its gradients stop improving "
                     "(Gulrajani et al. 2017, sec. 3)."),
        suggestion="Switch to WGAN-GP (a gradient penalty instead of clipping), or raise the clip bound c.",
        since_step=since,
    )


def _measured(cols: Mapping[str, np.ndarray], name: str) -> np.ndarray:
    """Rows on which `name` was measured: where its counter moved (every row when the counter is absent)."""
    counter = cols.get(COUNTED_BY.get(name, ""))
    if counter is None or not np.isfinite(counter).any():
        return np.ones(len(cols[name]), dtype=bool)
    return np.diff(counter, prepend=-np.inf) > 0


def _growth(v: np.ndarray) -> tuple[float, float] | None:
    """(early, now) when |v| now is GROWTH_RATIO above its early level and above GROWTH_FLOOR."""
    finite = np.abs(v[np.isfinite(v)])
    if finite.size < EARLY_ROWS + GROWTH_ROWS:
        return None
    recent = np.abs(v[-GROWTH_ROWS:])
    if not np.all(np.isfinite(recent)):
        return None
    early, now = float(np.median(finite[:EARLY_ROWS])), float(np.median(recent))
    if now > GROWTH_FLOOR and now > GROWTH_RATIO * early:
        return early, now
    return None


def _prob(p: float) -> str:
    """A probability for a title: two decimals, or scientific notation when that would print 0.00."""
    return f"{p:.2f}" if p >= 0.005 else f"{p:.0e}"
