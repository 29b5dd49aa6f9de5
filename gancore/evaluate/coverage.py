"""Mode coverage of toy mixtures and class coverage of image runs.

Protocol (Unrolled GAN, Metz et al. 2017; VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018): draw
`N_EVAL_SAMPLES` generator samples, assign each one to its nearest mode centre, and call it *high quality*
(HQ) when it lies within `threshold` standard deviations of that centre. A mode is *covered* when it
holds at least one HQ sample (what PacGAN's released `MetricLogger` counts); `modes_covered_strict` also
asks for a fair share of the samples, so a handful of stray points does not count as a mode.

KL convention (PacGAN's released stacked-MNIST code, `KLD(p, uniform)`): KL(p || U) in nats, where p is
the normalised histogram of HQ samples over the K modes and U is uniform; empty bins contribute 0
(0 log 0 = 0) and there is no smoothing epsilon, so KL = log K - H(p), between 0 (uniform) and log K (one
mode). With no HQ sample at all p is undefined (PacGAN divides 0 by 0) and we return NaN.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

N_EVAL_SAMPLES = 2500  # PacGAN / VEEGAN: 2,500 generator samples per evaluation
HQ_THRESHOLD = 3.0  # a sample is HQ within 3 std of its mode (Unrolled GAN / VEEGAN / PacGAN)
# A mode counts as strictly covered when it holds at least a fifth of the samples a uniform spread would
# give it (2,500 samples, 25 modes: 100 expected, 20 needed): far above stray leakage (a few points) and far
# below what a well-covered mode gets even with sampling noise (a 5-sigma dip from 100 is still ~50).
STRICT_SHARE = 0.2


@dataclass(frozen=True, eq=False)
class ModeCoverage:
    """Coverage of one evaluation; every count says which threshold produced it.

    counts: HQ samples per mode (K,), read-only. threshold: HQ radius in std units (None: class coverage).
    min_confidence: classifier confidence a sample needed to count as HQ (None: every sample counts).
    strict_min_count: strict_share * n_samples / K, the count a mode needs for `modes_covered_strict`.
    """

    counts: np.ndarray
    n_samples: int
    hq_fraction: float
    modes_total: int
    modes_covered: int
    modes_covered_strict: int
    kl_uniform: float
    threshold: float | None
    min_confidence: float | None
    strict_share: float
    strict_min_count: float

    def as_dict(self) -> dict[str, Any]:
        """Plain Python values (lists, ints, floats) for JSON logs."""
        out = asdict(self)
        out["counts"] = [int(c) for c in self.counts]
        return out


def histogram_kl_uniform(counts: np.ndarray) -> float:
    """KL(p || uniform) in nats of the histogram `counts` (PacGAN convention, see module docstring).

    Equals log K - H(p): 0 for a perfectly uniform histogram, log K when every sample is in one bin,
    log(K / m) when the samples are spread evenly over m of the K bins. NaN when the histogram is empty.
    """
    c = np.asarray(counts, dtype=np.float64).ravel()
    if c.size == 0 or not np.all(np.isfinite(c)):
        return math.nan
    if np.any(c < 0):
        raise ValueError("histogram counts must be non-negative")
    total = c.sum()
    if total <= 0:
        return math.nan
    p = c[c > 0] / total
    return max(0.0, float(np.sum(p * np.log(p * c.size))))  # max: rounding can give -1e-17 for uniform


def class_histogram(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Number of samples per class (n_classes,), int64; labels must be integers in [0, n_classes)."""
    lab = np.asarray(labels).ravel()
    if lab.size and (not np.issubdtype(lab.dtype, np.integer)):
        if not np.all(np.isfinite(lab)) or np.any(lab != np.round(lab)):
            raise ValueError("labels must be integers")
        lab = lab.astype(np.int64)
    if lab.size and (lab.min() < 0 or lab.max() >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes}), got [{lab.min()}, {lab.max()}]")
    return np.bincount(lab.astype(np.int64), minlength=n_classes).astype(np.int64)


