"""Synthetic histories for the detector tests: logged rows every EVERY steps with healthy noise, and
evaluations from per-mode counts."""

from __future__ import annotations

import numpy as np


COLUMNS = ("loss_d", "loss_g", "d_real", "d_fake", "critic_real", "critic_fake", "w_estimate", "gp",
           "grad_norm_d", "grad_norm_g", "clip_frac")
EVERY = 10  # steps between logged rows


def metrics(n: int, seed: int = 0, **cols: np.ndarray) -> dict[str, np.ndarray]:
    """n logged rows, every column NaN unless given, float32 like the engine's log."""
    out = {"step": (np.arange(n) * EVERY).astype(np.float32)}
    for name in COLUMNS:
        out[name] = np.asarray(cols.get(name, np.full(n, np.nan)), dtype=np.float32)
    return out


def noisy(rng: np.random.Generator, level, n: int, rel: float = 0.1) -> np.ndarray:
    return np.asarray(level, dtype=np.float64) * (1 + rel * rng.standard_normal(n))


def healthy_nonsaturating(n: int = 400, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return metrics(n, loss_d=noisy(rng, 1.3, n), loss_g=noisy(rng, 0.9, n),
                   d_real=np.clip(0.6 + 0.05 * rng.standard_normal(n), 0, 1),
                   d_fake=np.clip(0.4 + 0.05 * rng.standard_normal(n), 0, 1),
                   grad_norm_d=np.exp(rng.normal(np.log(0.5), 0.3, n)),
                   grad_norm_g=np.exp(rng.normal(np.log(0.3), 0.3, n)))


def healthy_wgan_gp(n: int = 400, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    w = np.geomspace(3.0, 0.1, n) * (1 + 0.2 * rng.standard_normal(n))
    critic_real = np.linspace(0.0, 40.0, n) + rng.standard_normal(n)  # harmless drift: only W matters
    gp = np.abs(noisy(rng, 0.05, n, 0.5))
    return metrics(n, loss_d=-w + gp, loss_g=-(critic_real - w), critic_real=critic_real, critic_fake=critic_real - w,
                   w_estimate=w, gp=gp, grad_norm_d=noisy(rng, 1.0, n), grad_norm_g=noisy(rng, 0.8, n, 0.2))


def evals_from(hists: list[list[int]], *, hq: float | None = None, every: int = 250) -> dict[str, np.ndarray]:
    """Evaluation rows from per-mode HQ histograms (each from 2,500 samples)."""
    h = np.asarray(hists, dtype=np.float64)
    counts_total = h.sum(1)
    p = h / np.maximum(counts_total, 1)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(counts_total > 0, np.nansum(np.where(p > 0, p * np.log(p * h.shape[1]), 0.0), 1), np.nan)
    return {"step": (np.arange(len(h)) + 1) * every, "modes_covered": (h > 0).sum(1),
            "modes_total": np.full(len(h), h.shape[1]),
            "hq_fraction": np.full(len(h), hq) if hq is not None else counts_total / 2500, "kl_uniform": kl,
            "histogram": h}


def healthy_evals(k: int = 8, n_evals: int = 12, seed: int = 0) -> dict[str, np.ndarray]:
    """Coverage grows 2 -> k modes over the first evaluations, then stays full and near-uniform."""
    rng = np.random.default_rng(seed)
    hists = []
    for e in range(n_evals):
        m = min(k, 2 + 2 * e)
        h = np.zeros(k, dtype=int)
        h[:m] = rng.multinomial(2300, np.full(m, 1 / m))
        hists.append(h.tolist())
    return evals_from(hists)
