"""The CUDA path (skipped without a GPU; run on a GPU machine): every objective trains, no step syncs
with the host, and checkpoints move between devices."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from gancore import checkpoint
from gancore.config import Config
from gancore.evaluate.evaluator import Evaluator
from gancore.records import PlaneFrame
from gancore.run import Run
from gancore.train import Trainer

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")


@pytest.mark.parametrize("config", [
    Config(device="cuda", loss="nonsaturating"),
    Config(device="cuda", loss="wgan-gp", n_critic=3),
    Config(device="cuda", loss="wgan", conditional=True),
    Config(device="cuda", dataset="digits", arch="dcgan", width=16, conditional=True, cond_d="projection",
           loss="hinge", batch_size=32),
], ids=["nonsat", "wgan-gp", "wgan-cond", "dcgan-cond"])
def test_steps_never_sync_with_the_host(config: Config) -> None:
    t = Trainer(config)
    t.train_step()  # first step: lazy initialisations may sync once
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")  # any synchronising call inside a step now raises
    try:
        for kind in ("iteration", "d", "g", "iteration"):
            t.train_step(kind)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    table, divergence = t.flush()  # the one transfer
    assert divergence is None and np.isfinite(table[:, t.columns.index("loss_g")]).all()


def test_same_seed_gives_the_same_first_steps_on_cuda() -> None:
    tables = []
    for _ in range(2):
        t = Trainer(Config(device="cuda", seed=4))
        for _ in range(5):
            t.train_step()
        tables.append(t.flush()[0][:, 2:10])
    np.testing.assert_allclose(tables[0], tables[1], rtol=1e-4, atol=1e-6)


def test_a_cuda_checkpoint_loads_on_the_cpu() -> None:
    gpu = Trainer(Config(device="cuda"))
    gpu.train_step()
    cpu = Trainer(Config(device="cpu"))
    checkpoint.load(cpu, io.BytesIO(checkpoint.to_bytes(gpu)))
    for p, q in zip(gpu.g.parameters(), cpu.g.parameters()):
        assert torch.equal(p.detach().cpu(), q.detach())


def test_a_cuda_run_with_its_evaluator() -> None:
    run = Run(Config(device="cuda", steps=300, eval_every=100), hooks=[Evaluator()])
    run.start()
    run.wait(120)
    snap = run.snapshot()
    run.stop()
    assert run.status == "finished" and snap.step == 300
    assert list(snap.evaluations["step"]) == [0, 100, 200, 300]
    assert isinstance(snap.frame, PlaneFrame)
