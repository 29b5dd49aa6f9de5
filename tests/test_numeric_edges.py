"""Edges of the numeric core, derived on paper: the boundaries (one sample, one bin, empty input, a value
exactly on a threshold), the exact refusal messages, and the store's bucket arithmetic over many merges.
These are the cases mutation testing found unguarded (tests/README.md)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from torch import nn

from gancore.evaluate.coverage import (assign_modes, class_coverage, class_histogram, histogram_kl_uniform,
                                       mode_coverage)
from gancore.evaluate.distances import (frechet_distance, grid_histogram, js_divergence, js_grid, kde_1d,
                                        mixture_pdf_1d, random_directions, sliced_wasserstein, w1_exact)
from gancore.losses import gradient_penalty
from gancore.metrics import Event, MetricsStore

SQRT_2PI = math.sqrt(2 * math.pi)


def refuses(message: str):
    return pytest.raises(ValueError, match="^" + re.escape(message) + "$")


# --- distances --------------------------------------------------------------------------------------------
def test_grid_histogram_cells_on_a_shifted_box_and_one_axis() -> None:
    # box [2, 4] with 2 bins: cells [2, 3) and [3, 4]; a bare (n,) array is n points of one axis
    assert grid_histogram(np.array([2.1, 3.9, 3.5]), bounds=np.array([[2.0, 4.0]]), bins=2).tolist() == [1, 2]
    assert grid_histogram(np.array([[2.1], [9.0]]), bounds=[2.0, 4.0], bins=1).tolist() == [2]  # one bin: all
    empty = grid_histogram(np.zeros((0, 2)), bounds=np.array([[0, 1], [0, 1]]), bins=3)
    assert empty.shape == (3, 3) and empty.sum() == 0


def test_grid_histogram_refusals_name_the_problem() -> None:
    with refuses("points (3, 2) need bounds of shape (2, 2)"):
        grid_histogram(np.zeros((3, 2)), bounds=np.array([[0.0, 1.0]]))
    with refuses("points (2, 2, 2) need bounds of shape (d, 2)"):
        grid_histogram(np.zeros((2, 2, 2)), bounds=np.array([[0.0, 1.0]] * 2))
    with refuses("bounds need lo < hi on every axis, got [[1.0, 1.0]]"):
        grid_histogram(np.zeros(3), bounds=np.array([[1.0, 1.0]]))
    with refuses("bins must be >= 1"):
        grid_histogram(np.zeros(3), bounds=np.array([[0.0, 1.0]]), bins=0)


def test_js_divergence_refusal_and_empty_histograms() -> None:
    with refuses("histograms differ in size: (2,) vs (3,)"):
        js_divergence(np.ones(2), np.ones(3))
    assert math.isnan(js_divergence(np.zeros(2), np.ones(2))) and math.isnan(js_divergence(np.ones(2), np.zeros(2)))


def test_kde_bandwidth_floors_at_one_grid_step_and_handles_one_point() -> None:
    grid = np.linspace(0.0, 1.0, 11)  # step 0.1
    one = kde_1d(np.array([0.5]), grid)  # std 0 for one sample: the kernel is one grid step wide
    assert one[5] == pytest.approx(1 / (0.1 * SQRT_2PI))
    two = kde_1d(np.array([0.0, 10.0]), grid)  # Scott: std(ddof=1) = 7.07, h = 7.07 * 2^-0.2 = 6.155
    h = math.sqrt(50) * 2 ** -0.2
    expected = (math.exp(-0.5 * (0.5 / h) ** 2) + math.exp(-0.5 * (9.5 / h) ** 2)) / (2 * h * SQRT_2PI)
    assert two[5] == pytest.approx(expected, rel=1e-9)
    lone = kde_1d(np.array([5.0]), np.array([5.0]))  # one point on a one-point grid: h = 1e-3 * 5
    assert lone[0] == pytest.approx(1 / (5e-3 * SQRT_2PI))
    assert kde_1d(np.array([0.0]), np.array([0.0]), bandwidth=2.0)[0] == pytest.approx(1 / (2 * SQRT_2PI))
    with refuses("kde_1d needs at least one sample"):
        kde_1d(np.array([]), grid)
    with refuses("bandwidth must be positive, got -1.0"):
        kde_1d(np.array([0.0]), grid, bandwidth=-1.0)
    assert np.isnan(kde_1d(np.array([0.0, np.nan]), grid)).all()


def test_mixture_pdf_hand_values_and_refusal() -> None:
    pdf = mixture_pdf_1d(np.array([0.0, 2.0]), np.array([0.0, 2.0]), 1.0)  # scalar std for both modes
    both = (1 + math.exp(-2)) / (2 * SQRT_2PI)
    np.testing.assert_allclose(pdf, [both, both])
    assert mixture_pdf_1d(np.array([1.0]), np.array([1.0]), np.array([0.5]))[0] == pytest.approx(1 / (0.5 * SQRT_2PI))
    with refuses("need at least one centre and positive stds"):
        mixture_pdf_1d(np.zeros(2), np.zeros(0), 1.0)
    with refuses("need at least one centre and positive stds"):
        mixture_pdf_1d(np.zeros(2), np.zeros(2), np.array([1.0, 0.0]))


def test_pair_refusals_and_one_dimensional_samples() -> None:
    assert w1_exact(np.array([0.0, 1.0]), np.array([3.0, 2.0])) == 2.0  # (n,) arrays are 1-D samples
    with refuses("need equal sample counts, got 2 and 3"):
        w1_exact(np.zeros((2, 2)), np.zeros((3, 2)))
    with refuses("samples differ in dimension: 2 vs 1"):
        w1_exact(np.zeros((2, 2)), np.zeros((2, 1)))
    with refuses("need at least one sample"):
        w1_exact(np.zeros(0), np.zeros(0))
    assert math.isnan(sliced_wasserstein(np.array([[np.inf, 0.0]]), np.zeros((1, 2))))


def test_sliced_wasserstein_of_a_shift_and_its_float32_path() -> None:
    """Shifting every point by t moves each projection by <t, u>: SW1 = mean |<t, u>| over the directions."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 3))
    t = np.array([1.0, -2.0, 0.5])
    u = random_directions(3, 64, seed=5)
    assert u.shape == (3, 64) and np.allclose(np.linalg.norm(u, axis=0), 1.0)
    expected = float(np.mean(np.abs(t @ u)))
    assert sliced_wasserstein(x, x + t, n_projections=64, seed=5) == pytest.approx(expected, rel=1e-9)
    single = sliced_wasserstein(x.astype(np.float32), (x + t).astype(np.float32), n_projections=64, seed=5)
    assert single == pytest.approx(expected, rel=1e-5)


