"""The engine/view contract: every fact declared once, read everywhere; the relativistic objective proves that
a new loss is one entry."""

from __future__ import annotations

import ast
import math
import pathlib

import numpy as np
import pytest
import torch

from gancore import Config, Evaluator, Run
from gancore.config import FIELDS
from gancore.data import DATASETS
from gancore.info import STEP_KINDS
from gancore.losses import OBJECTIVES
from gancore.measures import CHART_GROUPS, EVAL_MEASURES, STEP_MEASURES, group_measures
from gancore.records import Evaluation, PlaneFrame
from gancore.train import Trainer

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_relativistic_losses_on_fixed_scores_match_hand_values() -> None:
    real, fake = torch.tensor([[1.0], [0.0]]), torch.tensor([[0.0], [2.0]])
    obj = OBJECTIVES["relativistic"]
    # D: mean softplus(f(fake) - f(real)) = (log(1 + e^-1) + log(1 + e^2)) / 2
    assert obj.d_loss(real, fake).item() == pytest.approx((math.log1p(math.exp(-1)) + math.log1p(math.exp(2))) / 2)
    # G swaps the pair: (log(1 + e^1) + log(1 + e^-2)) / 2
    assert obj.g_loss(real, fake).item() == pytest.approx((math.log1p(math.e) + math.log1p(math.exp(-2))) / 2)
    assert obj.g_sees_real and not obj.probabilities and obj.penalty is None and obj.constraint is None


def test_relativistic_pairs_each_real_with_its_own_fake() -> None:
    """Pairing, not all-vs-all: swapping two fakes changes the loss when the reals differ."""
    obj = OBJECTIVES["relativistic"]
    real, fake = torch.tensor([[3.0], [-3.0]]), torch.tensor([[2.0], [-2.0]])
    assert obj.d_loss(real, fake).item() != pytest.approx(obj.d_loss(real, fake.flip(0)).item())


@pytest.mark.slow
def test_relativistic_learns_the_ring() -> None:
    config = Config(dataset="ring", loss="relativistic", width=64, depth=2, latent_dim=8, batch_size=128,
                    steps=800, eval_every=200, seed=3, device="cpu", beta1=0.5)
    run = Run(config, hooks=[Evaluator(frames=False)])
    try:
        run.start()
        assert run.wait(120)
        e = run.snapshot().evaluations
    finally:
        run.stop()
    assert e["w1_exact"][-1] < 0.5 * e["w1_exact"][0]
    assert e["modes_covered"][-1] >= 5


def test_the_relativistic_g_step_reads_real_scores_and_moves_g() -> None:
    t = Trainer(Config(dataset="ring", loss="relativistic", width=16, depth=1, latent_dim=2, batch_size=32,
                       device="cpu"))
    before = [p.detach().clone() for p in t.g.parameters()]
    t.train_step("g")
    table, divergence = t.flush()
    assert divergence is None and np.isfinite(table[0, t.columns.index("loss_g")])
    assert any(not torch.equal(a, b) for a, b in zip(before, t.g.parameters()))


def test_loss_choices_are_the_objectives_registry_and_carry_its_help() -> None:
    assert FIELDS["loss"].metadata["choices"] == tuple(OBJECTIVES)
    assert FIELDS["dataset"].metadata["choices"] == tuple(DATASETS)
    for objective in OBJECTIVES.values():  # the sidebar's help of the loss field
        assert objective.help in FIELDS["loss"].metadata["help"]
    from gancore.__main__ import build_parser
    text = build_parser().format_help() + build_parser()._subparsers._group_actions[0].choices["train"].format_help()
    for name, objective in OBJECTIVES.items():
        assert name in text
        assert objective.help.split(":")[0][:30] in " ".join(text.split())


def test_every_step_measure_is_a_column_of_every_run_and_has_a_known_group() -> None:
    t = Trainer(Config(dataset="ring", width=16, depth=2, latent_dim=2, batch_size=16, device="cpu"))
    assert t.columns[: len(STEP_MEASURES)] == list(STEP_MEASURES)
    for m in (*STEP_MEASURES.values(), *EVAL_MEASURES.values()):
        assert m.group in CHART_GROUPS or m.group in ("", "coverage"), m.name


@pytest.mark.parametrize("loss", list(OBJECTIVES))
def test_every_measure_of_a_chart_group_is_drawn_when_it_applies(loss: str) -> None:
    """A run of each objective: every per-step measurement of a group that applies is a trace of its chart."""
    from dashboard import charts
    run = Run(Config(dataset="ring", loss=loss, width=16, depth=2, latent_dim=2, batch_size=16, steps=30,
                     eval_every=10, device="cpu"), hooks=[Evaluator()])
    try:
        run.start()
        assert run.wait(30)
        snap = run.snapshot()
    finally:
        run.stop()
    figures = charts.time_charts(snap)
    for key, group in CHART_GROUPS.items():
        if not group.applies(snap.info):
            assert key not in figures or not figures[key].data
            continue
        names = {trace.name for trace in figures[key].data}
        for m in group_measures(key, snap.info):
            assert m.label_for(snap.info).format(units="modes") in " ".join(names) or \
                f"{m.label_for(snap.info)} %" in names, (key, m.name, names)


