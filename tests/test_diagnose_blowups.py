"""Runs that blow up or stall: an overshoot that calms down (explosion), NaN, infinite or runaway values
(divergence), and a critic held at its weight clip; synthetic histories and two real runs."""

from __future__ import annotations

import numpy as np
import pytest

from gancore.evaluate.detect_training import EXPLOSION_BOUND, detect_critic_stalled, detect_divergence, \
    detect_explosion
from gancore.evaluate.diagnose import diagnose

from diagnose_support import evals_from, healthy_nonsaturating, healthy_wgan_gp, metrics, noisy

# --- explosion ----------------------------------------------------------------------------------------

def spiked(peak: float, at: int = 2, n: int = 60) -> dict[str, np.ndarray]:
    """A healthy history whose D loss overshoots to `peak` on rows at..at+1, then is calm again."""
    m = healthy_nonsaturating(n)
    m["loss_d"][at:at + 2] = [peak / 2, peak]
    return m


def test_explosion_fires_on_a_finite_overshoot_that_calmed_down():
    d = detect_explosion(spiked(8.6e5))
    assert d is not None and d.kind == "explosion" and d.severity == "error"
    assert d.since_step == 20  # row 2 (4.3e5 > 1e4) of rows logged every 10 steps
    assert d.title.startswith("Exploded: |loss_d| reached 8.6e+05 at step 30 (now 1.")  # healthy level 1.3
    assert detect_divergence(spiked(8.6e5)) is None  # it is not a divergence: nothing recent, nothing infinite
    assert [x.kind for x in diagnose(spiked(8.6e5), {}, "nonsaturating")] == ["explosion"]


def test_explosion_bound_is_exclusive_and_divergence_takes_precedence():
    assert detect_explosion(spiked(EXPLOSION_BOUND)) is None  # 1e4 itself, and 5e3 before it: below
    assert detect_explosion(spiked(EXPLOSION_BOUND * 1.01)) is not None
    recent = spiked(5e6, at=55)  # above EXPLODE_BOUND in the last rows: a divergence, reported once
    assert [x.kind for x in diagnose(recent, {}, "nonsaturating")] == ["divergence"]


EXPLODING = dict(dataset="ring", loss="nonsaturating", lr_d=10.0, lr_g=10.0, width=16, depth=1, batch_size=32)


@pytest.mark.slow
def test_a_real_run_at_lr_10_explodes_finitely_and_is_diagnosed():
    from gancore.config import Config
    from run_support import stepped_snapshot

    snap = stepped_snapshot(Config(**EXPLODING, steps=30), 30)
    loss_d = np.asarray(snap.columns["loss_d"], dtype=np.float64)
    assert np.all(np.isfinite(loss_d)) and np.nanmax(np.abs(loss_d)) > EXPLOSION_BOUND  # finite, yet huge
    kinds = [d.kind for d in diagnose(snap.columns, {}, "nonsaturating")]
    assert kinds[0] == "explosion" and "divergence" not in kinds


@pytest.mark.slow
def test_a_healthy_preset_run_has_no_explosion():
    from gancore.presets import PRESETS
    from gancore.run import Run

    run = Run(PRESETS["wgan-gp"].config.replace(steps=300))
    try:
        run.start()
        assert run.wait(600)  # generous: a bound on a hang, not a speed test
        snap = run.snapshot()
    finally:
        run.stop()
    assert snap.step == 300 and run.status == "finished"
    assert detect_explosion(snap.columns) is None
    assert np.nanmax(np.abs(np.asarray(snap.columns["grad_norm_d"], dtype=np.float64))) < EXPLOSION_BOUND / 10


# --- divergence ---------------------------------------------------------------------------------------

def test_divergence_on_nan_losses():
    m = healthy_nonsaturating()
    m["loss_d"][380:] = np.nan
    m["loss_g"][382:] = np.nan
    d = detect_divergence(m)
    assert d is not None and d.severity == "error" and d.since_step == 3800
    assert d.title == "Divergence: loss_d became nan (since step 3800)"


def test_divergence_on_infinite_critic_and_huge_loss():
    m = healthy_wgan_gp()
    m["critic_real"][395] = np.inf
    d = detect_divergence(m)
    assert d is not None and "critic_real became inf" in d.title and d.since_step == 3950
    m = healthy_wgan_gp()
    m["loss_g"][390:] = 3e7
    d = detect_divergence(m)
    assert d is not None and "loss_g reached 3e+07" in d.title and d.since_step == 3900


def test_divergence_on_orders_of_magnitude_growth():
    m = healthy_wgan_gp()
    m["grad_norm_d"][-5:] = 5000.0  # 5000x its early level of ~1
    d = detect_divergence(m)
    assert d is not None and "grad_norm_d" in d.title and "5e+03" in d.title


def test_drifting_wgan_critic_and_not_applicable_columns_are_not_divergence():
    m = healthy_wgan_gp()
    drift = np.linspace(-200.0, 2000.0, 400).clip(0).astype(np.float32)  # 0 -> 2000: 1000s x the early level,
    m["critic_real"] += drift  # but only the difference critic_real - critic_fake matters (ProGAN's drift term)
    m["critic_fake"] += drift
    m["loss_g"] -= drift
    assert detect_divergence(m) is None  # d_real, d_fake, clip_frac are NaN throughout


def test_old_nan_outside_the_recent_window_is_not_reported():
    m = healthy_nonsaturating()
    m["loss_d"][10] = np.nan
    assert detect_divergence(m) is None


# --- clipped critic -----------------------------------------------------------------------------------

def clipped(n: int = 200, frac: float = 0.97, w: float = 0.02, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return metrics(n, loss_d=noisy(rng, -w, n), loss_g=noisy(rng, 0.001, n), critic_real=noisy(rng, 0.002, n),
                   critic_fake=noisy(rng, 0.002 - w, n), w_estimate=noisy(rng, w, n, 0.3),
                   grad_norm_d=noisy(rng, 0.01, n), grad_norm_g=noisy(rng, 0.005, n),
                   clip_frac=np.clip(np.concatenate([np.linspace(0.2, frac, 50), np.full(n - 50, frac)])
                                     + 0.01 * rng.standard_normal(n), 0, 1))


def test_critic_stalled_when_weights_sit_at_the_clip():
    d = detect_critic_stalled(clipped(), {}, "wgan")
    assert d is not None and d.kind == "critic_stalled"
    assert d.title.startswith("Clipped critic stalled: 97% of the critic's weights sit at +-c")
    assert detect_critic_stalled(clipped(), {}, "wgan-gp") is None  # no clipping in WGAN-GP
    assert detect_critic_stalled(clipped(frac=0.5), {}, "wgan") is None


def test_critic_stalled_when_w_is_tiny_and_modes_are_missing():
    m = clipped(frac=0.5, w=1e-6)
    missing, full = evals_from([[1200, 1200, 0, 0]] * 3), evals_from([[600] * 4] * 3)
    d = detect_critic_stalled(m, missing, "wgan", clip=0.01)
    assert d is not None and "with clip c = 0.01" in d.title
    assert detect_critic_stalled(m, full, "wgan", clip=0.01) is None  # W ~ 0 with every mode: converged
    assert detect_critic_stalled(m, missing, "wgan") is None  # clip unknown: no scale to judge W by
    assert detect_critic_stalled(clipped(frac=0.5, w=0.02), missing, "wgan", clip=0.01) is None
