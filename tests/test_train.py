"""Real training steps on real (small) data: granularity, determinism, live changes, measurements."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gancore.config import Config
from gancore.models import build_models
from gancore.train import COLUMNS, Trainer, pick_device


def params(module: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten().clone() for p in module.parameters()])


def column(trainer: Trainer, table: np.ndarray, name: str) -> np.ndarray:
    return table[:, trainer.columns.index(name)]


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


def test_measurements_match_their_definitions(small: Config) -> None:
    t = Trainer(small)
    t.train_step()
    table, _ = t.flush()
    row = dict(zip(t.columns, table[0]))
    assert row["w_estimate"] == pytest.approx(row["critic_real"] - row["critic_fake"], abs=1e-6)
    layers = [v for k, v in row.items() if k.startswith("grad_norm_g.")]
    assert row["grad_norm_g"] == pytest.approx(np.sqrt(np.sum(np.square(layers))), rel=1e-5)
    assert 0 < row["d_real"] < 1 and 0 < row["d_fake"] < 1
    assert row["lr_d"] == pytest.approx(small.lr_d) and row["samples_per_s"] > 0
    assert set(COLUMNS) <= set(t.columns)


def test_grad_norm_d_is_the_global_l2_norm(small: Config) -> None:
    """Recompute the D gradient of the first step by hand and compare with the logged norm."""
    t = Trainer(small)
    state = t.state()
    t.train_step("d")
    logged = column(t, t.flush()[0], "grad_norm_d")[0]
    t.load_state(state)  # same weights and random state: redo the D loss by hand
    real, _ = t.data.sample(small.batch_size, t.rng)
    fake = t.g(t.noise(small.batch_size))
    scores = t.d(torch.cat([real, fake.detach()]))
    loss = t.objective.d_loss(scores[: small.batch_size], scores[small.batch_size:])
    grads = torch.autograd.grad(loss, list(t.d.parameters()))
    assert logged == pytest.approx(torch.sqrt(sum((g ** 2).sum() for g in grads)).item(), rel=1e-5)


def test_live_learning_rate_change_keeps_adam_state(small: Config) -> None:
    t = Trainer(small)
    for _ in range(5):
        t.train_step()
    moments = [s["exp_avg"].clone() for s in t.opt_d.state.values()]
    changes = t.apply(small.replace(lr_d=1e-5, loss="wgan-gp", batch_size=32))
    assert [c[0] for c in changes] == ["loss", "lr_d", "batch_size"]  # in the Config's field order
    assert all(torch.equal(m, s["exp_avg"]) for m, s in zip(moments, t.opt_d.state.values()))
    assert t.opt_d.param_groups[0]["lr"] == 1e-5 and t.objective.name == "wgan-gp"
    t.train_step()
    table, _ = t.flush()
    assert np.isfinite(column(t, table, "gp")[-1]) and np.isnan(column(t, table, "d_real")[-1])


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


def test_all_objectives_train_on_every_model_family() -> None:
    for config in (Config(dataset="gauss1d", width=16, depth=1, batch_size=16),
                   Config(dataset="ring", conditional=True, cond_d="projection", cond_g="embedding",
                          width=16, depth=1, batch_size=16)):
        for loss in ("minimax", "nonsaturating", "kl", "wgan", "wgan-gp", "lsgan", "hinge"):
            t = Trainer(config.replace(loss=loss, device="cpu"))
            t.train_step()
            _, divergence = t.flush()
            assert divergence is None, (config.dataset, loss)


def test_device_choice() -> None:
    assert pick_device("cpu").type == "cpu"
    assert pick_device("auto").type in ("cuda", "mps", "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            pick_device("cuda")


def test_d_returns_raw_scores_not_probabilities() -> None:
    _, d = build_models(Config(), (2,), 8)
    with torch.no_grad():
        d.head.bias.fill_(5.0)
        scores = d(torch.zeros(4, 2))
    assert (scores > 1).all()  # no sigmoid inside D: every objective applies its own
