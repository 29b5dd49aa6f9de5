"""Each detector fires on a synthetic history showing its failure and stays quiet on healthy ones."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gancore.config import LOSSES
from gancore.evaluate.detect_evaluations import (COLLAPSE_COVERED_SHARE, COLLAPSE_KL, SUSTAIN_EVALS,
                                                 detect_mode_collapse, detect_mode_hopping)
from gancore.evaluate.detect_training import (CONFIDENT_D_FAKE, EXPLOSION_BOUND, OVERPOWER_D_FAKE,
                                              detect_critic_stalled, detect_d_overpowering, detect_divergence,
                                              detect_explosion, detect_vanishing_gradients)
from gancore.evaluate.diagnose import diagnose
from gancore.evaluate.diagnosis import SUSTAIN_ROWS, Diagnosis

from properties import examples

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


# --- healthy runs -------------------------------------------------------------------------------------

def test_healthy_wgan_gp_has_no_diagnosis():
    assert diagnose(healthy_wgan_gp(), healthy_evals(), "wgan-gp") == []


def test_healthy_nonsaturating_has_no_diagnosis():
    assert diagnose(healthy_nonsaturating(), healthy_evals(k=25, n_evals=20), "nonsaturating") == []


@pytest.mark.parametrize("empty", [{}, {"step": np.zeros(0)}, metrics(0), metrics(3)])
def test_empty_and_short_histories_give_nothing(empty):
    for loss in LOSSES:
        assert diagnose(empty, {}, loss) == []
        assert diagnose(empty, evals_from(np.zeros((0, 8))), loss, clip=0.01) == []


# --- mode collapse ------------------------------------------------------------------------------------

def collapsed_evals() -> dict[str, np.ndarray]:
    full = [300] * 8
    two = [1100, 0, 0, 0, 1150, 0, 0, 0]
    return evals_from([full, full, full, two, two, two, two])  # collapsed from the 4th evaluation (step 1000)


def test_mode_collapse_fires_with_numbers_and_span():
    d = detect_mode_collapse(collapsed_evals())
    assert d is not None and d.kind == "mode_collapse"
    assert d.since_step == 1000
    assert d.title == "Mode collapse: 2 of 8 modes covered for the last 750 steps (since step 1000)"
    assert d.severity == "error"  # 2 <= 8 / 4


def test_mode_collapse_needs_several_evaluations():
    ev = evals_from([[300] * 8] * 5 + [[1100, 0, 0, 0, 1150, 0, 0, 0]] * (SUSTAIN_EVALS - 1))
    assert detect_mode_collapse(ev) is None  # one or two bad frames are not a collapse


def test_mode_collapse_by_kl_when_stray_points_cover_every_mode():
    # 8 of 8 modes hit, but p = (2/3, 1/21, ..., 1/21): KL = log 8 + 2/3 log(2/3) + 1/3 log(1/21) = 0.794 > log 2
    skewed = [1400] + [100] * 7
    d = detect_mode_collapse(evals_from([skewed] * 4))
    assert d is not None and d.severity == "warning"
    # used like e^H = 8 e^-0.794 = 3.6 equally used modes, though every one of the 8 holds a sample
    assert d.title == ("Mode collapse: samples crowd onto about 4 of 8 modes (KL to uniform 0.79; 8 of 8 modes hit) "
                       "for the last 750 steps (since step 250)")


def test_a_mild_skew_over_every_mode_is_not_collapse():
    # p = (1/2, 1/14, ..., 1/14): KL = log 8 + 1/2 log(1/2) + 1/2 log(1/14) = 0.413 < log 2 = 0.693
    assert detect_mode_collapse(evals_from([[700] + [100] * 7] * 4)) is None
    # p = (11/18, 1/18, ..., 1/18): KL = log 8 + 11/18 log(11/18) + 7/18 log(1/18) = 0.654, just below log 2
    assert detect_mode_collapse(evals_from([[1100] + [100] * 7] * 4)) is None


def test_half_coverage_is_collapse_but_more_is_not():
    assert detect_mode_collapse(evals_from([[500] * 4 + [0] * 4] * 3)) is not None  # 4 of 8 = half, KL log 2
    assert detect_mode_collapse(evals_from([[400] * 5 + [0] * 3] * 3)) is None  # 5 of 8, KL log(8/5)


def test_generator_that_has_not_reached_the_data_is_not_collapsed():
    ev = evals_from([[3, 0, 0, 0, 0, 0, 0, 0]] * 5)  # 3 HQ samples of 2,500: hq_fraction 0.0012
    assert detect_mode_collapse(ev) is None


def test_collapse_by_kl_with_a_missing_coverage_column():
    ev = evals_from([[1400] + [100] * 7] * 4)
    ev["modes_covered"] = np.full(4, np.nan)
    assert detect_mode_collapse(ev).title.startswith("Mode collapse: samples crowd onto about 4 of 8 modes (KL to "
                                                     "uniform 0.79; nan of 8 modes hit)")


def test_single_mode_data_cannot_collapse():
    assert detect_mode_collapse(evals_from([[2400]] * 5)) is None


# --- mode hopping -------------------------------------------------------------------------------------

def test_mode_hopping_fires_when_the_dominant_mode_moves():
    hists = []
    for mode in (0, 3, 5, 1, 6, 2):
        h = [4] * 8
        h[mode] = 2000
        hists.append(h)
    d = detect_mode_hopping(evals_from(hists))
    assert d is not None and d.kind == "mode_hopping"
    assert d.title.startswith("Mode hopping: the dominant modes changed in 4 of the last 4 evaluations")
    assert d.since_step == 500  # the window is the last 5 evaluations, from step 2 * 250


def test_two_stable_modes_with_noisy_leader_are_not_hopping():
    rng = np.random.default_rng(3)
    hists = [[int(c) for c in rng.multinomial(2400, [0.5, 0.5])] + [0] * 6 for _ in range(8)]
    assert detect_mode_hopping(evals_from(hists)) is None


def test_full_coverage_is_not_hopping():
    assert detect_mode_hopping(healthy_evals(k=8, n_evals=10)) is None


def test_stray_points_before_g_reaches_the_data_are_not_hopping():
    """Early on a handful of HQ samples (here 12 of 2,500) jump between modes by chance: not hopping."""
    hists = []
    for mode in (0, 3, 5, 1, 6, 2):
        h = [0] * 8
        h[mode] = 12
        hists.append(h)
    assert detect_mode_hopping(evals_from(hists)) is None
    assert detect_mode_hopping(evals_from([[c * 200 for c in h] for h in hists])) is not None


def test_a_single_move_is_not_hopping():
    a, b = [2000, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 2000, 0, 0, 0, 0]
    assert detect_mode_hopping(evals_from([a, a, a, b, b, b])) is None  # 1 change in 4 transitions


# --- vanishing gradients ------------------------------------------------------------------------------

def frozen_generator(n: int = 300) -> dict[str, np.ndarray]:
    """The frozen-generator experiment: D wins, G's gradient falls from 5e-2 to 1e-5, D(fake) 1e-5."""
    rng = np.random.default_rng(1)
    grad_g = np.concatenate([noisy(rng, 5e-2, 40), np.geomspace(5e-2, 1e-5, 60), noisy(rng, 1e-5, n - 100)])
    d_fake = np.concatenate([np.full(40, 0.4), np.geomspace(0.4, 1e-5, 60), np.full(n - 100, 1e-5)])
    d_real = np.concatenate([np.full(40, 0.6), np.linspace(0.6, 0.99999, 60), np.full(n - 100, 0.99999)])
    return metrics(n, loss_d=noisy(rng, 0.1, n), loss_g=noisy(rng, -1e-5, n), d_real=d_real, d_fake=d_fake,
                   grad_norm_d=noisy(rng, 0.5, n), grad_norm_g=grad_g)


