"""Distances between real and generated samples, and the exact 1-D densities the dashboard draws.

All functions take numpy arrays and return plain floats/arrays. Shape errors raise ValueError; a
non-finite input (a diverged generator emits NaN/inf) gives NaN instead, so a live plot shows a gap
rather than the dashboard crashing.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy.linalg import LinAlgWarning, sqrtm
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

DEFAULT_JS_BINS = 32  # per axis: a ring of radius 2 in its 6x6 box gets 0.19-wide cells, ~ one mode per cell
DEFAULT_PROJECTIONS = 128  # Monte-Carlo error of SW ~ std(|<u, e>|) / sqrt(128): a few % of the value
FID_EPS = 1e-6  # the offset pytorch-fid / TTUR add to both covariances when sqrtm(S1 S2) is singular
KDE_CHUNK = 1 << 20  # kernel evaluations per chunk: bounds kde_1d's memory to ~8 MB


# --- Wasserstein-1 --------------------------------------------------------------------------------------

def w1_exact(real: np.ndarray, fake: np.ndarray) -> float:
    """Exact Wasserstein-1 between two equal-size empirical distributions (n, d).

    W1 = min over permutations sigma of (1/n) sum_i ||x_i - y_sigma(i)||: for uniform weights and equal
    sizes an optimal transport plan is a permutation (Birkhoff-von Neumann), found by
    `linear_sum_assignment` on the Euclidean cost matrix. In 1-D the monotone (sorted) matching is optimal,
    so sorting gives the same value in O(n log n).
    """
    x, y = _equal_pair(real, fake)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return math.nan
    if x.shape[1] == 1:
        return float(np.mean(np.abs(np.sort(x[:, 0]) - np.sort(y[:, 0]))))
    cost = cdist(x, y)
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())


def random_directions(dim: int, n_projections: int = DEFAULT_PROJECTIONS, seed: int = 0) -> np.ndarray:
    """(dim, n_projections) unit vectors, uniform on the sphere (normalised Gaussians), seeded."""
    u = np.random.default_rng(seed).standard_normal((dim, n_projections))
    return u / np.linalg.norm(u, axis=0, keepdims=True)


def sliced_wasserstein(real: np.ndarray, fake: np.ndarray, *, n_projections: int = DEFAULT_PROJECTIONS,
                       seed: int = 0) -> float:
    """Sliced Wasserstein-1 (Rabin et al. 2011; Deshpande et al. 2018) between equal-size sample sets.

    Samples are flattened to (n, D) (images: pixel space). SW1 = mean over random unit directions u of
    the exact 1-D W1 between <x, u> and <y, u> (sorted matching), i.e. the W1 convention of `w1_exact`,
    not the root-mean-square SW2. With D = 1 it equals the exact W1. Two float32 inputs are projected in
    float32 (twice as fast on images; relative error ~1e-6), anything else in float64.
    """
    x, y = _equal_pair(real, fake, keep_float32=True)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return math.nan
    u = random_directions(x.shape[1], n_projections, seed).astype(x.dtype)
    px = np.sort(x @ u, axis=0)
    py = np.sort(y @ u, axis=0)
    return float(np.mean(np.abs(px - py), dtype=np.float64))


# --- Jensen-Shannon on a grid ---------------------------------------------------------------------------

def grid_histogram(points: np.ndarray, *, bounds: np.ndarray, bins: int = DEFAULT_JS_BINS) -> np.ndarray:
    """Counts of `points` (n, d) on a regular grid of `bins` cells per axis over `bounds` (d, 2) = [lo, hi].

    Every finite point is counted: points outside the box are clipped into the edge cells (GAN Lab's
    version lost points instead). Non-finite points are not counted. Returns shape (bins,) * d, int64.
    """
    x = np.asarray(points, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    b = np.asarray(bounds, dtype=np.float64).reshape(-1, 2)
    if x.ndim != 2 or b.shape[0] != x.shape[1]:
        raise ValueError(f"points {x.shape} need bounds of shape ({x.shape[1] if x.ndim == 2 else 'd'}, 2)")
    if not np.all(b[:, 1] > b[:, 0]):
        raise ValueError(f"bounds need lo < hi on every axis, got {b.tolist()}")
    if bins < 1:
        raise ValueError("bins must be >= 1")
    x = x[np.all(np.isfinite(x), axis=1)]
    cell = np.floor((x - b[:, 0]) / (b[:, 1] - b[:, 0]) * bins)
    cell = np.clip(cell, 0, bins - 1).astype(np.int64)
    flat = np.ravel_multi_index(tuple(cell.T), (bins,) * x.shape[1]) if x.shape[0] else np.zeros(0, np.int64)
    return np.bincount(flat, minlength=bins ** x.shape[1]).reshape((bins,) * x.shape[1])


def js_divergence(p_counts: np.ndarray, q_counts: np.ndarray) -> float:
    """Jensen-Shannon divergence (nats, in [0, log 2]) of two histograms, each normalised to sum 1.

    JS = KL(p || m) / 2 + KL(q || m) / 2 with m = (p + q) / 2 and 0 log 0 = 0. NaN if either is empty.
    """
    a = np.asarray(p_counts, dtype=np.float64).ravel()
    b = np.asarray(q_counts, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"histograms differ in size: {a.shape} vs {b.shape}")
    if a.sum() <= 0 or b.sum() <= 0:
        return math.nan
    p, q = a / a.sum(), b / b.sum()
    m = 0.5 * (p + q)
    kl_p = np.sum(p[p > 0] * np.log(p[p > 0] / m[p > 0]))
    kl_q = np.sum(q[q > 0] * np.log(q[q > 0] / m[q > 0]))
    return float(np.clip(0.5 * (kl_p + kl_q), 0.0, math.log(2.0)))


def js_grid(real: np.ndarray, fake: np.ndarray, *, bounds: np.ndarray, bins: int = DEFAULT_JS_BINS) -> float:
    """JS divergence (nats) between the histograms of `real` (n, 2) and `fake` (m, 2) on the same grid.

    0 for identical histograms, log 2 for disjoint ones. Finite samples bias it upwards (two samples of one
    distribution rarely fill the cells identically); the bias shrinks as n grows. Non-finite input: NaN.
    """
    r, f = np.asarray(real, dtype=np.float64), np.asarray(fake, dtype=np.float64)
    if not (np.all(np.isfinite(r)) and np.all(np.isfinite(f))):
        return math.nan
    return js_divergence(grid_histogram(r, bounds=bounds, bins=bins), grid_histogram(f, bounds=bounds, bins=bins))


# --- Frechet distance -----------------------------------------------------------------------------------

def frechet_distance(feat_real: np.ndarray, feat_fake: np.ndarray, *, eps: float = FID_EPS) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (n, F), (m, F) (FID, Heusel et al. 2017).

    d^2 = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 sqrtm(S1 S2)). Numerics as in pytorch-fid: if sqrtm is not
    finite (singular product) retry with eps * I added to both covariances; drop the tiny imaginary part
    rounding leaves; clamp the rounding-level negatives of identical sets to 0.
    """
    x, y = _features(feat_real), _features(feat_fake)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"feature sizes differ: {x.shape[1]} vs {y.shape[1]}")
    if x.shape[0] < 2 or y.shape[0] < 2:
        raise ValueError("need at least 2 samples per set to estimate a covariance")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return math.nan
    mu1, mu2 = x.mean(0), y.mean(0)
    s1 = np.atleast_2d(np.cov(x, rowvar=False))
    s2 = np.atleast_2d(np.cov(y, rowvar=False))
    with warnings.catch_warnings():  # a collapsed generator has singular features: handled just below
        warnings.simplefilter("ignore", LinAlgWarning)
        covmean = np.asarray(sqrtm(s1 @ s2))
        if not np.all(np.isfinite(covmean)):
            offset = eps * np.eye(s1.shape[0])
            covmean = np.asarray(sqrtm((s1 + offset) @ (s2 + offset)))
    diff = mu1 - mu2
    value = diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * float(np.trace(covmean.real))
    return max(float(value), 0.0)


