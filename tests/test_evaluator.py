"""The evaluator wired to real trainers: perfect and collapsed generators give the numbers they must."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gancore.config import Config
from gancore.evaluate.evaluator import Evaluator
from gancore.run import Run
from gancore.records import ImageFrame, LineFrame, PlaneFrame
from gancore.train import Trainer

from run_support import stepped_snapshot


def with_generator(trainer: Trainer, fn) -> Trainer:
    """Replace G's sampling (what the evaluator calls) by `fn(z, labels)`."""
    trainer.generate = fn
    return trainer


def test_a_perfect_generator_covers_every_mode() -> None:
    t = Trainer(Config(device="cpu"))
    rng = torch.Generator().manual_seed(9)
    with_generator(t, lambda z, labels=None: t.data.sample(len(z), rng)[0])
    r = Evaluator().evaluate(t)
    assert r["modes_covered"] == r["modes_covered_strict"] == r["modes_total"] == 8
    # within 3 std of its centre: in 2-D the squared distance / std^2 is chi-square(2): P = 1 - exp(-9/2)
    assert r["hq_fraction"] == pytest.approx(1 - math.exp(-4.5), abs=0.006) and r["kl_uniform"] < 0.01
    assert r["w1_exact"] < 0.2 and r["js_grid"] < 0.05
    assert math.isnan(r["swd"]) and math.isnan(r["label_accuracy"])


def test_a_collapsed_generator_covers_one_mode() -> None:
    t = Trainer(Config(device="cpu"))
    centre = torch.as_tensor(t.data.centres[3])
    with_generator(t, lambda z, labels=None: centre.expand(len(z), 2).clone())
    r = Evaluator().evaluate(t)
    assert (r["modes_covered"], r["hq_fraction"]) == (1, 1.0)
    assert r["kl_uniform"] == pytest.approx(math.log(8))
    assert list(r.histogram) == [0, 0, 0, 2500, 0, 0, 0, 0]
    # every fake point sits on one mode: W1 is the mean distance from the real points to that centre
    expected = np.mean(np.linalg.norm(r.real[:512] - t.data.centres[3], axis=1))
    assert r["w1_exact"] == pytest.approx(expected, rel=0.02)


def test_conditional_toy_label_accuracy() -> None:
    t = Trainer(Config(device="cpu", conditional=True))
    centres = torch.as_tensor(t.data.centres)
    with_generator(t, lambda z, labels: centres[labels])  # exactly the asked mode
    assert Evaluator().evaluate(t)["label_accuracy"] == 1.0
    with_generator(t, lambda z, labels: centres[(labels + 1) % 8])  # always the next mode
    assert Evaluator().evaluate(t)["label_accuracy"] == 0.0


def test_images_real_digits_score_like_real_digits() -> None:
    """Feed the held-out digits themselves as 'generated': the classifier agrees with their labels, the
    histogram is flat, and the feature distance to the same images is ~0."""
    t = Trainer(Config(dataset="digits", conditional=True, device="cpu", width=32, depth=1))
    x, y = t.data.test_split()
    by_class = [x[y == k] for k in range(10)]

    def real_digits(z, labels):
        counts = [0] * 10
        out = []
        for label in labels.tolist():
            out.append(by_class[label][counts[label] % len(by_class[label])])
            counts[label] += 1
        return torch.stack(out)
    with_generator(t, real_digits)
    r = Evaluator().evaluate(t)
    assert r["label_accuracy"] > 0.95 and r["kl_uniform"] < 0.01 and r["modes_covered_strict"] == 10
    assert r["fd_features"] < 1.0 and r["swd"] < 0.05


def test_frames_for_each_kind_of_data() -> None:
    ring = Trainer(Config(device="cpu", width=16, depth=1))
    frame = Evaluator().frame(ring)
    assert isinstance(frame, PlaneFrame) and frame.scores.shape == (64, 64) and frame.arrows.shape == (512, 2)
    one = Trainer(Config(dataset="gauss1d", device="cpu", width=16, depth=1))
    f1 = Evaluator().frame(one)
    assert isinstance(f1, LineFrame)
    np.testing.assert_allclose(f1.d_optimal, f1.p_data / (f1.p_data + f1.p_g), rtol=1e-5)
    assert np.trapezoid(f1.p_data, f1.grid) == pytest.approx(1.0, abs=0.01)
    digits = Trainer(Config(dataset="digits", conditional=True, device="cpu", width=16, depth=1))
    fi = Evaluator().frame(digits)
    assert isinstance(fi, ImageFrame) and fi.images.shape == (100, 28, 28) and fi.rows == 10


def test_evaluations_land_on_exact_steps_and_report_their_cost() -> None:
    run = Run(Config(device="cpu", width=16, depth=1, steps=250, eval_every=50), hooks=[Evaluator()])
    run.start()
    run.wait(60)
    snap = run.snapshot()
    run.stop()
    assert list(snap.evaluations["step"]) == [0, 50, 100, 150, 200, 250]
    assert snap.evaluations.histogram.shape == (6, 8)
    cost = snap.eval_cost
    assert cost.evaluations == 6 and 0 < cost.share < 1


def test_a_user_folder_with_a_small_test_split_trains_and_evaluates(tmp_path) -> None:
    """MNIST from a folder of IDX files whose test split holds 20 images (fewer than an evaluation's 1,000):
    the classifier trains on first use and the evaluation compares 20 real with 20 fake images."""
    from test_images import make_folder
    folder = make_folder(tmp_path / "mnist", n_train=60, n_test=20)
    run = Run(Config(dataset="mnist", data_dir=str(folder), device="cpu", width=16, depth=1, batch_size=16,
                     steps=4, eval_every=2), hooks=[Evaluator()])
    run.start()
    run.wait(120)
    snap = run.snapshot()
    run.stop()
    assert run.status == "finished", run.reason
    assert list(snap.evaluations["step"]) == [0, 2, 4]
    assert np.isfinite(snap.evaluation["swd"]) and snap.evaluation.histogram.sum() == 20
    assert (folder / "classifier.pt").is_file()


def test_thinning_keeps_the_first_and_the_latest_evaluations(small: Config, monkeypatch) -> None:
    """Past MAX_EVALS every other evaluation is dropped: the count stays bounded, the run's start and its
    newest evaluation stay, and the kept steps stay in order. With a cap of 4 and one evaluation per step
    (steps 0..8): 0-4 -> 0,2,4; +5,6 -> 0,4,6; +7,8 -> 0,6,8."""
    from gancore.evaluate import evaluator

    monkeypatch.setattr(evaluator, "MAX_EVALS", 4)
    snap = stepped_snapshot(small.replace(eval_every=1), 8, hooks=[Evaluator(frames=False)])
    assert snap.evaluations["step"].tolist() == [0, 6, 8]
    assert snap.evaluation.step == 8 and snap.eval_cost is not None
