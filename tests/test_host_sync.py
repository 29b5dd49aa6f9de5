"""A training step never waits for the host: no tensor is read back between flushes (a CPU guard for the
promise the CUDA benchmarks measure). A `float(loss)` or `.item()` added to a step fails here."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
import torch

from gancore.config import LOSSES, Config
from gancore.train import Trainer

READS = ("item", "__float__", "__int__", "__bool__", "cpu", "numpy", "tolist")


@contextlib.contextmanager
def no_host_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every way of moving a tensor's value to Python raises while the block runs."""
    with monkeypatch.context() as m:
        for name in READS:
            def read(self, *args, _name=name, **kwargs):
                raise AssertionError(f"Tensor.{_name} called inside a training step")
            m.setattr(torch.Tensor, name, read)
        yield


@pytest.mark.parametrize("loss", LOSSES)
def test_no_step_kind_reads_a_tensor_back(loss: str, monkeypatch: pytest.MonkeyPatch) -> None:
    t = Trainer(Config(dataset="ring", loss=loss, width=16, depth=1, latent_dim=4, batch_size=32, n_critic=2,
                       device="cpu"))
    t.train_step()  # the first step may set things up; the guard is about every step after it
    with no_host_reads(monkeypatch):
        for kind in ("iteration", "d", "g", "iteration"):
            t.train_step(kind)
    table, divergence = t.flush()  # the flush is where the values come back, once
    assert table.shape[0] == 5 and divergence is None


def test_the_guard_catches_a_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Negative control: each patched read raises inside the guard, and works again after it."""
    x = torch.ones(2)
    with no_host_reads(monkeypatch):
        for read in (lambda: x.sum().item(), lambda: float(x.sum()), lambda: x.cpu(), lambda: x.numpy(),
                     lambda: x.tolist(), lambda: bool(x.sum() > 0)):
            with pytest.raises(AssertionError, match="inside a training step"):
                read()
    assert x.sum().item() == 2.0