def test_frechet_refusals_and_a_shifted_gaussian() -> None:
    with refuses("feature sizes differ: 2 vs 3"):
        frechet_distance(np.zeros((4, 2)), np.zeros((4, 3)))
    with refuses("need at least 2 samples per set to estimate a covariance"):
        frechet_distance(np.zeros((1, 2)), np.zeros((4, 2)))
    with refuses("features must be (n, F), got shape (2, 2, 2)"):
        frechet_distance(np.zeros((2, 2, 2)), np.zeros((2, 2, 2)))
    x = np.random.default_rng(1).standard_normal((40, 2))
    assert frechet_distance(x, x + np.array([3.0, 4.0])) == pytest.approx(25.0, rel=1e-6)  # same covariance
    assert math.isnan(frechet_distance(np.array([[np.nan, 0], [0, 0]]), np.zeros((2, 2))))


# --- coverage ---------------------------------------------------------------------------------------------
def test_kl_uniform_edges() -> None:
    assert math.isnan(histogram_kl_uniform(np.array([]))) and math.isnan(histogram_kl_uniform(np.zeros(3)))
    assert math.isnan(histogram_kl_uniform(np.array([1.0, np.nan])))
    assert histogram_kl_uniform(np.array([[2, 0], [0, 0]])) == pytest.approx(math.log(4))  # any shape: flattened
    with refuses("histogram counts must be non-negative"):
        histogram_kl_uniform(np.array([1, -1]))


