"""Rule-based diagnoses of a training run that a student can read and check by hand.

Inputs are the logged columns: `metrics` (one row per logged step: "step", loss_d, loss_g, d_real, d_fake,
critic_real, critic_fake, w_estimate, gp, grad_norm_d, grad_norm_g, clip_frac; NaN where a column does
not apply) and `evals` (one row per evaluation: "step", modes_covered, modes_total, hq_fraction,
kl_uniform, histogram (E, K)). Each detector is one small function with its thresholds as named constants
below; each returns a `Diagnosis` or None and never raises on empty, short or NaN-filled histories.

"Sustained" means: the condition held on a trailing stretch of at least SUSTAIN_ROWS logged rows, where
every trailing part of that stretch at least TOLERANCE_MIN_ROWS long missed it on at most MISS_TOLERANCE
of its rows (so one noisy mini-batch neither starts nor ends a diagnosis).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ..losses import OBJECTIVES

# --- shared windows -------------------------------------------------------------------------------------
EARLY_ROWS = 20  # "early level" = median of the first 20 finite values: averages mini-batch noise, and
#                  is over long before a collapse (runs log hundreds to thousands of rows)
SUSTAIN_ROWS = 25  # a row-level condition must last >= 25 logged rows: several times any noise burst
MISS_TOLERANCE = 0.1  # up to 10% of rows may miss the condition (noisy mini-batches) without ending it
TOLERANCE_MIN_ROWS = 10  # the 10% is judged on trailing stretches of >= 10 rows: shorter ones are noise
RECENT_ROWS = 50  # divergence looks at the last 50 rows: the "now" of the dashboard

# --- mode collapse (evaluations) ------------------------------------------------------------------------
SUSTAIN_EVALS = 3  # the last 3 evaluations (each of 2,500 samples) must agree: not one bad frame
COLLAPSE_COVERED_SHARE = 0.5  # collapse: at most half of the modes hold a high-quality sample
# ... or the HQ histogram is far from uniform: KL(p || U) = log K - H(p) > log 2 means the samples are
# spread like on fewer than K/2 equally used modes (perplexity e^H < K/2): the same "half" as above.
COLLAPSE_KL = math.log(2.0)
COLLAPSE_ERROR_SHARE = 0.25  # an error, not a warning, when at most a quarter of the modes are covered
MIN_HQ_FRACTION = 0.1  # below 10% HQ samples G has not reached the data yet: low coverage means "not
#                        there yet", not collapse (and the histogram of a few points is noise)

# --- mode hopping (evaluations) -------------------------------------------------------------------------
HOP_WINDOW_EVALS = 5  # look at the last 5 evaluations, i.e. 4 transitions
DOMINANT_SHARE = 0.5  # the dominant modes of an evaluation hold >= half the count of its fullest mode
#                       (a generator spread evenly over m modes has all m dominant: no false hops)
HOP_MAX_DOMINANT_SHARE = 0.5  # coverage is partial: at most half of the modes are dominant
HOP_JACCARD = 0.5  # consecutive dominant sets sharing less than half their union count as a hop
HOP_MIN_FRACTION = 0.75  # a hop in at least 3 of the 4 transitions

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


@dataclass(frozen=True)
class Diagnosis:
    kind: str  # "mode_collapse", "mode_hopping", "vanishing_gradients", "d_overpowering", "divergence",
    #            "explosion", "critic_stalled"
    severity: str  # "warning" or "error"
    title: str
    explanation: str
    suggestion: str
    since_step: int


def diagnose(metrics: Mapping[str, np.ndarray], evals: Mapping[str, np.ndarray] | None, loss: str, *,
             clip: float | None = None) -> list[Diagnosis]:
    """Run every detector; errors first, then by the step they began. `clip`: WGAN clip bound c, if known."""
    evals = evals or {}
    divergence = detect_divergence(metrics)
    found = [
        divergence,
        None if divergence else detect_explosion(metrics),  # a divergence already says it blew up
        detect_vanishing_gradients(metrics, loss),
        detect_d_overpowering(metrics),
        detect_critic_stalled(metrics, evals, loss, clip=clip),
        detect_mode_collapse(evals),
        detect_mode_hopping(evals),
    ]
    return sorted((d for d in found if d is not None), key=lambda d: (d.severity != "error", d.since_step))


def diagnose_snapshot(snapshot: Any, clip: float | None = None) -> tuple[Diagnosis, ...]:
    """Every detector on a run's Snapshot: what the page's banners say, and what the presets check."""
    loss = snapshot.info.objective if snapshot.info is not None else ""
    return tuple(diagnose(snapshot.columns, snapshot.evaluations.table(), loss, clip=clip))


# --- detectors on evaluations ---------------------------------------------------------------------------

def detect_mode_collapse(evals: Mapping[str, np.ndarray]) -> Diagnosis | None:
    """Few modes covered, or the HQ histogram far from uniform, in each of the last SUSTAIN_EVALS evaluations."""
    steps, cols = _table(evals, ("modes_covered", "modes_total", "hq_fraction", "kl_uniform"))
    covered, total = cols["modes_covered"], cols["modes_total"]
    if steps.size < SUSTAIN_EVALS or not np.isfinite(total[-1]) or total[-1] < 2:
        return None
    k = total[-1]
    with np.errstate(invalid="ignore"):
        collapsed = (cols["hq_fraction"] >= MIN_HQ_FRACTION) & (
            (covered <= COLLAPSE_COVERED_SHARE * total) | (cols["kl_uniform"] > COLLAPSE_KL))
    start = _trailing_true(collapsed)
    if start is None or steps.size - start < SUSTAIN_EVALS:
        return None
    n_cov, kl, since = float(covered[-1]), float(cols["kl_uniform"][-1]), int(steps[start])
    few = n_cov <= COLLAPSE_COVERED_SHARE * k  # False for NaN: then the KL rule fired
    hit = f"{n_cov:.0f} of {k:.0f} modes"
    crowd = f"about {k * math.exp(-kl):.0f} of {k:.0f} modes"  # the perplexity e^H = K e^-KL: used like so many
    head = f"{hit} covered" if few else f"samples crowd onto {crowd} (KL to uniform {kl:.2f}; {hit} hit)"
    return Diagnosis(
        kind="mode_collapse",
        severity="error" if n_cov <= COLLAPSE_ERROR_SHARE * k else "warning",
        title=f"Mode collapse: {head} {_span(since, steps[-1])}",
        explanation=("The generator produces only a few kinds of samples: it found outputs the discriminator "
                     "accepts and maps most of its noise there, instead of spreading over every mode of the data."),
        suggestion=("Try WGAN-GP, or lower the generator's learning rate; more D steps per G step (n_critic) "
                    "let D punish the missing modes."),
        since_step=since,
    )


def detect_mode_hopping(evals: Mapping[str, np.ndarray]) -> Diagnosis | None:
    """The dominant modes change between consecutive evaluations while G stays on a few of them."""
    hist = _histogram(evals)
    steps, _ = _table(evals, ())
    if hist is not None and "step" not in evals:
        steps = np.arange(hist.shape[0], dtype=np.float64)
    if hist is not None:
        n = min(hist.shape[0], steps.size)
        hist, steps = hist[:n], steps[:n]
    if hist is None or hist.shape[1] < 2 or hist.shape[0] < HOP_WINDOW_EVALS:
        return None
    window, k = hist[-HOP_WINDOW_EVALS:], hist.shape[1]
    hq = evals.get("hq_fraction")
    if hq is not None and len(hq) >= HOP_WINDOW_EVALS and not np.all(hq[-HOP_WINDOW_EVALS:] >= MIN_HQ_FRACTION):
        return None  # G has not reached the data yet: a histogram of a few stray points jumps by chance
    top = window.max(axis=1, keepdims=True)
    if np.any(top <= 0):
        return None
    dominant = window >= DOMINANT_SHARE * top  # (W, K) boolean: each evaluation's dominant set
    if np.any(dominant.sum(1) > HOP_MAX_DOMINANT_SHARE * k):
        return None
    inter = (dominant[1:] & dominant[:-1]).sum(1)
    union = (dominant[1:] | dominant[:-1]).sum(1)
    hops = inter < HOP_JACCARD * union
    if hops.sum() < HOP_MIN_FRACTION * hops.size:
        return None
    first = int(np.argmax(hops))  # the evaluation before the first hop of the window
    since = int(steps[steps.size - HOP_WINDOW_EVALS + first])
    return Diagnosis(
        kind="mode_hopping",
        severity="warning",
        title=(f"Mode hopping: the dominant modes changed in {int(hops.sum())} of the last {hops.size} "
               f"evaluations {_span(since, steps[-1])}"),
        explanation=("The generator jumps from one small set of modes to another: D learns to reject the current "
                     "ones, G moves on, and D forgets the old ones, a cycle instead of convergence."),
        suggestion="Try WGAN-GP or a lower generator learning rate; more D steps per G step also damp the cycle.",
        since_step=since,
    )


# --- detectors on per-step metrics ----------------------------------------------------------------------

def detect_vanishing_gradients(metrics: Mapping[str, np.ndarray], loss: str) -> Diagnosis | None:
    """grad_norm_g >= VANISH_RATIO below its early level, sustained, while D is confident (if it reports D(fake))."""
    steps, cols = _table(metrics, ("grad_norm_g", "d_fake"))
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
    start = _sustained(cond)
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
               f"{_span(since, steps[-1])}"),
        explanation=why,
        suggestion=fix,
        since_step=since,
    )


def detect_d_overpowering(metrics: Mapping[str, np.ndarray]) -> Diagnosis | None:
    """D(real) > OVERPOWER_D_REAL and D(fake) < OVERPOWER_D_FAKE, sustained (probability losses only)."""
    steps, cols = _table(metrics, ("d_real", "d_fake"))
    with np.errstate(invalid="ignore"):
        cond = (cols["d_real"] > OVERPOWER_D_REAL) & (cols["d_fake"] < OVERPOWER_D_FAKE)
    start = _sustained(cond)
    if start is None:
        return None
    since = int(steps[start])
    d_real, d_fake = np.nanmedian(cols["d_real"][start:]), np.nanmedian(cols["d_fake"][start:])
    return Diagnosis(
        kind="d_overpowering",
        severity="warning",
        title=f"D overpowering G: D(real) {_prob(d_real)}, D(fake) {_prob(d_fake)} {_span(since, steps[-1])}",
        explanation=("The discriminator tells real from fake almost perfectly, so the game has stopped being a "
                     "contest: its verdicts saturate and carry little information the generator can follow."),
        suggestion="Lower D's learning rate or n_critic, raise G's, or switch to WGAN-GP.",
        since_step=since,
    )


def detect_divergence(metrics: Mapping[str, np.ndarray]) -> Diagnosis | None:
    """Non-finite losses, any infinite value, |value| > EXPLODE_BOUND, or growth by GROWTH_RATIO, recently."""
    steps, cols = _table(metrics, BOUNDED_COLUMNS + tuple(COUNTED_BY.values()))
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
    steps, cols = _table(metrics, EXPLOSION_COLUMNS)
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
    steps, cols = _table(metrics, ("clip_frac", "w_estimate"))
    with np.errstate(invalid="ignore"):
        pinned = cols["clip_frac"] >= CLIP_FRAC_STALLED
    start = _sustained(pinned)
    if start is not None:
        share = float(np.nanmedian(cols["clip_frac"][start:]))
        head = f"{share:.0%} of the critic's weights sit at +-c"
    elif clip is not None and clip > 0 and _coverage_incomplete(evals):
        with np.errstate(invalid="ignore"):
            start = _sustained(np.abs(cols["w_estimate"]) < W_TINY_CLIP_RATIO * clip)
        if start is None:
            return None
        head = f"W estimate {np.nanmedian(cols['w_estimate'][start:]):.1e} with clip c = {clip:g}"
    else:
        return None
    since = int(steps[start])
    return Diagnosis(
        kind="critic_stalled",
        severity="warning",
        title=f"Clipped critic stalled: {head} {_span(since, steps[-1])}",
        explanation=("Weight clipping has pushed the critic's weights against the bound, so the critic can only be "
                     "a very simple function: its Wasserstein estimate and its gradients stop improving "
                     "(Gulrajani et al. 2017, sec. 3)."),
        suggestion="Switch to WGAN-GP (a gradient penalty instead of clipping), or raise the clip bound c.",
        since_step=since,
    )


# --- helpers --------------------------------------------------------------------------------------------

def _column(table: Mapping[str, np.ndarray], name: str) -> np.ndarray | None:
    """A column as a 1-D float64 array, or None when absent or not numeric."""
    if name not in table:
        return None
    try:
        a = np.asarray(table[name], dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return a.ravel() if a.ndim <= 1 else None


def _table(table: Mapping[str, np.ndarray], names: tuple[str, ...]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Steps and the named columns cut to a common length (rows may be mid-append); absent columns: NaN."""
    present = {name: _column(table, name) for name in ("step", *names)}
    lengths = [a.size for a in present.values() if a is not None]
    n = min(lengths) if lengths else 0
    steps = present["step"]
    steps = np.nan_to_num(steps[:n]) if steps is not None else np.arange(n, dtype=np.float64)
    cols = {name: (a[:n] if a is not None else np.full(n, np.nan)) for name, a in present.items() if name != "step"}
    return steps, cols