def test_vanishing_gradients_fires_on_the_frozen_generator_experiment():
    m = frozen_generator()
    d = detect_vanishing_gradients(m, "minimax")
    assert d is not None and d.kind == "vanishing_gradients" and d.severity == "error"
    # early level: median of the first 20 rows (~5e-2); the run starts where the fall passes early / 100
    early = float(np.median(m["grad_norm_g"][:20]))
    first_below = int(np.argmax(m["grad_norm_g"] < early / 100))
    # 5e-2 * (1e-5 / 5e-2)^(i / 59) < 5e-4 for i > 59 ln(100) / ln(5000) = 31.9: row 40 + 32 (+-1 for the noise)
    assert 71 <= first_below <= 73
    assert d.since_step == int(m["step"][first_below])
    assert "5e-02 -> 1e-05" in d.title
    assert "non-saturating" in d.suggestion
    kinds = {x.kind for x in diagnose(m, {}, "minimax")}
    assert kinds == {"vanishing_gradients", "d_overpowering"}


def test_small_gradients_with_an_unsure_d_are_not_vanishing():
    m = frozen_generator()
    m["d_fake"][:] = 0.3  # D is not confident: a small gradient is a converged G, not a starved one
    assert detect_vanishing_gradients(m, "nonsaturating") is None


def test_gradient_dip_shorter_than_the_window_is_ignored():
    rng = np.random.default_rng(2)
    g = noisy(rng, 0.3, 200)
    g[150:160] = 1e-5
    assert detect_vanishing_gradients(metrics(200, grad_norm_g=g, d_fake=np.full(200, 1e-3)), "minimax") is None


