"""Checkpoints: safe to load (weights_only), complete enough to resume, strict about architecture."""

from __future__ import annotations

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