def test_class_histogram_takes_integral_floats_and_refuses_the_rest() -> None:
    counts = class_histogram(np.array([0.0, 2.0, 2.0]), 3)
    assert counts.tolist() == [1, 0, 2] and counts.dtype == np.int64
    assert class_histogram(np.array([], dtype=np.float64), 2).tolist() == [0, 0]
    for bad in ([0.5], [np.nan], [np.inf]):
        with refuses("labels must be integers"):
            class_histogram(np.array(bad), 3)
    with refuses("labels must lie in [0, 3), got [-1, 3]"):
        class_histogram(np.array([-1, 3]), 3)


def test_assign_modes_edges() -> None:
    index, dist = assign_modes(np.zeros((0, 2)), np.zeros((1, 2)), np.ones(1))
    assert index.shape == dist.shape == (0,) and index.dtype == np.int64
    # a sample at the origin (zero coordinates) goes to the centre there
    index, dist = assign_modes(np.array([[0.0, 0.0], [5.0, 5.0]]), np.array([[5.0, 5.0], [0.0, 0.0]]), np.ones(2))
    assert index.tolist() == [1, 0] and dist.tolist() == [0.0, 0.0]
    index, dist = assign_modes(np.array([[np.nan, 0.0], [1.0, 0.0]]), np.array([[0.0, 0.0]]), np.array([0.5]))
    assert math.isnan(dist[0]) and dist[1] == 2.0  # distances in the mode's std
    index, dist = assign_modes(np.array([0.0, 3.0]), np.array([0.0, 4.0]), np.array([1.0, 2.0]))  # 1-D inputs
    assert index.tolist() == [0, 1] and dist.tolist() == [0.0, 0.5]


def test_mixture_refusals() -> None:
    with refuses("samples (3, 2) and centres (2, 3) must be (n, d) and (K, d)"):
        mode_coverage(np.zeros((3, 2)), np.zeros((2, 3)), np.ones(2))
    with refuses("need at least one centre"):
        mode_coverage(np.zeros((3, 2)), np.zeros((0, 2)), np.ones(0))
    with refuses("stds must be positive"):
        mode_coverage(np.zeros((3, 2)), np.zeros((2, 2)), np.array([1.0, 0.0]))


def test_class_coverage_confidence_on_the_threshold_counts() -> None:
    c = class_coverage(np.array([0, 1, 1, 2]), 3, confidences=np.array([0.9, 0.5, 0.49, 0.1]), min_confidence=0.5)
    assert c.counts.tolist() == [1, 1, 0] and c.n_samples == 4 and c.hq_fraction == 0.5  # 0.5 itself is kept
    assert c.min_confidence == 0.5 and c.threshold is None
    with refuses("min_confidence needs confidences"):
        class_coverage(np.array([0]), 2, min_confidence=0.5)
    with refuses("confidences (1,) and labels (2,) differ in length"):
        class_coverage(np.array([0, 1]), 2, confidences=np.array([1.0]), min_confidence=0.5)
    empty = class_coverage(np.array([], dtype=np.int64), 2)
    assert math.isnan(empty.hq_fraction) and empty.modes_covered == empty.modes_covered_strict == 0


# --- the gradient penalty's interpolates --------------------------------------------------------------------
class HalfSquare(nn.Module):
    """D(x) = |x|^2 / 2, so grad D(x) = x: the penalty reads the interpolate's norm directly."""

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return 0.5 * (x ** 2).sum(1)


