"""Real training steps on real (small) data: granularity, determinism, live changes, measurements."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gancore.config import Config
from gancore.models import build_models
from gancore.train import Trainer, pick_device

from train_support import column, hand_built, params, sigmoid, softplus


def test_same_seed_on_cpu_gives_the_same_run(small: Config) -> None:
    tables = []
    for _ in range(2):
        t = Trainer(small.replace(seed=3))
        for kind in ["iteration"] * 20 + ["d"] * 3 + ["g"] * 2:
            t.train_step(kind)
        tables.append(t.flush()[0])
    cols = [i for i, n in enumerate(Trainer(small).columns) if n not in ("step_time", "samples_per_s")]
    np.testing.assert_array_equal(tables[0][:, cols], tables[1][:, cols])
    other = Trainer(small.replace(seed=4))
    other.train_step()
    assert not np.array_equal(other.flush()[0][0, cols], tables[0][0, cols])


def test_d_only_step_freezes_g_and_still_measures_its_gradient(small: Config) -> None:
    t = Trainer(small)
    g0, d0 = params(t.g), params(t.d)
    t.train_step("d")
    assert torch.equal(params(t.g), g0) and not torch.equal(params(t.d), d0)
    table, _ = t.flush()
    assert column(t, table, "grad_norm_g")[0] > 0 and column(t, table, "g_updates")[0] == 0
    assert column(t, table, "d_updates")[0] == 1


def test_g_only_step_freezes_d(small: Config) -> None:
    t = Trainer(small)
    g0, d0 = params(t.g), params(t.d)
    t.train_step("g")
    assert torch.equal(params(t.d), d0) and not torch.equal(params(t.g), g0)
    table, divergence = t.flush()
    assert divergence is None  # D's columns are not measured in a G-only step: NaN, not a divergence
    assert np.isnan(column(t, table, "loss_d")[0]) and np.isfinite(column(t, table, "loss_g")[0])


def test_iteration_runs_n_critic_d_steps_and_g_steps(small: Config) -> None:
    t = Trainer(small.replace(n_critic=5, g_steps=3))
    t.train_step()
    table, _ = t.flush()
    assert (column(t, table, "d_updates")[0], column(t, table, "g_updates")[0]) == (5, 3)
    assert t.step == 1


def test_measurements_match_their_definitions() -> None:
    """D(real) = 1 and D(fake) = -1 - 1 = -2 on the hand-built pair: every D column follows on paper."""
    t = hand_built(lr_d=3e-4)
    t.train_step("d")
    row = dict(zip(t.columns, t.flush()[0][0]))
    assert row["critic_real"] == pytest.approx(1.0, abs=1e-3)
    assert row["critic_fake"] == pytest.approx(-2.0, abs=1e-5)
    assert row["w_estimate"] == pytest.approx(3.0, abs=1e-3)
    assert row["d_real"] == pytest.approx(sigmoid(1.0), abs=1e-3)  # 0.731
    assert row["d_fake"] == pytest.approx(sigmoid(-2.0), abs=1e-5)  # 0.119
    assert row["d_accuracy"] == 1.0  # every real scored > 0, every fake < 0
    assert row["loss_d"] == pytest.approx(softplus(-1.0) + softplus(-2.0), abs=1e-3)  # 0.313 + 0.127
    assert row["lr_d"] == pytest.approx(3e-4) and row["d_updates"] == 1 and row["g_updates"] == 0
    assert row["samples_per_s"] * row["step_time"] == pytest.approx(64, rel=1e-4)


def test_grad_norm_g_on_a_hand_built_generator() -> None:
    """G's only live parameter is its output bias c = (-1, -0.5); the non-saturating loss softplus(-D(c))
    with D(x) = x1 + 2 x2 has gradient -sigmoid(-D(c)) (1, 2) = -sigmoid(2) (1, 2): norm sigmoid(2) sqrt 5."""
    t = hand_built()
    t.train_step("g")
    row = dict(zip(t.columns, t.flush()[0][0]))
    assert row["loss_g"] == pytest.approx(softplus(2.0), abs=1e-5)  # 2.127
    assert row["grad_norm_g"] == pytest.approx(sigmoid(2.0) * np.sqrt(5), rel=1e-5)  # 1.970
    layers = sorted(v for k, v in row.items() if k.startswith("grad_norm_g."))
    assert layers == pytest.approx([0.0, sigmoid(2.0) * np.sqrt(5)], abs=1e-6)  # the dead input layer: 0


def test_grad_norm_d_is_the_global_l2_norm() -> None:
    """The D gradient of the hand-built pair, on paper: dL/dD(real) = -sigmoid(-1), dL/dD(fake) = sigmoid(-2);
    the hidden activations are h(real) = (11, 10), h(fake) = (9, 9.5), the head weights (1, 2)."""
    t = hand_built()
    t.train_step("d")
    logged = column(t, t.flush()[0], "grad_norm_d")[0]
    a, b = -sigmoid(-1.0), sigmoid(-2.0)
    real, fake = np.array([1.0, 0.0]), np.array([-1.0, -0.5])
    head_w = a * np.array([11.0, 10.0]) + b * np.array([9.0, 9.5])  # the dead units' weights get 0
    head_b = a + b
    hidden_w = [w * (a * real + b * fake) for w in (1.0, 2.0)]
    hidden_b = [w * (a + b) for w in (1.0, 2.0)]
    expected = np.sqrt(np.sum(head_w ** 2) + head_b ** 2 + sum(np.sum(g ** 2) for g in hidden_w)
                       + np.sum(np.square(hidden_b)))
    assert logged == pytest.approx(expected, rel=1e-3)


def adam_by_hand(p: torch.Tensor, grad: torch.Tensor, m: torch.Tensor, v: torch.Tensor, t: int, lr: float,
                 beta1: float, beta2: float) -> torch.Tensor:
    """One Adam update (Kingma and Ba, Algorithm 1, eps 1e-8) from the moments of the previous step."""
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    return p - lr * (m / (1 - beta1 ** t)) / (torch.sqrt(v / (1 - beta2 ** t)) + 1e-8)


def adam_moments(opt: torch.optim.Optimizer, params) -> list[tuple[torch.Tensor, torch.Tensor, int]]:
    return [(opt.state[p]["exp_avg"].clone(), opt.state[p]["exp_avg_sq"].clone(), int(opt.state[p]["step"]))
            for p in params]


def test_live_learning_rate_change_keeps_adam_state(small: Config) -> None:
    """After a live lr/beta change the next D update is Adam's with the new settings applied to the old
    moments and step count: a rebuilt optimizer (fresh moments, step 1) or the old lr gives other weights."""
    t = Trainer(small)
    for _ in range(5):
        t.train_step()
    params_d = list(t.d.parameters())
    before = adam_moments(t.opt_d, params_d)
    assert all(step == 5 for _, _, step in before)
    changes = t.apply(small.replace(lr_d=2e-2, beta1=0.9, beta2=0.99, loss="wgan-gp", batch_size=32))
    assert [c[0] for c in changes] == ["loss", "lr_d", "beta1", "beta2", "batch_size"]  # Config field order
    after = adam_moments(t.opt_d, params_d)
    for (m0, v0, s0), (m1, v1, s1) in zip(before, after, strict=True):
        assert torch.equal(m0, m1) and torch.equal(v0, v1) and s0 == s1
    weights = [p.detach().clone() for p in params_d]
    t.train_step()
    for p, w, (m0, v0, _) in zip(params_d, weights, before):
        expected = adam_by_hand(w, p.grad, m0, v0, 6, lr=2e-2, beta1=0.9, beta2=0.99)
        torch.testing.assert_close(p.detach(), expected, rtol=1e-5, atol=1e-6)
        assert int(t.opt_d.state[p]["step"]) == 6
    table, _ = t.flush()
    assert np.isfinite(column(t, table, "gp")[-1]) and np.isnan(column(t, table, "d_real")[-1])
    assert column(t, table, "lr_d")[-1] == pytest.approx(2e-2)


def test_live_batch_size_change_is_used_by_the_next_step(small: Config) -> None:
    """D's accuracy is a count over 2 x batch scores: with a batch of 3 it is a multiple of 1/6, which
    a batch of 64 (multiples of 1/128) almost never is; the Adam step count carries on."""
    t = Trainer(small)
    for _ in range(3):
        t.train_step()
    t.flush()
    t.apply(small.replace(batch_size=3))
    for _ in range(6):
        t.train_step()
    table, _ = t.flush()
    sixths = column(t, table, "d_accuracy") * 6
    np.testing.assert_allclose(sixths, np.round(sixths), atol=1e-4)
    assert len(set(np.round(sixths).tolist()) - {0.0, 3.0, 6.0}) > 0  # not only the values 128ths share
    assert column(t, table, "samples_per_s")[-1] * column(t, table, "step_time")[-1] == pytest.approx(3)
    assert {int(s["step"]) for s in t.opt_d.state.values()} == {9}


def test_switching_optimizer_live_starts_it_fresh(small: Config) -> None:
    t = Trainer(small)
    t.train_step()
    (change,) = t.apply(small.replace(optimizer_g="sgd"))
    assert isinstance(t.opt_g, torch.optim.SGD) and "fresh" in change[3]


def test_wgan_clips_every_critic_weight(small: Config) -> None:
    t = Trainer(small.replace(loss="wgan", clip=0.02, lr_d=0.1))
    for _ in range(3):
        t.train_step()
    assert max(p.abs().max().item() for p in t.d.parameters()) <= 0.02 + 1e-7
    assert column(t, t.flush()[0], "clip_frac")[-1] > 0.5  # lr 0.1 drives most weights onto the bound


def test_fixed_noise_makes_frames_move_smoothly(small: Config) -> None:
    t = Trainer(small)
    before = t.generate(t.fixed_z)
    assert torch.equal(before, t.generate(t.fixed_z))  # same noise, same weights: the same points
    t.train_step()
    after = t.generate(t.fixed_z)
    assert 0 < (after - before).abs().mean().item() < 0.5


def test_conditional_fixed_labels_give_one_row_per_class() -> None:
    t = Trainer(Config(dataset="ring", conditional=True, width=16, depth=1, device="cpu"))
    assert t.fixed_labels.tolist() == sorted(t.fixed_labels.tolist())
    assert set(t.fixed_labels.tolist()) == set(range(8))


@pytest.mark.parametrize("loss", ["minimax", "nonsaturating", "kl", "wgan", "wgan-gp", "lsgan", "hinge"])
@pytest.mark.parametrize("family", ["mlp-1d", "conditional-projection"])
def test_every_objective_trains_d_and_g_on_every_model_family(loss: str, family: str) -> None:
    """Each objective's D loss falls while G is frozen and its G loss falls against a frozen D: the two
    halves of the game, each measured (a sign slip in either loss makes it climb)."""
    config = (Config(dataset="gauss1d", width=16, depth=1, batch_size=64) if family == "mlp-1d" else
              Config(dataset="ring", conditional=True, cond_d="projection", cond_g="embedding", width=16,
                     depth=1, batch_size=64))
    t = Trainer(config.replace(loss=loss, device="cpu", seed=1, clip=1.0))  # clip 0.01 would flatten f at once
    for _ in range(40):
        t.train_step("d")
    d_rows, divergence = t.flush()
    loss_d = column(t, d_rows, "loss_d")
    assert divergence is None and loss_d[-5:].mean() < loss_d[:5].mean(), (loss, loss_d[:5], loss_d[-5:])
    for _ in range(40):
        t.train_step("g")
    g_rows, divergence = t.flush()
    loss_g = column(t, g_rows, "loss_g")
    assert divergence is None and loss_g[-5:].mean() < loss_g[:5].mean(), (loss, loss_g[:5], loss_g[-5:])


def test_device_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    """auto prefers CUDA, then MPS, then the CPU; an explicit device that is not there is an error."""
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto") == torch.device("cpu")
    with pytest.raises(ValueError, match="no CUDA GPU"):
        pick_device("cuda")
    with pytest.raises(ValueError, match="MPS is not available"):
        pick_device("mps")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert pick_device("auto") == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device("auto") == torch.device("cuda") and pick_device("cpu") == torch.device("cpu")


def test_d_returns_raw_scores_not_probabilities() -> None:
    _, d = build_models(Config(), (2,), 8)
    with torch.no_grad():
        d.head.bias.fill_(5.0)
        scores = d(torch.zeros(4, 2))
    assert (scores > 1).all()  # no sigmoid inside D: every objective applies its own
