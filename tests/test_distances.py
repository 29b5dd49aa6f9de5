"""Distances and densities against closed forms and hand-computed values."""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from gancore.evaluate.distances import (frechet_distance, grid_histogram, js_divergence, js_grid, kde_1d,
                                        mixture_pdf_1d, optimal_discriminator, random_directions,
                                        sliced_wasserstein, w1_exact)

from properties import examples

RNG = np.random.default_rng(1234)
LOG2 = math.log(2.0)


# --- w1_exact -------------------------------------------------------------------------------------------

def test_w1_of_a_translated_copy_is_the_shift_length():
    # any matching costs >= ||mean displacement|| = |t| (Jensen), and the identity costs exactly |t|
    x = RNG.normal(size=(200, 2))
    assert w1_exact(x, x + np.array([3.0, 4.0])) == pytest.approx(5.0, abs=1e-12)


def test_w1_identical_sets_and_symmetry():
    x, y = RNG.normal(size=(100, 2)), RNG.normal(size=(100, 2)) + 0.3
    assert w1_exact(x, x[::-1]) == 0.0
    assert w1_exact(x, y) == pytest.approx(w1_exact(y, x), abs=1e-12)


def test_w1_hand_case_where_greedy_matching_is_wrong():
    # greedy pairs (0,0)-(1,0) [1] then (2,0)-(-1,0) [3]: mean 2; optimal (0,0)-(-1,0), (2,0)-(1,0): mean 1
    assert w1_exact(np.array([[0.0, 0.0], [2.0, 0.0]]), np.array([[1.0, 0.0], [-1.0, 0.0]])) == pytest.approx(1.0)


def test_w1_in_1d_equals_scipy_and_the_assignment():
    x, y = RNG.normal(size=300), RNG.gamma(2.0, size=300)
    expected = scipy.stats.wasserstein_distance(x, y)
    assert w1_exact(x, y) == pytest.approx(expected, rel=1e-12)
    assert w1_exact(x[:, None], y[:, None]) == pytest.approx(expected, rel=1e-12)
    cost = np.abs(x[:, None] - y[None, :])
    rows, cols = linear_sum_assignment(cost)
    assert cost[rows, cols].mean() == pytest.approx(expected, rel=1e-9)


@settings(max_examples=examples(40), deadline=None)
@given(n=st.integers(1, 6), seed=st.integers(0, 2**32 - 1))
def test_w1_equals_brute_force_over_permutations(n, seed):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(n, 2)), rng.normal(size=(n, 2))
    cost = np.linalg.norm(x[:, None] - y[None], axis=2)
    best = min(cost[np.arange(n), list(p)].mean() for p in itertools.permutations(range(n)))
    assert w1_exact(x, y) == pytest.approx(best, abs=1e-12)


def test_w1_rejects_unequal_sizes_and_returns_nan_for_non_finite():
    with pytest.raises(ValueError):
        w1_exact(np.zeros((3, 2)), np.zeros((4, 2)))
    assert math.isnan(w1_exact(np.array([[np.nan, 0.0]]), np.zeros((1, 2))))


def test_w1_512_points_is_live_fast():
    x, y = RNG.normal(size=(512, 2)), RNG.normal(size=(512, 2)) + 0.5
    best = min(_timed(lambda: w1_exact(x, y)) for _ in range(3))
    assert best < 1.0  # ~0.05-0.1 s on a 2-core CPU; a generous bound against regressions to O(n^4)


# --- js_grid --------------------------------------------------------------------------------------------

BOX = np.array([[0.0, 2.0], [0.0, 2.0]])  # with bins=2: four unit cells


def test_js_disjoint_supports_is_log_2():
    assert js_grid(np.array([[0.5, 0.5]] * 3), np.array([[1.5, 1.5]] * 5), bounds=BOX, bins=2) == pytest.approx(LOG2)


def test_js_identical_is_zero():
    x = RNG.uniform(0, 2, size=(100, 2))
    assert js_grid(x, x, bounds=BOX) == 0.0


