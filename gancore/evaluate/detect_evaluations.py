"""Detectors on the evaluations: mode collapse and mode hopping (thresholds as named constants)."""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from .diagnosis import Diagnosis, span, table, trailing_true

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


def detect_mode_collapse(evals: Mapping[str, np.ndarray]) -> Diagnosis | None:
    """Few modes covered, or the HQ histogram far from uniform, in each of the last SUSTAIN_EVALS evaluations."""
    steps, cols = table(evals, ("modes_covered", "modes_total", "hq_fraction", "kl_uniform"))
    covered, total = cols["modes_covered"], cols["modes_total"]
    if steps.size < SUSTAIN_EVALS or not np.isfinite(total[-1]) or total[-1] < 2:
        return None
    k = total[-1]
    with np.errstate(invalid="ignore"):
        collapsed = (cols["hq_fraction"] >= MIN_HQ_FRACTION) & (
            (covered <= COLLAPSE_COVERED_SHARE * total) | (cols["kl_uniform"] > COLLAPSE_KL))
    start = trailing_true(collapsed)
    if start is None or steps.size - start < SUSTAIN_EVALS:
        return None
    n_cov, kl, since = float(covered[-1]), float(cols["kl_uniform"][-1]), int(steps[start])
    few = n_cov <= COLLAPSE_COVERED_SHARE * k  # False for NaN: then the KL rule fired
    hit = f"{n_cov:.0f} of {k:.0f} modes"
    # the perplexity e^H = K e^-KL: used like so many; a KL is >= 0, and a damaged value must not overflow exp
    crowd = f"about {k * math.exp(-max(kl, 0.0)):.0f} of {k:.0f} modes"
    head = f"{hit} covered" if few else f"samples crowd onto {crowd} (KL to uniform {kl:.2f}; {hit} hit)"
    return Diagnosis(
        kind="mode_collapse",
        severity="error" if n_cov <= COLLAPSE_ERROR_SHARE * k else "warning",
        title=f"Mode collapse: {head} {span(since, steps[-1])}",
        explanation=("The generator produces only a few kinds of samples: it found outputs the discriminator "
                     "accepts and maps most of its noise there, instead of spreading over every mode of the data."),
        suggestion=("Try WGAN-GP, or lower the generator's learning rate; more D steps per G step (n_critic) "
                    "let D punish the missing modes."),
        since_step=since,
    )


def detect_mode_hopping(evals: Mapping[str, np.ndarray]) -> Diagnosis | None:
    """The dominant modes change between consecutive evaluations while G stays on a few of them."""
    hist = _histogram(evals)
    steps, _ = table(evals, ())
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
               f"evaluations {span(since, steps[-1])}"),
        explanation=("The generator jumps from one small set of modes to another: D learns to reject the current "
                     "ones, G moves on, and D forgets the old ones, a cycle instead of convergence."),
        suggestion="Try WGAN-GP or a lower generator learning rate; more D steps per G step also damp the cycle.",
        since_step=since,
    )


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


def coverage_incomplete(evals: Mapping[str, np.ndarray]) -> bool:
    """The latest evaluation still misses modes: W ~ 0 then means a blind critic, not a perfect generator."""
    _, cols = table(evals, ("modes_covered", "modes_total"))
    covered, total = cols["modes_covered"], cols["modes_total"]
    return bool(covered.size and np.isfinite(covered[-1]) and np.isfinite(total[-1]) and covered[-1] < total[-1])