def test_recorded_values_match_their_declared_reduction() -> None:
    """grad_norm_d is declared a norm: the flushed value is the global L2 norm of D's gradients."""
    t = Trainer(Config(dataset="ring", width=16, depth=2, latent_dim=2, batch_size=16, device="cpu"))
    t.train_step("d")
    expected = math.sqrt(sum(float(p.grad.double().pow(2).sum()) for p in t.d.parameters()))
    table, _ = t.flush()
    assert table[0, t.columns.index("grad_norm_d")] == pytest.approx(expected, rel=1e-5)


def test_a_g_only_step_leaves_d_columns_unmeasured_and_no_divergence_is_diagnosed() -> None:
    from gancore.evaluate.detect_training import detect_divergence
    run = Run(Config(dataset="ring", width=16, depth=2, latent_dim=2, batch_size=16, device="cpu"),
              hooks=[Evaluator(frames=False)])
    try:
        run.step("iteration", 30)
        run.step("g", 5)
        assert run.wait(30)
        snap = run.snapshot()
    finally:
        run.stop()
    assert np.isnan(snap.columns["loss_d"][-1]) and np.isfinite(snap.columns["loss_g"][-1])
    assert snap.status == "paused"
    assert detect_divergence(snap.columns) is None


def test_a_snapshot_describes_its_run() -> None:
    run = Run(Config(dataset="digits", loss="wgan", conditional=True, width=16, depth=1, latent_dim=4,
                     batch_size=8, device="cpu"), hooks=[Evaluator()])
    try:
        snap = run.snapshot()
        run.set(loss="wgan-gp")
        run.step("iteration", 1)
        assert run.wait(30)
        after = run.snapshot()
    finally:
        run.stop()
    info = snap.info
    assert (info.data_kind, info.data_shape, info.n_modes, info.unit, info.units) == \
        ("image", (1, 28, 28), 10, "class", "classes")
    assert info.class_names == tuple(str(i) for i in range(10))
    assert (info.objective, info.probabilities, info.constraint, info.conditional) == \
        ("wgan", False, "weight clipping", True)
    assert info.step_kinds == tuple(STEP_KINDS)
    assert (after.info.objective, after.info.constraint) == ("wgan-gp", "gradient penalty")
    assert isinstance(after.evaluation, Evaluation) and set(after.evaluation.values) == set(EVAL_MEASURES)


def test_frames_are_typed_by_their_data() -> None:
    t = Trainer(Config(dataset="ring", width=16, depth=2, latent_dim=2, batch_size=16, device="cpu"))
    frame = Evaluator().frame(t)
    assert isinstance(frame, PlaneFrame) and frame.probabilities
    assert frame.scores.shape == (len(frame.ys), len(frame.xs)) and frame.arrows.shape == frame.fake.shape


def _literals(path: pathlib.Path) -> set[str]:
    return {node.value for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Constant)
            and isinstance(node.value, str)}


def test_the_view_names_no_objective_and_no_data_set() -> None:
    """Only the Theory tab (about named losses) may: every other fact comes from RunInfo or the registries."""
    names = set(OBJECTIVES) | set(DATASETS)
    for path in sorted((ROOT / "dashboard").glob("*.py")):
        if path.name.startswith("theory"):
            continue
        assert not (_literals(path) & names), (path.name, _literals(path) & names)


def test_the_engine_names_step_kinds_once() -> None:
    for path in [*(ROOT / "gancore").rglob("*.py"), *(ROOT / "dashboard").glob("*.py")]:
        if path.name == "info.py":
            continue
        assert "D only" not in _literals(path), path


def test_a_finished_run_is_told_to_train_on_once() -> None:
    from dashboard import status
    from gancore.metrics import Snapshot
    banner = status.run_banner(Snapshot(0, {}, [], status="finished",
                                        reason="reached 20000 steps: raise 'steps' to train on"))
    assert banner.text == "Finished: reached 20000 steps. Raise *Iterations* to train on."


def test_a_paused_run_shows_the_picture_of_its_current_step() -> None:
    run = Run(Config(dataset="ring", width=16, depth=1, latent_dim=2, batch_size=16, device="cpu"),
              hooks=[Evaluator(frame_seconds=3600)])  # no picture by the clock during the test
    try:
        run.step("iteration", 7)
        assert run.wait(30)
        assert run.snapshot().frame.step == 7
        run.step("d", 3)
        assert run.wait(30)
        assert run.snapshot().frame.step == 10
    finally:
        run.stop()
