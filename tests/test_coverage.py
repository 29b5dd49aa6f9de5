"""Mode and class coverage against hand-computed values (Unrolled GAN / VEEGAN / PacGAN protocol)."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gancore.data.toy import grid, ring
from gancore.evaluate.coverage import (HQ_THRESHOLD, N_EVAL_SAMPLES, STRICT_SHARE, ModeCoverage, assign_modes,
                                       class_coverage, class_histogram, histogram_kl_uniform, mode_coverage)

from properties import examples

CENTRES = np.array([[0.0, 0.0], [10.0, 0.0]])
STDS = np.array([1.0, 2.0])
# mode 0: 0.5 std (HQ), exactly 3.0 std (HQ: <=), 3.1 std (not HQ); mode 1: 5/2 = 2.5 std (HQ), 3.5 std (not)
SAMPLES = np.array([[0.5, 0.0], [3.0, 0.0], [3.1, 0.0], [10.0, 5.0], [10.0, 7.0]])


def test_protocol_constants():
    assert N_EVAL_SAMPLES == 2500
    assert HQ_THRESHOLD == 3.0
    assert STRICT_SHARE == 0.2


def test_hand_computed_coverage():
    c = mode_coverage(SAMPLES, CENTRES, STDS)
    assert isinstance(c, ModeCoverage)
    assert c.counts.tolist() == [2, 1]
    assert c.n_samples == 5
    assert c.hq_fraction == pytest.approx(3 / 5)
    assert (c.modes_total, c.modes_covered, c.modes_covered_strict) == (2, 2, 2)
    assert c.kl_uniform == pytest.approx(2 / 3 * math.log(4 / 3) + 1 / 3 * math.log(2 / 3))
    assert c.threshold == 3.0 and c.min_confidence is None
    assert c.strict_min_count == pytest.approx(0.2 * 5 / 2)


def test_distance_is_measured_in_each_modes_std():
    index, dist = assign_modes(SAMPLES, CENTRES, STDS)
    assert index.tolist() == [0, 0, 0, 1, 1]
    np.testing.assert_allclose(dist, [0.5, 3.0, 3.1, 2.5, 3.5])


def test_nearest_centre_is_euclidean():
    # (4.5, 0) is 4.5 from mode 0 and 5.5 from mode 1: assigned to mode 0, where it is 4.5 std out (not HQ),
    # although it would be 2.75 std from mode 1 (PacGAN's std-scaled arg-min; same thing for equal stds)
    c = mode_coverage(np.array([[4.5, 0.0]]), CENTRES, STDS)
    assert c.counts.tolist() == [0, 0]


def test_threshold_and_strict_share_are_parameters():
    assert mode_coverage(SAMPLES, CENTRES, STDS, threshold=2.0).counts.tolist() == [1, 0]
    # strict needs counts >= share * 5 / 2: share 0.8 -> 2.0 (mode 0 only), share 1.0 -> 2.5 (neither)
    assert mode_coverage(SAMPLES, CENTRES, STDS, strict_share=0.8).modes_covered_strict == 1
    assert mode_coverage(SAMPLES, CENTRES, STDS, strict_share=1.0).modes_covered_strict == 0


def test_strict_coverage_ignores_stray_points():
    centres = np.array([[0.0], [10.0], [20.0], [30.0]])
    x = np.concatenate([np.zeros(97), [10.0, 20.0, 30.0]])  # one stray point in each of three modes
    c = mode_coverage(x, centres, np.ones(4))
    assert c.modes_covered == 4  # PacGAN: one HQ sample is enough
    assert c.modes_covered_strict == 1  # strict: needs 0.2 * 100 / 4 = 5


def test_non_finite_samples_are_never_hq():
    x = np.array([[np.nan, 0.0], [np.inf, 0.0], [0.0, 0.0]])
    c = mode_coverage(x, CENTRES, STDS)
    assert c.counts.tolist() == [1, 0]
    assert c.hq_fraction == pytest.approx(1 / 3)


def test_no_hq_sample_gives_nan_kl_like_pacgan():
    c = mode_coverage(np.array([[5.0, 50.0]]), CENTRES, STDS)
    assert c.modes_covered == 0 and c.hq_fraction == 0.0
    assert math.isnan(c.kl_uniform)


def test_true_mixture_samples_hit_the_chi_square_rate():
    # 2-D isotropic Gaussian: P(|z| <= 3) = 1 - exp(-9/2) = 0.98889; binomial sd at n = 20,000 is 0.00074
    m = grid(5, 2.0, 0.05)
    rng = np.random.default_rng(0)
    x = m.centres[rng.integers(25, size=20000)] + 0.05 * rng.standard_normal((20000, 2))
    c = mode_coverage(x, m.centres, m.stds)
    assert c.hq_fraction == pytest.approx(1 - math.exp(-4.5), abs=0.003)
    assert c.modes_covered == c.modes_covered_strict == 25
    assert c.kl_uniform < 0.005  # ~ (K - 1) / (2 n) for a uniform multinomial


def test_collapsed_generator_on_a_ring():
    m = ring(8, 2.0, 0.02)
    x = np.repeat(m.centres[[1, 4]], [1500, 1000], axis=0)
    c = mode_coverage(x, m.centres, m.stds)
    assert c.counts.tolist() == [0, 1500, 0, 0, 1000, 0, 0, 0]
    assert c.modes_covered == 2
    assert c.kl_uniform == pytest.approx(0.6 * math.log(0.6 * 8) + 0.4 * math.log(0.4 * 8))


def test_counts_are_read_only_and_as_dict_is_plain():
    c = mode_coverage(SAMPLES, CENTRES, STDS)
    with pytest.raises(ValueError):
        c.counts[0] = 7
    d = c.as_dict()
    assert d["counts"] == [2, 1] and type(d["counts"][0]) is int


def test_one_dimensional_inputs():
    c = mode_coverage(np.array([-2.1, -1.9, 2.0, 5.0]), np.array([-2.0, 2.0]), np.array([0.4, 0.4]))
    assert c.counts.tolist() == [2, 1]


def test_bad_shapes_raise():
    with pytest.raises(ValueError):
        mode_coverage(np.zeros((3, 3)), CENTRES, STDS)
    with pytest.raises(ValueError):
        mode_coverage(SAMPLES, CENTRES, np.array([1.0, 0.0]))


@settings(max_examples=examples(60), deadline=None)
@given(n=st.integers(0, 40), k=st.integers(1, 6), seed=st.integers(0, 2**32 - 1))
def test_vectorised_assignment_matches_a_loop(n, k, seed):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-5, 5, size=(k, 2))
    stds = rng.uniform(0.1, 1.0, size=k)
    x = rng.uniform(-6, 6, size=(n, 2))
    counts = np.zeros(k, dtype=int)
    for p in x:
        d = np.linalg.norm(centres - p, axis=1)
        j = int(np.argmin(d))
        counts[j] += d[j] <= 3.0 * stds[j]
    assert mode_coverage(x, centres, stds).counts.tolist() == counts.tolist()


def test_mode_coverage_is_fast():
    m = grid(5, 2.0, 0.05)
    x = np.random.default_rng(1).uniform(-5, 5, size=(N_EVAL_SAMPLES, 2)).astype(np.float32)
    mode_coverage(x, m.centres, m.stds)
    best = min(_timed(lambda: mode_coverage(x, m.centres, m.stds)) for _ in range(10))
    assert best < 0.005


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


# --- histograms -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("counts, expected", [
    ([3, 3, 3], 0.0),
    ([5, 5, 0, 0], math.log(2)),  # even over m of K bins: log(K / m)
    ([1, 0, 0, 0], math.log(4)),  # one bin: log K
    ([2, 1], 2 / 3 * math.log(4 / 3) + 1 / 3 * math.log(2 / 3)),
])
def test_histogram_kl_uniform_hand_values(counts, expected):
    assert histogram_kl_uniform(np.array(counts)) == pytest.approx(expected, abs=1e-12)


def test_histogram_kl_uniform_empty_is_nan():
    assert math.isnan(histogram_kl_uniform(np.zeros(4)))
    assert math.isnan(histogram_kl_uniform(np.zeros(0)))
    with pytest.raises(ValueError):
        histogram_kl_uniform(np.array([1, -1]))


@settings(max_examples=examples(100), deadline=None)
@given(hnp.arrays(np.int64, st.integers(1, 12), elements=st.integers(0, 1000)), st.integers(1, 5))
def test_histogram_kl_uniform_is_log_k_minus_entropy(counts, scale):
    kl = histogram_kl_uniform(counts)
    if counts.sum() == 0:
        assert math.isnan(kl)
        return
    p = counts[counts > 0] / counts.sum()
    assert kl == pytest.approx(math.log(counts.size) + float(np.sum(p * np.log(p))), abs=1e-9)
    assert -1e-12 <= kl <= math.log(counts.size) + 1e-12
    assert histogram_kl_uniform(counts * scale) == pytest.approx(kl, abs=1e-9)  # depends on p only
    assert histogram_kl_uniform(counts[::-1]) == pytest.approx(kl, abs=1e-9)


def test_class_histogram():
    assert class_histogram(np.array([0, 2, 2, 1, 2]), 4).tolist() == [1, 1, 3, 0]
    assert class_histogram(np.array([], dtype=int), 3).tolist() == [0, 0, 0]
    with pytest.raises(ValueError):
        class_histogram(np.array([0, 4]), 4)


def test_class_coverage_counts_every_sample_by_default():
    c = class_coverage(np.array([0, 0, 1, 3]), 4)
    assert c.counts.tolist() == [2, 1, 0, 1]
    assert c.hq_fraction == 1.0 and c.modes_covered == 3 and c.threshold is None
    assert c.kl_uniform == pytest.approx(0.5 * math.log(2) + 2 * 0.25 * math.log(1))
    assert c.modes_covered_strict == 3  # needs 0.2 * 4 / 4 = 0.2


def test_class_coverage_with_a_confidence_threshold():
    c = class_coverage(np.array([0, 0, 1, 3]), 4, confidences=np.array([0.9, 0.4, 0.95, 0.99]), min_confidence=0.5)
    assert c.counts.tolist() == [1, 1, 0, 1]
    assert c.hq_fraction == pytest.approx(0.75) and c.min_confidence == 0.5
    with pytest.raises(ValueError):
        class_coverage(np.array([0]), 2, min_confidence=0.5)