def _histogram(evals: Mapping[str, np.ndarray]) -> np.ndarray | None:
    if "histogram" not in evals:
        return None
    try:
        h = np.asarray(evals["histogram"], dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if h.ndim != 2:
        return None
    return np.nan_to_num(h, nan=0.0, posinf=0.0, neginf=0.0)


def _measured(cols: Mapping[str, np.ndarray], name: str) -> np.ndarray:
    """Rows on which `name` was measured: where its counter moved (every row when the counter is absent)."""
    counter = cols.get(COUNTED_BY.get(name, ""))
    if counter is None or not np.isfinite(counter).any():
        return np.ones(len(cols[name]), dtype=bool)
    return np.diff(counter, prepend=-np.inf) > 0


def _trailing_true(cond: np.ndarray) -> int | None:
    """Start of the trailing run of True values (no tolerance), or None if the last value is False."""
    if cond.size == 0 or not cond[-1]:
        return None
    false = np.flatnonzero(~cond)
    return int(false[-1]) + 1 if false.size else 0


def _sustained(cond: np.ndarray) -> int | None:
    """Start row of the trailing stretch where `cond` holds in the tolerant sense (module docstring), if it
    spans at least SUSTAIN_ROWS rows."""
    n = cond.size
    if n < SUSTAIN_ROWS:
        return None
    misses = np.cumsum((~cond)[::-1])[::-1]  # misses[i]: rows in cond[i:] where it fails
    length = n - np.arange(n)
    broken = np.flatnonzero((misses > MISS_TOLERANCE * length) & (length >= TOLERANCE_MIN_ROWS))
    start = int(broken[-1]) + 1 if broken.size else 0
    held = np.flatnonzero(cond[start:])
    if held.size == 0:
        return None
    start += int(held[0])  # a stretch begins where the condition first holds
    return start if n - start >= SUSTAIN_ROWS else None


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


def _coverage_incomplete(evals: Mapping[str, np.ndarray]) -> bool:
    """The latest evaluation still misses modes: W ~ 0 then means a blind critic, not a perfect generator."""
    _, cols = _table(evals, ("modes_covered", "modes_total"))
    covered, total = cols["modes_covered"], cols["modes_total"]
    return bool(covered.size and np.isfinite(covered[-1]) and np.isfinite(total[-1]) and covered[-1] < total[-1])


def _prob(p: float) -> str:
    """A probability for a title: two decimals, or scientific notation when that would print 0.00."""
    return f"{p:.2f}" if p >= 0.005 else f"{p:.0e}"


def _span(since: float, last: float) -> str:
    span = int(last) - int(since)
    return f"for the last {span} steps (since step {int(since)})" if span > 0 else f"at step {int(since)}"
