"""Toy mixtures: mode centres, stds and labels are what the evaluation relies on."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gancore.data import DATASETS, make_dataset


def test_ring_centres_lie_on_the_circle() -> None:
    ring = make_dataset("ring", modes=6, radius=3.0, std=0.1)
    assert ring.centres.shape == (6, 2)
    assert np.allclose(np.linalg.norm(ring.centres, axis=1), 3.0)
    angles = np.sort(np.arctan2(ring.centres[:, 1], ring.centres[:, 0]))
    assert np.allclose(np.diff(angles), 2 * np.pi / 6, atol=1e-5)


def test_grid_is_centred_with_the_given_spacing() -> None:
    grid = make_dataset("grid")
    assert grid.centres.shape == (25, 2)
    assert sorted(set(grid.centres[:, 0].round(6))) == [-4, -2, 0, 2, 4]
    assert np.allclose(grid.stds, 0.05)


def test_samples_come_from_their_labelled_mode_with_the_right_std() -> None:
    ring = make_dataset("ring", std=0.05)
    x, labels = ring.sample(20000, torch.Generator().manual_seed(0))
    offsets = x.numpy() - ring.centres[labels.numpy()]
    assert np.std(offsets) == pytest.approx(0.05, rel=0.03)
    counts = np.bincount(labels.numpy(), minlength=8)
    assert counts.min() > 20000 / 8 * 0.9  # equal-weight mixture


def test_same_generator_seed_gives_the_same_samples() -> None:
    data = make_dataset("grid")
    a, _ = data.sample(100, torch.Generator().manual_seed(7))
    b, _ = data.sample(100, torch.Generator().manual_seed(7))
    assert torch.equal(a, b)


def test_swissroll_is_a_continuous_spiral_without_modes() -> None:
    roll = make_dataset("swissroll", radius=2.0, std=0.0)
    x, labels = roll.sample(2000, torch.Generator().manual_seed(0))
    r = np.linalg.norm(x.numpy(), axis=1)
    assert labels is None and roll.centres is None
    assert r.max() <= 2.0 + 1e-5 and r.min() == pytest.approx(2.0 / 3, abs=0.05)  # t from 1.5 pi to 4.5 pi


def test_blob_and_1d_mixture() -> None:
    blob = make_dataset("blob")
    assert np.allclose(blob.centres, [[4, 4]]) and np.allclose(blob.stds, 0.3)
    one = make_dataset("gauss1d", modes=3, radius=2.0, std=0.1)
    assert np.allclose(one.centres[:, 0], [-2, 0, 2]) and one.shape == (1,)


def test_every_toy_box_holds_its_data() -> None:
    for name, spec in DATASETS.items():
        if spec.is_image:
            continue
        data = make_dataset(name)
        x, _ = data.sample(5000, torch.Generator().manual_seed(1))
        box = data.bounds()
        assert (x.numpy() >= box[:, 0]).all() and (x.numpy() <= box[:, 1]).all(), name
