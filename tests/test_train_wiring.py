"""The trainer's bookkeeping and wiring, tests the mutation sample of gancore/train.py asked for (issue 15):
refused step kinds, counters and settings per row, step time, the first bad step of a divergence, forwards
per step kind, noise and fixed samples, live optimizer changes reaching the right net, resumable state."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gancore.config import Config
from gancore.train import Trainer, pick_device

from train_support import column, hand_built, params, sigmoid

TIMING = ("step_time", "samples_per_s")


def untimed(trainer: Trainer, table: np.ndarray) -> np.ndarray:
    return table[:, [i for i, n in enumerate(trainer.columns) if n not in TIMING]]


def test_an_unknown_step_kind_is_refused_and_logs_nothing(small: Config) -> None:
    t = Trainer(small)
    with pytest.raises(ValueError, match=r"^step kind must be one of iteration, d, g, got 'both'$"):
        t.train_step("both")
    table, divergence = t.flush()
    assert t.step == 0 and table.shape == (0, len(t.columns)) and table.dtype == np.float32
    assert divergence is None
    t.train_step("d")  # the refused step left nothing half-measured behind
    assert column(t, t.flush()[0], "step").tolist() == [1.0]


def test_counters_and_settings_are_logged_per_step() -> None:
    """n_critic=2, g_steps=3: each iteration adds 2 D and 3 G updates; 'd' adds one D update, 'g' one G."""
    t = hand_built(n_critic=2, g_steps=3, lr_d=3e-4, lr_g=2e-3)
    for kind in ("iteration", "iteration", "d", "g"):
        t.train_step(kind)
    table, _ = t.flush()
    assert column(t, table, "step").tolist() == [1, 2, 3, 4]
    assert column(t, table, "d_updates").tolist() == [2, 4, 5, 5]
    assert column(t, table, "g_updates").tolist() == [3, 6, 6, 7]
    assert column(t, table, "lr_d") == pytest.approx([3e-4] * 4)
    assert column(t, table, "lr_g") == pytest.approx([2e-3] * 4)
    assert (t.step, t.d_updates, t.g_updates) == (4, 5, 7)


def test_step_time_is_the_step_s_own_wall_time(small: Config) -> None:
    """Each step's time is positive and, on the CPU (no transfer to share out), the steps' times add up to
    no more than the wall time around them; samples per second is the batch over it."""
    import time
    t = Trainer(small)
    started = time.perf_counter()
    for _ in range(5):
        t.train_step()
    elapsed = time.perf_counter() - started
    table, _ = t.flush()
    seconds = column(t, table, "step_time")
    assert (seconds > 0).all() and seconds.sum() <= elapsed
    np.testing.assert_allclose(column(t, table, "samples_per_s"), 64 / seconds, rtol=1e-5)


def test_divergence_names_the_first_bad_step_and_its_first_column() -> None:
    """A NaN critic bias from step 2 on: every D and G measurement of steps 2 and 3 is NaN; the first one
    recorded (D's mean real score) of the first bad step is reported, and step 1 stays finite."""
    t = hand_built()
    t.train_step("d")
    with torch.no_grad():
        t.d.head.bias.fill_(float("nan"))
    t.train_step("d")
    t.train_step("d")
    table, divergence = t.flush()
    assert divergence == (2, "critic_real")
    assert np.isfinite(column(t, table, "critic_real")[0]) and np.isnan(column(t, table, "critic_real")[1:]).all()
    t.train_step("d")
    assert t.flush()[1] == (4, "critic_real")  # a later flush reports its own first bad step


def test_a_fake_scored_exactly_zero_counts_as_a_mistake() -> None:
    """Head bias -28: D(fake) = 9 + 2 * 9.5 - 28 = 0 exactly, D(real) = 11 + 20 - 28 = 3. A correct fake
    scores < 0, so the accuracy is 64 real right of 128 = 0.5, and D(fake) = sigmoid(0) = 0.5."""
    t = hand_built()
    with torch.no_grad():
        t.d.head.bias.fill_(-28.0)
    t.train_step("d")
    row = dict(zip(t.columns, t.flush()[0][0]))
    assert row["critic_fake"] == 0.0 and row["d_fake"] == 0.5 and row["d_accuracy"] == 0.5
    assert row["critic_real"] == pytest.approx(3.0, abs=1e-3) and row["d_real"] == pytest.approx(sigmoid(3.0), abs=1e-4)


def count_forwards(module: torch.nn.Module) -> list[int]:
    calls = [0]
    module.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    return calls


@pytest.mark.parametrize(("kind", "n_critic", "g_steps", "forwards"),
                         [("iteration", 1, 1, 1), ("iteration", 3, 2, 4), ("d", 3, 2, 1), ("g", 3, 2, 1)])
def test_g_runs_forward_once_per_step_that_needs_new_fakes(small: Config, kind: str, n_critic: int,
                                                           g_steps: int, forwards: int) -> None:
    """The first G step reuses the fakes of the last D step (module docstring): a 1:1 iteration runs G
    once; n_critic=3, g_steps=2 runs it 3 times for D and once more for the second G step."""
    t = Trainer(small.replace(n_critic=n_critic, g_steps=g_steps))
    calls = count_forwards(t.g)
    t.train_step(kind)
    assert calls == [forwards]


def test_a_g_step_leaves_no_gradient_on_d(small: Config) -> None:
    """G's step differentiates through D's input only: D's weights get no .grad (none to zero, no work)."""
    for loss in ("nonsaturating", "relativistic"):
        t = Trainer(small.replace(loss=loss))
        t.train_step("g")
        assert all(p.grad is None for p in t.d.parameters()) and all(p.requires_grad for p in t.d.parameters())


@pytest.mark.parametrize("loss", ["nonsaturating", "relativistic"])
def test_a_conditional_g_only_step_trains_g_on_labelled_fakes(loss: str) -> None:
    """A G step with no fakes kept from a D step draws its own (with labels, and real data for the
    relativistic loss, which scores the pair): G moves, D does not."""
    t = Trainer(Config(dataset="ring", conditional=True, width=16, depth=1, latent_dim=4, batch_size=32,
                       loss=loss, device="cpu"))
    twin = Trainer(t.config)
    g0, d0 = params(t.g), params(t.d)
    t.train_step("g")
    twin.train_step("g")  # its labels (and real batch) come from the run's own seeded stream: the same step
    assert torch.equal(params(t.d), d0) and not torch.equal(params(t.g), g0)
    assert torch.equal(params(t.g), params(twin.g))
    assert np.isfinite(column(t, t.flush()[0], "loss_g")[0])


def test_noise_follows_the_prior_and_an_explicit_generator_leaves_the_run_alone(small: Config) -> None:
    """uniform z fills [-1, 1); normal z is N(0, 1). Drawing with another generator (pictures, evaluation)
    does not advance the run's own stream: the run that drew it trains exactly like its twin."""
    z = Trainer(small.replace(prior="uniform")).noise(20000)
    assert z.shape == (20000, 4) and -1 <= z.min() < -0.99 and 0.99 < z.max() < 1 and abs(z.mean()) < 0.02
    z = Trainer(small).noise(20000)
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02 and z.abs().max() > 3
    a, b = Trainer(small), Trainer(small)
    a.noise(8, torch.Generator().manual_seed(0))
    for t in (a, b):
        t.train_step()
    np.testing.assert_array_equal(untimed(a, a.flush()[0]), untimed(b, b.flush()[0]))
    assert torch.equal(a.fixed_z, b.fixed_z)


def test_fixed_samples_have_the_documented_sizes_and_classes() -> None:
    """512 fixed points for toy data, 100 for images (a 10 x 10 grid); conditional: equal rows per class."""
    t = Trainer(Config(dataset="ring", conditional=True, width=16, depth=1, latent_dim=4, device="cpu"))
    assert t.fixed_z.shape == (512, 4) and t.fixed_real.shape == (512, 2)
    assert t.fixed_labels.tolist() == [k for k in range(8) for _ in range(64)]
    assert Trainer(Config(dataset="ring", width=16, depth=1, device="cpu")).fixed_labels is None
    image = Trainer(Config(dataset="digits", conditional=True, width=8, depth=1, latent_dim=4, device="cpu"))
    assert image.fixed_z.shape == (100, 4) and image.fixed_real.shape[0] == 100
    assert image.fixed_labels.tolist() == [k for k in range(10) for _ in range(10)]


def test_info_describes_the_run_and_follows_a_live_objective_change(small: Config) -> None:
    from gancore.info import RunInfo
    t = Trainer(small)
    ring = dict(dataset="ring", data_kind="2d", data_shape=(2,), n_modes=8, unit="mode",
                class_names=tuple("01234567"), conditional=False)
    assert t.info == RunInfo(objective="nonsaturating", probabilities=True, constraint="", **ring)
    t.apply(small.replace(loss="wgan"))
    assert t.info == RunInfo(objective="wgan", probabilities=False, constraint="weight clipping", **ring)


def test_live_optimizer_and_learning_rate_changes_reach_the_right_net(small: Config) -> None:
    """Each change is one (field, old, new, note) row; a new optimizer says its state starts fresh, a new
    lr or beta keeps it (empty note) and reaches only the optimizers it names; SGD has no betas to set."""
    t = Trainer(small)
    t.train_step()
    for name, value in (("lr_d", 0.05), ("lr_g", 0.04), ("beta1", 0.6), ("beta2", 0.95)):
        old = getattr(t.config, name)
        assert t.apply(t.config.replace(**{name: value})) == [(name, old, value, "")]  # one field at a time
        c = t.config
        assert [(g["lr"], g["betas"]) for g in t.opt_d.param_groups] == [(c.lr_d, (c.beta1, c.beta2))]
        assert [(g["lr"], g["betas"]) for g in t.opt_g.param_groups] == [(c.lr_g, (c.beta1, c.beta2))]
    assert (c.lr_d, c.lr_g, c.beta1, c.beta2) == (0.05, 0.04, 0.6, 0.95)
    opt_g = t.opt_g
    changes = t.apply(t.config.replace(optimizer_d="rmsprop"))
    assert changes == [("optimizer_d", "adam", "rmsprop", "new optimizer, its state starts fresh")]
    assert isinstance(t.opt_d, torch.optim.RMSprop) and t.opt_g is opt_g and t.opt_d.state == {}
    assert [g["lr"] for g in t.opt_d.param_groups] == [0.05]
    assert {id(p) for p in t.opt_d.param_groups[0]["params"]} == {id(p) for p in t.d.parameters()}
    t.apply(t.config.replace(optimizer_g="sgd"))
    t.apply(t.config.replace(beta1=0.7))
    assert "betas" not in t.opt_g.param_groups[0] and "betas" not in t.opt_d.param_groups[0]
    assert t.apply(t.config) == []


@pytest.mark.parametrize(("name", "device", "cls", "fused"),
                         [("adam", "cpu", torch.optim.Adam, True), ("sgd", "cuda", torch.optim.SGD, True),
                          ("adam", "mps", torch.optim.Adam, False), ("rmsprop", "cpu", torch.optim.RMSprop, False)])
def test_optimizers_use_fused_kernels_where_torch_has_them(name: str, device: str, cls, fused: bool) -> None:
    """Fused Adam and SGD on CPU and CUDA, the foreach loop elsewhere and for RMSprop; no momentum but Adam's."""
    from gancore.train import make_optimizer
    opt = make_optimizer(name, [torch.nn.Parameter(torch.zeros(3))], 0.01, 0.5, 0.9, torch.device(device))
    assert type(opt) is cls and opt.defaults["lr"] == 0.01
    assert bool(opt.defaults.get("fused")) is fused and bool(opt.defaults.get("foreach")) is not fused
    assert opt.defaults.get("betas", (0.5, 0.9)) == (0.5, 0.9) and opt.defaults.get("momentum", 0) == 0


def test_state_resumes_the_same_run_and_is_a_copy(small: Config) -> None:
    """3 steps, state, 2 more steps; a fresh trainer loading that state makes the same 2 steps (weights,
    optimizer, counters and RNG). counters=False loads the weights only. Training after state() leaves it."""
    a = Trainer(small)
    for _ in range(3):
        a.train_step()
    a.flush()
    saved = a.state()
    weights = {k: v.clone() for k, v in saved["d"].items()}
    for _ in range(2):
        a.train_step()
    assert all(torch.equal(saved["d"][k], weights[k]) for k in weights)  # a copy, not the live tensors
    b = Trainer(small.replace(seed=7))
    b.load_state(saved)
    assert (b.step, b.d_updates, b.g_updates) == (3, 3, 3)
    for _ in range(2):
        b.train_step()
    np.testing.assert_array_equal(untimed(a, a.flush()[0]), untimed(b, b.flush()[0]))
    c = Trainer(small.replace(seed=7))
    c.load_state(saved, counters=False)
    assert (c.step, c.d_updates, c.g_updates) == (0, 0, 0)
    assert all(torch.equal(c.d.state_dict()[k], weights[k]) for k in weights)


def test_an_unavailable_device_is_a_config_error_on_the_device_field(monkeypatch: pytest.MonkeyPatch) -> None:
    from gancore.config import ConfigError
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for name in ("cuda", "mps"):
        with pytest.raises(ConfigError) as info:
            pick_device(name)
        assert info.value.field == "device"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert pick_device("mps") == torch.device("mps")


def test_the_gradient_penalty_draws_from_the_run_s_own_stream(small: Config) -> None:
    """The interpolation weights of wgan-gp come from the seeded run generator: two runs of one seed log
    the same penalty (a draw from torch's global RNG would differ between them)."""
    a, b = (Trainer(small.replace(loss="wgan-gp")) for _ in range(2))
    for t in (a, b):
        t.train_step()
        t.train_step("d")
    rows_a, rows_b = a.flush()[0], b.flush()[0]
    assert np.isfinite(column(a, rows_a, "gp")).all()
    np.testing.assert_array_equal(untimed(a, rows_a), untimed(b, rows_b))


def test_per_layer_gradient_norms_make_up_the_global_one(small: Config) -> None:
    """The global L2 norm of G's gradient is the root sum of squares of its layers' norms (three layers
    here, so each layer must read its own slice of the gradients)."""
    t = Trainer(small)
    t.train_step("g")
    row = dict(zip(t.columns, t.flush()[0][0]))
    layers = [row[f"grad_norm_g.linear{i}"] for i in (1, 2, 3)]
    assert min(layers) > 0 and len(set(layers)) == 3
    assert np.sqrt(np.sum(np.square(layers))) == pytest.approx(row["grad_norm_g"], rel=1e-5)