def test_js_hand_computed_two_by_two():
    # p = (1/2, 1/2, 0, 0), q = (1/2, 0, 1/2, 0), m = (1/2, 1/4, 1/4, 0)
    # KL(p||m) = KL(q||m) = 1/2 log 2, so JS = 1/2 log 2
    real = np.array([[0.5, 0.5], [0.5, 1.5]])  # cells (0,0), (0,1)
    fake = np.array([[0.5, 0.5], [1.5, 0.5]])  # cells (0,0), (1,0)
    assert js_grid(real, fake, bounds=BOX, bins=2) == pytest.approx(0.5 * LOG2)


def test_js_counts_every_point_and_clips_outside_points_into_edge_cells():
    # three real points: two in cell (0,0), one far outside the top-right corner -> cell (1,1)
    real = np.array([[0.1, 0.2], [-7.0, -9.0], [40.0, 30.0]])
    fake = np.array([[0.3, 0.3]])  # cell (0,0)
    # p = (2/3, 0, 0, 1/3), q = (1, 0, 0, 0), m = (5/6, 0, 0, 1/6)
    expected = 0.5 * (2 / 3 * math.log(4 / 5) + 1 / 3 * math.log(2)) + 0.5 * math.log(6 / 5)
    assert js_grid(real, fake, bounds=BOX, bins=2) == pytest.approx(expected)
    assert grid_histogram(real, bounds=BOX, bins=2).tolist() == [[2, 0], [0, 1]]
    assert grid_histogram(np.array([[2.0, 2.0], [0.0, 0.0]]), bounds=BOX, bins=2).tolist() == [[1, 0], [0, 1]]


def test_js_of_two_samples_of_one_distribution_shrinks_with_n():
    rng = np.random.default_rng(0)
    box = np.array([[-3.0, 3.0], [-3.0, 3.0]])
    values = [js_grid(rng.normal(size=(n, 2)), rng.normal(size=(n, 2)), bounds=box) for n in (100, 10_000, 200_000)]
    assert values[0] > values[1] > values[2]
    assert values[2] < 0.003


def test_js_divergence_properties_and_nan():
    assert js_divergence(np.array([1, 3]), np.array([3, 1])) == pytest.approx(js_divergence(np.array([3, 1]),
                                                                                            np.array([1, 3])))
    assert math.isnan(js_divergence(np.zeros(3), np.ones(3)))
    assert math.isnan(js_grid(np.array([[np.nan, 0.0]]), np.zeros((1, 2)), bounds=BOX))


def test_js_grid_is_fast():
    x, y = RNG.normal(size=(2500, 2)), RNG.normal(size=(2500, 2))
    box = np.array([[-4.0, 4.0], [-4.0, 4.0]])
    assert min(_timed(lambda: js_grid(x, y, bounds=box)) for _ in range(5)) < 0.005


# --- sliced Wasserstein ---------------------------------------------------------------------------------

def test_sliced_in_one_dimension_is_exact_w1():
    x, y = RNG.normal(size=(256, 1)), RNG.exponential(size=(256, 1))
    assert sliced_wasserstein(x, y, n_projections=7) == pytest.approx(w1_exact(x, y), rel=1e-12)


def test_sliced_of_a_shift_is_the_mean_projected_shift():
    # every 1-D projection of x + s e is the projection of x moved by s <u, e>: its W1 is |s <u, e>|
    d, s = 12, 0.7
    x = RNG.normal(size=(64, d))
    e = np.zeros(d)
    e[3] = 1.0
    u = random_directions(d, 50, seed=5)
    expected = float(np.mean(np.abs(s * (u.T @ e))))
    assert sliced_wasserstein(x, x + s * e, n_projections=50, seed=5) == pytest.approx(expected, rel=1e-10)


def test_sliced_of_a_2d_shift_tends_to_two_over_pi_times_the_shift():
    # E|<u, e>| over the unit circle is E|cos(theta)| = 2 / pi
    x = RNG.normal(size=(100, 2))
    value = sliced_wasserstein(x, x + np.array([2.0, 0.0]), n_projections=20_000)
    assert value == pytest.approx(2.0 * 2.0 / math.pi, rel=0.02)