def test_gradient_penalty_sits_on_the_interpolate() -> None:
    # x_hat = 0.25 (2, 0) + 0.75 (4, 0) = (3.5, 0): (|x_hat| - 1)^2 = 6.25
    gp = gradient_penalty(HalfSquare(), torch.tensor([[2.0, 0.0]]), torch.tensor([[4.0, 0.0]]), None,
                          torch.tensor([[0.25]]))
    assert gp.item() == pytest.approx(6.25)


# --- the store's buckets ----------------------------------------------------------------------------------
def test_buckets_double_and_average_over_several_merges() -> None:
    """recent=1, history=2: rows 1..8 leave the window in turn. 1, 2 fill the history; 3 merges them to
    1.5 (buckets of 2); 4+5 close a bucket of 2, merging (1.5, 3) to 2.25 (buckets of 4); 6-8 wait; 9 is
    recent. The NaN-only column stays NaN through every merge."""
    store = MetricsStore(["step", "gp"], recent=1, history=2)
    for step in range(1, 10):
        store.append(np.array([[step, np.nan]], np.float32))
    cols = store.snapshot().columns
    assert cols["step"].tolist() == [2.25, 4.5, 9.0] and np.isnan(cols["gp"]).all()


def test_one_row_at_a_time_through_a_small_window() -> None:
    store = MetricsStore(["step"], recent=3, history=8)
    for step in range(1, 6):
        store.append(np.array([[step]], np.float32))
    assert store.snapshot().columns["step"].tolist() == [1, 2, 3, 4, 5]


def test_default_bounds() -> None:
    store = MetricsStore(["step", "x"])
    assert store.nbytes() == (4096 + 4096) * 2 * 4  # float32 recent rows plus history buckets
    for step in range(1001):
        store.add_event(Event(step, "lr_d", 1, 2))
    snap = store.snapshot()
    assert len(snap.events) == 1000 and snap.events[0].step == 1 and snap.version == 1001
    assert store.index == {"step": 0, "x": 1} and store.created > 1e9


def test_more_boundaries_mutation_testing_found() -> None:
    # 1-D data given as (n, 1) samples and (K,) centres
    assert mode_coverage(np.array([[0.0], [4.1]]), np.array([0.0, 4.0]), 1.0).counts.tolist() == [1, 1]
    assert js_divergence(np.array([1, 0]), np.array([0, 1])) == pytest.approx(math.log(2))  # one count each
    box = np.array([[0.0, 1.0], [0.0, 1.0]])
    for real, fake in ((np.array([[np.nan, 0.5]]), np.array([[0.5, 0.5]])),
                       (np.array([[0.5, 0.5]]), np.array([[0.5, np.inf]]))):
        assert math.isnan(js_grid(real, fake, bounds=box))  # either side non-finite
    with refuses("bandwidth must be positive, got 0.0"):
        kde_1d(np.array([0.0]), np.array([0.0]), bandwidth=0.0)
    assert kde_1d(np.array([0.5]), np.array([0.5]))[0] == pytest.approx(1 / (1e-3 * SQRT_2PI))  # h = 1e-3
    h = math.sqrt(2) * 2 ** -0.2  # two samples 0, 2: Scott's rule beats the one step of a 2-point grid
    assert kde_1d(np.array([0.0, 2.0]), np.array([0.0, 1.0]))[1] == pytest.approx(
        2 * math.exp(-0.5 / h ** 2) / (2 * h * SQRT_2PI))
    np.testing.assert_array_equal(random_directions(3, 4), random_directions(3, 4, seed=0))  # seed 0 by default
    x = np.random.default_rng(2).standard_normal((20, 3))
    assert sliced_wasserstein(x, -x) == sliced_wasserstein(x, -x, seed=0)
    with refuses("need equal sample counts, got 2 and 3"):
        w1_exact(np.zeros((2, 3)), np.zeros((3, 3)))
    assert class_coverage(np.array([0, 1]), 2, strict_share=0.25).strict_share == 0.25
