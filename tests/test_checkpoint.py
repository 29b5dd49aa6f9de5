"""Checkpoints: safe to load (weights_only), complete enough to resume, strict about architecture."""

from __future__ import annotations

import copy
import io

import numpy as np
import pytest
import torch

from gancore import checkpoint
from gancore.config import Config
from gancore.train import Trainer


def test_round_trip_resumes_exactly(small: Config, tmp_path) -> None:
    a = Trainer(small)
    for _ in range(5):
        a.train_step()
    checkpoint.save(a, tmp_path / "c.pt")
    content = torch.load(tmp_path / "c.pt", weights_only=True)  # no pickled code inside
    assert content["step"] == 5 and content["config"]["lr_d"] == small.lr_d
    b = Trainer(small.replace(seed=9))
    checkpoint.load(b, tmp_path / "c.pt")
    assert b.step == 5 and b.d_updates == 5
    for p, q in zip(a.g.parameters(), b.g.parameters()):
        assert torch.equal(p, q)
    state_a, state_b = a.opt_d.state_dict()["state"], b.opt_d.state_dict()["state"]
    assert all(torch.equal(state_a[k]["exp_avg"], state_b[k]["exp_avg"]) for k in state_a)


def test_another_architecture_is_refused_by_name(small: Config, tmp_path) -> None:
    checkpoint.save(Trainer(small), tmp_path / "c.pt")
    with pytest.raises(checkpoint.CheckpointError, match=r"width 32 \(run has 64\)"):
        checkpoint.load(Trainer(small.replace(width=64)), tmp_path / "c.pt")


def test_unreadable_files_give_clear_errors(small: Config, tmp_path) -> None:
    with pytest.raises(checkpoint.CheckpointError, match="does not exist"):
        checkpoint.load(Trainer(small), tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(checkpoint.CheckpointError, match="not a readable"):
        checkpoint.load(Trainer(small), tmp_path / "junk.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(checkpoint.CheckpointError, match="not a gancore checkpoint"):
        checkpoint.load(Trainer(small), tmp_path / "other.pt")


def test_bytes_for_downloads(small: Config, tmp_path) -> None:
    data = checkpoint.to_bytes(Trainer(small))
    (tmp_path / "c.pt").write_bytes(data)
    assert checkpoint.config_of(checkpoint.read(tmp_path / "c.pt")) == small


def _losses(trainer: Trainer, steps: int) -> np.ndarray:
    for _ in range(steps):
        trainer.train_step()
    table, _ = trainer.flush()
    return table[:, [trainer.columns.index("loss_d"), trainer.columns.index("loss_g")]]


def test_a_resumed_run_is_the_run_that_never_stopped(small: Config, tmp_path) -> None:
    """Same seed, same run, across a checkpoint: the data draws and the noise come from the saved generator."""
    straight = _losses(Trainer(small), 100)
    first = Trainer(small)
    before = _losses(first, 50)
    checkpoint.save(first, tmp_path / "c.pt")
    second = Trainer(small)
    checkpoint.load(second, tmp_path / "c.pt")
    after = _losses(second, 50)
    assert np.array_equal(np.concatenate([before, after]), straight)  # bit for bit, not approximately


_REMOVE = object()


def _mutated(content: dict, path: tuple, value) -> dict:
    out = copy.deepcopy(content)
    target = out
    for key in path[:-1]:
        target = target[key]
    if value is _REMOVE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return out



@pytest.mark.parametrize("path, value, words", [
    (("step",), _REMOVE, "'step' must be an integer >= 0, got None"),
    (("step",), "5", "'step' must be an integer >= 0, got '5'"),
    (("g_updates",), -1, "'g_updates' must be an integer >= 0"),
    (("g",), [1, 2], "'g' must be a dict of weight tensors"),
    (("opt_d",), _REMOVE, "'opt_d' must be an optimizer state"),
    (("opt_d", "param_groups", 0, "eps"), "tiny", "opt_d.param_groups.eps must be 1e-08, got 'tiny'"),
    (("opt_d", "param_groups", 0, "amsgrad"), True, "opt_d.param_groups.amsgrad must be False, got True"),
    (("opt_d", "state", 0, "exp_avg_sq"), _REMOVE, "opt_d.state.0 must hold exp_avg, exp_avg_sq, step, got"),
    (("opt_g", "state", 0, "exp_avg"), torch.zeros(3), "opt_g.state.0.exp_avg must be a float tensor of shape"),
    (("opt_g", "state", 99), {"exp_avg": torch.zeros(1)}, "opt_g.state has an entry 99 for no parameter"),
    (("rng",), torch.zeros(3), "'rng' must be a random generator state"),
    (("config",), "ring", "'config' must be a dict of settings"),
    (("config", "width"), "wide", "invalid config: width: expected an int"),
    (("d", "head.weight"), torch.zeros(2, 2), "does not fit this model"),
])
def test_a_missing_or_mistyped_field_is_named(small: Config, tmp_path, path, value, words) -> None:
    trainer = Trainer(small)
    trainer.train_step()
    content = torch.load(io.BytesIO(checkpoint.to_bytes(trainer)), weights_only=True)
    torch.save(_mutated(content, path, value), tmp_path / "c.pt")
    with pytest.raises(checkpoint.CheckpointError) as info:
        checkpoint.load(Trainer(small), tmp_path / "c.pt")
    assert words in str(info.value) and "\n" not in str(info.value)


def test_a_save_replaces_the_file_whole(small: Config, tmp_path) -> None:
    """The old checkpoint stays until the new one is complete: a failing save leaves it and no leftovers."""
    trainer = Trainer(small)
    checkpoint.save(trainer, tmp_path / "c.pt")
    good = (tmp_path / "c.pt").read_bytes()
    trainer.state = lambda: {"g": trainer.g.state_dict(), "d": lambda: 0}  # fails midway: no pickling code
    with pytest.raises(Exception):
        checkpoint.save(trainer, tmp_path / "c.pt")
    assert (tmp_path / "c.pt").read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pt"]