def assign_modes(samples: np.ndarray, centres: np.ndarray, stds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centre (Euclidean) of each sample, and the distance to it in that mode's std.

    Vectorised through ||x||^2 - 2 x.c + ||c||^2 for the arg-min; the returned distance is recomputed
    exactly from the difference. Non-finite samples get mode 0 and distance NaN (never HQ).
    Returns (index (n,) int64, distance_in_std (n,) float64).
    """
    x, c, s = _check_mixture(samples, centres, stds)
    if x.shape[0] == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    finite = np.all(np.isfinite(x), axis=1)
    xf = np.where(finite[:, None], x, 0.0)
    d2 = (xf * xf).sum(1)[:, None] - 2.0 * xf @ c.T + (c * c).sum(1)[None, :]
    index = np.argmin(d2, axis=1)
    dist = np.sqrt(((xf - c[index]) ** 2).sum(1)) / s[index]
    dist[~finite] = np.nan
    return index.astype(np.int64), dist


def mode_coverage(samples: np.ndarray, centres: np.ndarray, stds: np.ndarray, *, threshold: float = HQ_THRESHOLD,
                  strict_share: float = STRICT_SHARE) -> ModeCoverage:
    """Mode coverage of generator samples (n, d) on a mixture with centres (K, d) and one std per mode (K,).

    A sample is HQ when its distance to its nearest centre is <= threshold * that mode's std (PacGAN's code
    uses a strict `<`; the two differ on a set of probability zero). 1-D inputs may be given as (n,) / (K,).
    """
    index, dist = assign_modes(samples, centres, stds)
    k = np.asarray(centres).shape[0]
    hq = dist <= threshold  # NaN distances compare False
    counts = np.bincount(index[hq], minlength=k).astype(np.int64)
    return _summarise(counts, index.size, threshold=float(threshold), min_confidence=None,
                      strict_share=strict_share)


def class_coverage(predicted_labels: np.ndarray, n_classes: int, *, strict_share: float = STRICT_SHARE,
                   confidences: np.ndarray | None = None, min_confidence: float | None = None) -> ModeCoverage:
    """Coverage of an image run: classes play the modes (stacked-MNIST protocol of VEEGAN / PacGAN).

    Every classified sample counts as HQ unless `min_confidence` is given, in which case samples whose
    classifier confidence is below it are not HQ (they still count in n_samples).
    """
    labels = np.asarray(predicted_labels).ravel()
    keep = np.ones(labels.size, dtype=bool)
    if min_confidence is not None:
        if confidences is None:
            raise ValueError("min_confidence needs confidences")
        conf = np.asarray(confidences, dtype=np.float64).ravel()
        if conf.shape != labels.shape:
            raise ValueError(f"confidences {conf.shape} and labels {labels.shape} differ in length")
        keep = conf >= min_confidence
    counts = class_histogram(labels[keep], n_classes)
    return _summarise(counts, labels.size, threshold=None,
                      min_confidence=None if min_confidence is None else float(min_confidence),
                      strict_share=strict_share)


def _summarise(counts: np.ndarray, n: int, *, threshold: float | None, min_confidence: float | None,
               strict_share: float) -> ModeCoverage:
    k = counts.size
    strict_min = strict_share * n / k if k else math.inf
    counts.flags.writeable = False
    return ModeCoverage(
        counts=counts,
        n_samples=int(n),
        hq_fraction=float(counts.sum() / n) if n else math.nan,
        modes_total=int(k),
        modes_covered=int(np.count_nonzero(counts)),
        modes_covered_strict=int(np.count_nonzero((counts >= strict_min) & (counts > 0))),
        kl_uniform=histogram_kl_uniform(counts),
        threshold=threshold,
        min_confidence=min_confidence,
        strict_share=float(strict_share),
        strict_min_count=float(strict_min),
    )


def _check_mixture(samples: np.ndarray, centres: np.ndarray, stds: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.asarray(samples, dtype=np.float64)
    c = np.asarray(centres, dtype=np.float64)
    if c.ndim == 1:
        c = c[:, None]
    if x.ndim == 1 and c.shape[1] == 1:
        x = x[:, None]
    s = np.broadcast_to(np.asarray(stds, dtype=np.float64), (c.shape[0],))
    if x.ndim != 2 or c.ndim != 2 or x.shape[1] != c.shape[1]:
        raise ValueError(f"samples {x.shape} and centres {c.shape} must be (n, d) and (K, d)")
    if c.shape[0] == 0:
        raise ValueError("need at least one centre")
    if not np.all(s > 0):
        raise ValueError("stds must be positive")
    return x, c, s
