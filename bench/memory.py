"""Memory stays flat however long a run: process memory after 1e3 and after 1e6 logged steps.

A synthetic trainer logs precomputed rows (every column of a real run, no torch arithmetic) through the real
Run loop, flush, store, evaluator history, events and diagnoses, so a million steps take a minute rather than
hours; the target is growth under 50 MB.

    python bench/memory.py [--steps 1000000]
"""

from __future__ import annotations

import gc
import time

import numpy as np
import torch

from common import machine, parser, table, write_json

from gancore.config import Config
from gancore.evaluate.evaluator import Evaluator
from gancore.run import Run
from gancore.train import Trainer, _Row

TARGET_MB = 50.0


class SyntheticTrainer(Trainer):
    """A real trainer whose steps log a fixed, realistic row instead of computing one."""

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        super().train_step()  # one real step: the row below has every tensor a real step measures
        self._template = self._rows.pop().tensors

    def train_step(self, kind: str = "iteration") -> None:
        self.step += 1
        self.d_updates += 1
        self.g_updates += 1
        self._rows.append(_Row(self.step, kind, 1e-4, self.config.batch_size, self.config.lr_d,
                               self.config.lr_g, self.d_updates, self.g_updates, self._template))


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run_until(run: Run, steps: int) -> None:
    run.set(steps=steps)
    run.start()
    while run.snapshot().step < steps:
        time.sleep(0.2)
    run.wait()


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--steps", type=int, default=1_000_000)
    args = p.parse_args()
    torch.set_num_threads(1)
    config = Config(device="cpu", eval_every=5000)
    run = Run(config, hooks=[Evaluator()], factory=SyntheticTrainer)
    started = time.perf_counter()
    run_until(run, 1000)
    gc.collect()
    at_1k = rss_mb()
    for i, target in enumerate(np.linspace(args.steps / 10, args.steps, 10).astype(int)):
        run.set(lr_d=1e-3 * (1 + i % 2))  # live changes too: every one is an event
        run_until(run, int(target))
    gc.collect()
    at_end = rss_mb()
    snap = run.snapshot()
    store = run.store
    run.stop()
    growth = at_end - at_1k
    rows = [["after 1,000 steps", f"{at_1k:.1f}"], [f"after {args.steps:,} steps", f"{at_end:.1f}"],
            ["growth", f"{growth:.1f} ({'under' if growth < TARGET_MB else 'OVER'} the {TARGET_MB:g} MB target)"],
            ["rows kept in the store", f"{len(snap.columns['step']):,} ({store.nbytes() / 1e6:.2f} MB of arrays)"],
            ["evaluations kept", f"{len(snap.evaluations)}"],
            ["wall time", f"{time.perf_counter() - started:.0f} s"]]
    print(table(["process memory (RSS)", "MB"], rows, f"Memory of one run ({machine()})"))
    write_json(args.json, {"machine": machine(), "rss_1k_mb": at_1k, "rss_end_mb": at_end, "steps": args.steps,
                           "growth_mb": growth})


if __name__ == "__main__":
    main()