def test_sliced_flattens_images_and_is_zero_for_identical_sets():
    imgs = RNG.uniform(-1, 1, size=(30, 1, 4, 4))
    assert sliced_wasserstein(imgs, imgs[::-1]) == pytest.approx(0.0, abs=1e-12)
    assert sliced_wasserstein(imgs, imgs + 0.1) > 0
    with pytest.raises(ValueError):
        sliced_wasserstein(imgs, imgs[:10])


def test_sliced_in_float32_agrees_with_float64():
    x, y = RNG.uniform(-1, 1, size=(200, 64)), RNG.uniform(-1, 1, size=(200, 64)) + 0.05
    exact = sliced_wasserstein(x, y)
    assert sliced_wasserstein(x.astype(np.float32), y.astype(np.float32)) == pytest.approx(exact, rel=1e-4)


def test_random_directions_are_unit_and_seeded():
    u = random_directions(5, 8, seed=3)
    np.testing.assert_allclose(np.linalg.norm(u, axis=0), 1.0)
    np.testing.assert_array_equal(u, random_directions(5, 8, seed=3))
    assert not np.allclose(u, random_directions(5, 8, seed=4))


# --- Frechet distance -----------------------------------------------------------------------------------

def _whitened(n: int, f: int, seed: int) -> np.ndarray:
    """n samples whose sample mean is exactly 0 and sample covariance exactly I."""
    z = np.random.default_rng(seed).normal(size=(n, f))
    z -= z.mean(0)
    chol = np.linalg.cholesky(np.atleast_2d(np.cov(z, rowvar=False)))
    return z @ np.linalg.inv(chol).T


def test_frechet_identical_is_zero():
    x = RNG.normal(size=(500, 8))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8)


def test_frechet_of_diagonal_gaussians_has_the_closed_form():
    # d^2 = ||mu1 - mu2||^2 + sum_i (sqrt(a_i) - sqrt(b_i))^2 for diagonal covariances a, b
    a, b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, -1.0, 2.0])
    x = _whitened(400, 3, seed=1) * np.sqrt(a) + mu1
    y = _whitened(300, 3, seed=2) * np.sqrt(b) + mu2
    expected = 1.0 + 4.0 + 0.0 + (1 - 3) ** 2 + (2 - 1) ** 2 + 0.0
    assert frechet_distance(x, y) == pytest.approx(expected, rel=1e-9)


def test_frechet_of_one_feature_is_the_1d_gaussian_w2_squared():
    x = _whitened(100, 1, seed=3) * 2.0 + 1.0  # N(1, 4) exactly in sample moments
    y = _whitened(80, 1, seed=4) * 0.5 - 1.0  # N(-1, 0.25)
    assert frechet_distance(x, y) == pytest.approx((1 - -1) ** 2 + (2.0 - 0.5) ** 2, rel=1e-9)


def test_frechet_translation_adds_the_squared_shift():
    x = RNG.normal(size=(400, 6)) @ RNG.normal(size=(6, 6))
    t = np.array([1.0, -2.0, 0.5, 0.0, 3.0, 1.0])
    assert frechet_distance(x, x + t) == pytest.approx(float(t @ t), rel=1e-6)


@pytest.mark.filterwarnings("ignore::scipy.linalg.LinAlgWarning")
def test_frechet_survives_singular_covariances():
    x = RNG.normal(size=(5, 10))  # 5 samples in 10 dimensions: rank-4 covariances
    y = RNG.normal(size=(5, 10)) + 1.0
    value = frechet_distance(x, y)
    assert math.isfinite(value) and value > 9.0  # the means alone differ by about sqrt(10)
    const = np.ones((50, 3))  # zero covariance
    assert frechet_distance(const, const + 2.0) == pytest.approx(12.0, abs=1e-4)


