"""Each detector fires on a synthetic history showing its failure and stays quiet on healthy ones (runs that
blow up or stall: test_diagnose_blowups.py)."""

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
from gancore.evaluate.detect_training import (CONFIDENT_D_FAKE, OVERPOWER_D_FAKE, detect_d_overpowering,
                                              detect_vanishing_gradients)
from gancore.evaluate.diagnose import diagnose
from gancore.evaluate.diagnosis import SUSTAIN_ROWS, Diagnosis

from properties import examples

from diagnose_support import COLUMNS, evals_from, healthy_evals, healthy_nonsaturating, healthy_wgan_gp, \
    metrics, noisy

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