def test_vanishing_without_d_probabilities_uses_the_gradient_alone():
    rng = np.random.default_rng(4)
    g = np.concatenate([noisy(rng, 1.0, 50), noisy(rng, 1e-3, 50)])
    d = detect_vanishing_gradients(metrics(100, grad_norm_g=g), "lsgan")
    assert d is not None and d.since_step == 500 and "D gives fakes" not in d.title


# --- D overpowering -----------------------------------------------------------------------------------

def overpowered(n: int = 200, start: int = 100, seed: int = 0) -> dict[str, np.ndarray]:
    m = healthy_nonsaturating(n, seed)
    rng = np.random.default_rng(seed)
    m["d_real"][start:] = np.clip(0.99 + 0.005 * rng.standard_normal(n - start), 0, 1)
    m["d_fake"][start:] = np.clip(0.01 + 0.005 * rng.standard_normal(n - start), 0, 1)
    return m


def test_d_overpowering_fires_with_values_and_span():
    d = detect_d_overpowering(overpowered())
    assert d is not None and d.since_step == 1000 and d.severity == "warning"
    assert d.title == "D overpowering G: D(real) 0.99, D(fake) 0.01 for the last 990 steps (since step 1000)"


def test_d_overpowering_tolerates_a_few_noisy_rows():
    m = overpowered()
    m["d_fake"][[130, 170, 190]] = 0.2  # 3 misses in 100 rows
    d = detect_d_overpowering(m)
    assert d is not None and d.since_step == 1000


def test_d_overpowering_must_be_sustained():
    assert detect_d_overpowering(overpowered(start=200 - SUSTAIN_ROWS + 5)) is None


def test_d_overpowering_is_over_once_d_stops_winning():
    m = overpowered()
    m["d_real"][-15:] = 0.6
    m["d_fake"][-15:] = 0.4
    assert detect_d_overpowering(m) is None


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


# --- diagnose(): robustness and speed -----------------------------------------------------------------

def test_diagnose_orders_errors_first():
    m = frozen_generator()
    out = diagnose(m, collapsed_evals(), "minimax")
    assert [d.severity for d in out] == sorted((d.severity for d in out), key=lambda s: s != "error")
    assert all(isinstance(d, Diagnosis) for d in out)


def test_columns_of_different_lengths_are_cut_to_the_common_rows():
    m = overpowered()
    m["d_fake"] = m["d_fake"][:-1]  # a row being appended
    d = detect_d_overpowering(m)
    assert d is not None and d.title.endswith("for the last 980 steps (since step 1000)")


def test_missing_step_column_uses_row_numbers():
    m = overpowered()
    del m["step"]
    assert detect_d_overpowering(m).since_step == 100


# values near every threshold, special values, and arbitrary floats
values = st.one_of(st.sampled_from([np.nan, np.inf, -np.inf, 0.0, 1e-5, 0.01, 0.5, 0.99, 1.0, 2.0, 8.0, 1e7, -1.0]),
                   st.floats(allow_nan=True, allow_infinity=True, width=32))


@settings(max_examples=examples(300), deadline=None)
@given(data=st.data(), n=st.integers(0, 60), loss=st.sampled_from(LOSSES))
def test_diagnose_never_raises(data, n, loss):
    m = {name: data.draw(hnp.arrays(np.float32, st.integers(max(0, n - 2), n), elements=values))
         for name in data.draw(st.sets(st.sampled_from(("step", *COLUMNS))))}
    e_n = data.draw(st.integers(0, 8))
    k = data.draw(st.integers(1, 6))
    ev = {name: data.draw(hnp.arrays(np.float64, e_n, elements=values))
          for name in ("step", "modes_covered", "modes_total", "hq_fraction", "kl_uniform")}
    ev["histogram"] = data.draw(hnp.arrays(np.float64, (e_n, k), elements=values))
    clip = data.draw(st.one_of(st.none(), st.floats(1e-4, 1.0)))
    out = diagnose(m, ev, loss, clip=clip)
    assert all(d.severity in ("warning", "error") for d in out)


def test_diagnose_on_4000_rows_is_fast():
    m = frozen_generator(4000)
    ev = collapsed_evals()
    diagnose(m, ev, "minimax")
    best = min(_timed(lambda: diagnose(m, ev, "minimax")) for _ in range(10))
    assert best < 0.005


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def test_thresholds_are_consistent():
    # KL > log 2 <=> perplexity below K/2: the same "half the modes" as the coverage rule
    assert COLLAPSE_KL == pytest.approx(math.log(1 / COLLAPSE_COVERED_SHARE))
    assert OVERPOWER_D_FAKE == CONFIDENT_D_FAKE