def test_frechet_rejects_mismatched_features():
    with pytest.raises(ValueError):
        frechet_distance(np.zeros((4, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError):
        frechet_distance(np.zeros((1, 3)), np.zeros((4, 3)))


# --- 1-D densities --------------------------------------------------------------------------------------

def test_kde_default_is_scotts_rule_like_scipy():
    x = RNG.normal(size=500)
    grid = np.linspace(-4, 4, 801)
    np.testing.assert_allclose(kde_1d(x, grid), scipy.stats.gaussian_kde(x)(grid), rtol=1e-10, atol=1e-14)


def test_kde_integrates_to_one_and_matches_the_true_pdf():
    # noise-free "sample": the n quantiles of N(1, 0.5^2). The KDE of Gaussian data with kernel std h is
    # N(1, s^2 + h^2) (a convolution of Gaussians), with h = s n^(-1/5) by Scott's rule.
    n = 2000
    x = scipy.stats.norm.ppf((np.arange(n) + 0.5) / n, loc=1.0, scale=0.5)
    grid = np.linspace(-3, 5, 2001)
    density = kde_1d(x, grid)
    assert np.trapezoid(density, grid) == pytest.approx(1.0, abs=1e-6)
    s = x.std(ddof=1)
    h = s * n ** -0.2
    assert np.max(np.abs(density - scipy.stats.norm.pdf(grid, 1.0, math.hypot(s, h)))) < 2e-3  # peak ~0.78
    # against the true pdf the largest gap is the smoothing bias at the peak: (1/0.5 - 1/sqrt(s^2 + h^2)) / sqrt(2 pi)
    bias = (1 / 0.5 - 1 / math.hypot(s, h)) / math.sqrt(2 * math.pi)
    assert np.max(np.abs(density - scipy.stats.norm.pdf(grid, 1.0, 0.5))) == pytest.approx(bias, abs=2e-3)


def test_kde_with_explicit_bandwidth_of_one_point_is_the_kernel():
    grid = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_allclose(kde_1d(np.array([0.0]), grid, bandwidth=1.0), scipy.stats.norm.pdf(grid))


def test_kde_of_a_collapsed_generator_is_a_visible_unit_spike():
    grid = np.linspace(-2, 2, 401)  # step 0.01
    density = kde_1d(np.full(300, 0.537), grid)
    assert np.all(np.isfinite(density))
    assert grid[np.argmax(density)] == pytest.approx(0.54, abs=0.005)
    assert np.trapezoid(density, grid) == pytest.approx(1.0, abs=1e-3)
    assert math.isnan(kde_1d(np.array([0.0, np.nan]), grid)[0])


def test_mixture_pdf_hand_values():
    inv = 1 / math.sqrt(2 * math.pi)
    assert mixture_pdf_1d(np.array([0.0]), np.array([0.0]), np.array([1.0]))[0] == pytest.approx(inv)
    # modes at -1 and +1, std 1, equal weights: at 0 each contributes exp(-1/2) / sqrt(2 pi)
    assert mixture_pdf_1d(np.array([0.0]), np.array([-1.0, 1.0]), 1.0)[0] == pytest.approx(inv * math.exp(-0.5))
    # std 2 at its centre: 1 / (2 sqrt(2 pi)); averaged with a far-away mode: half of that
    assert mixture_pdf_1d(np.array([5.0]), np.array([[5.0], [-100.0]]), np.array([2.0, 1.0]))[0] == pytest.approx(
        0.5 * inv / 2)
    grid = np.linspace(-10, 10, 4001)
    assert np.trapezoid(mixture_pdf_1d(grid, np.array([-2.0, 2.0]), 0.4), grid) == pytest.approx(1.0, abs=1e-9)


def test_optimal_discriminator_hand_values():
    d = optimal_discriminator(np.array([1.0, 3.0, 0.0, 0.0, 2.0]), np.array([1.0, 1.0, 2.0, 0.0, 0.0]))
    np.testing.assert_allclose(d, [0.5, 0.75, 0.0, 0.5, 1.0])
    np.testing.assert_allclose(optimal_discriminator(np.array([[1.0], [0.0]]), np.array([3.0, 0.0])),
                               [[0.25, 1.0], [0.0, 0.5]])


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t
