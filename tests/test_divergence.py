"""A real divergence (SGD at lr 10 on LSGAN overflows in two steps): the run pauses, restores the last
good weights it copied, and says so in its snapshot."""

from __future__ import annotations

import time

import torch

from gancore.config import Config
from gancore.run import ROLLBACK_SECONDS, Run
from gancore.train import Trainer


def weights(state: dict) -> dict[str, torch.Tensor]:
    return {f"{net}.{k}": v.clone() for net in ("g", "d") for k, v in state[net].items()}


def test_divergence_restores_the_last_good_weights_and_reports_them(small: Config) -> None:
    config = small.replace(loss="lsgan", optimizer_d="sgd", optimizer_g="sgd", lr_d=1e-3, lr_g=1e-3, eval_every=1)
    r = Run(config)
    try:
        r.step("iteration", 3)
        assert r.wait(10)
        time.sleep(ROLLBACK_SECONDS + 0.1)  # the next flushed step is old enough to become the good copy
        r.step("iteration", 2)  # step 4's flush copies the good weights; step 5 is the plan's last
        assert r.wait(10)
        assert r.snapshot().step == 5
        twin = Trainer(config)  # same seed on the CPU: the same run, so its step-4 weights are the good ones
        for _ in range(4):
            twin.train_step()
        good = weights(twin.state())
        r.set(lr_d=10.0, lr_g=10.0)
        r.step("iteration", 100)
        assert r.wait(10)
        snap = r.snapshot()
        assert r.status == snap.status == "diverged"
        restored = weights(r.call(lambda t: t.state()).result(10))
        assert all(torch.equal(restored[k], good[k]) for k in good)  # not the broken weights
        assert all(torch.isfinite(v).all() for v in restored.values())
        bad_step = int(snap.events[-1].step)
        assert bad_step > 5 and snap.step == bad_step
        assert snap.events[-1].what == "diverged" and snap.events[-1].note == "restored step 4"
        assert f"non-finite at step {bad_step}; weights restored to step 4" in snap.reason == r.reason
        assert len(snap.columns["step"]) == bad_step  # the history up to the bad step is kept
        r.set(lr_d=1e-3, lr_g=1e-3)
        r.step("iteration", 3)
        assert r.wait(10) and r.status == "paused"  # the restored weights train on
    finally:
        r.stop()