# --- 1-D densities --------------------------------------------------------------------------------------

def kde_1d(samples: np.ndarray, grid: np.ndarray, bandwidth: float | None = None) -> np.ndarray:
    """Gaussian kernel density estimate of 1-D `samples` evaluated on `grid` (g,).

    bandwidth: the kernel's std in data units; None: Scott's rule h = std(samples, ddof=1) * n^(-1/5) (what
    scipy.stats.gaussian_kde uses), floored at one grid step. The floor matters when the generator
    collapses (all samples equal: std 0, where gaussian_kde raises): the spike is then drawn one step wide
    and still sums to ~1 on the grid instead of vanishing between grid points. Non-finite samples: NaN.
    """
    x = np.asarray(samples, dtype=np.float64).ravel()
    g = np.asarray(grid, dtype=np.float64).ravel()
    if x.size == 0:
        raise ValueError("kde_1d needs at least one sample")
    if not np.all(np.isfinite(x)):
        return np.full(g.shape, np.nan)
    if bandwidth is None:
        scott = float(x.std(ddof=1)) * x.size ** (-0.2) if x.size > 1 else 0.0
        step = float(np.ptp(g)) / (g.size - 1) if g.size > 1 else 0.0
        h = max(scott, step)
        if not h > 0:
            h = 1e-3 * max(1.0, float(np.abs(x).max()))  # one point, one-point grid: any narrow kernel
    else:
        h = float(bandwidth)
        if not h > 0:
            raise ValueError(f"bandwidth must be positive, got {bandwidth}")
    out = np.empty(g.shape)
    chunk = max(1, KDE_CHUNK // x.size)
    norm = 1.0 / (x.size * h * math.sqrt(2.0 * math.pi))
    for start in range(0, g.size, chunk):
        z = (g[start:start + chunk, None] - x[None, :]) / h
        out[start:start + chunk] = np.exp(-0.5 * z * z).sum(1) * norm
    return out


def mixture_pdf_1d(grid: np.ndarray, centres: np.ndarray, stds: np.ndarray | float) -> np.ndarray:
    """Exact density of the equal-weight 1-D Gaussian mixture (1/K) sum_k N(x; c_k, s_k^2) on `grid`."""
    g = np.asarray(grid, dtype=np.float64).ravel()
    c = np.asarray(centres, dtype=np.float64).ravel()
    s = np.broadcast_to(np.asarray(stds, dtype=np.float64).ravel(), c.shape)
    if c.size == 0 or not np.all(s > 0):
        raise ValueError("need at least one centre and positive stds")
    z = (g[:, None] - c[None, :]) / s[None, :]
    return np.mean(np.exp(-0.5 * z * z) / (s[None, :] * math.sqrt(2.0 * math.pi)), axis=1)


def optimal_discriminator(p_data: np.ndarray, p_g: np.ndarray) -> np.ndarray:
    """D*(x) = p_data / (p_data + p_g) (Goodfellow et al. 2014, Prop. 1); 0.5 where both densities are 0."""
    pd = np.asarray(p_data, dtype=np.float64)
    pg = np.asarray(p_g, dtype=np.float64)
    total = pd + pg
    out = np.full(np.broadcast(pd, pg).shape, 0.5)
    np.divide(pd, total, out=out, where=total > 0)
    return out


# --- helpers --------------------------------------------------------------------------------------------

def _as_2d(a: np.ndarray, dtype: type = np.float64) -> np.ndarray:
    x = np.asarray(a, dtype=dtype)
    if x.ndim == 1:
        return x[:, None]
    return x.reshape(x.shape[0], -1)


def _equal_pair(real: np.ndarray, fake: np.ndarray, *, keep_float32: bool = False) -> tuple[np.ndarray, np.ndarray]:
    both32 = keep_float32 and np.asarray(real).dtype == np.float32 and np.asarray(fake).dtype == np.float32
    dtype = np.float32 if both32 else np.float64
    x, y = _as_2d(real, dtype), _as_2d(fake, dtype)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"need equal sample counts, got {x.shape[0]} and {y.shape[0]}")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"samples differ in dimension: {x.shape[1]} vs {y.shape[1]}")
    if x.shape[0] == 0:
        raise ValueError("need at least one sample")
    return x, y


def _features(a: np.ndarray) -> np.ndarray:
    x = np.asarray(a, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"features must be (n, F), got shape {x.shape}")
    return x
