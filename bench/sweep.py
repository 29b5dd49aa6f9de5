"""Sweep throughput: the same 8-run sweep (2x2 grid, 2 seeds) on a LocalCluster of 1 and of 2 worker
processes, against the same 8 runs one after another in this process (train_cell, no Dask).

    python bench/sweep.py [--steps 2000]

Speed-up = wall(1 worker) / wall(2 workers) (target >= 1.7x on 2 cores); overhead per run =
(wall(1 worker) - wall(plain loop)) / 8, cluster start-up included (target <= 1 s), and the part of
the 1-worker wall time spent outside the runs themselves (their seconds in sweep.csv), which a busy
machine slows less than it slows the training.
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
import time
from pathlib import Path

import torch

from gancore.config import Config
from gancore.sweep import main, train_cell
from gancore.sweep_grid import cells, parse_axis

GRID = ("lr_d=0.0005,0.001", "lr_g=0.0005,0.001")
SEEDS = ("0", "1")


def _flags(steps: int) -> list[str]:
    return ["--dataset", "ring", "--width", "64", "--depth", "2", "--batch-size", "128", "--steps", str(steps),
            "--eval-every", "100", "--device", "cpu", "--no-progress"]


def _sweep(steps: int, workers: int, root: Path) -> tuple[float, float]:
    """Wall seconds of the whole command, and the seconds its runs spent inside train_cell (sweep.csv)."""
    argv = [*_flags(steps), *(a for g in GRID for a in ("--grid", g)), "--seeds", *SEEDS,
            "--workers", str(workers), "--out", str(root / f"w{workers}")]
    start = time.perf_counter()
    assert main(argv) == 0
    wall = time.perf_counter() - start
    with open(root / f"w{workers}" / "sweep.csv", newline="") as f:
        return wall, sum(float(r["seconds"]) for r in csv.DictReader(f))


def _loop(steps: int, root: Path) -> float:
    base = Config(dataset="ring", width=64, depth=2, batch_size=128, steps=steps, eval_every=100, device="cpu")
    runs = cells(base, [parse_axis(g, base) for g in GRID], [int(s) for s in SEEDS])
    torch.set_num_threads(1)
    start = time.perf_counter()
    for cell in runs:
        assert train_cell(cell.config.to_dict(), str(root / "loop" / cell.name))["status"] == "completed"
    return time.perf_counter() - start


def bench(steps: int) -> None:
    load = os.getloadavg()[0]  # the cores may be shared: a busy machine makes the speed-up meaningless
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        loop = _loop(steps, root)
        (one, inside), (two, _) = _sweep(steps, 1, root), _sweep(steps, 2, root)
    runs = len(SEEDS) * 4
    print(f"\n8 runs: ring MLP 2x64, batch 128, {steps} steps each; load average {load:.1f} -> {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores\n")
    print("| how | wall s | per run s |")
    print("|---|---|---|")
    for name, wall in (("plain loop, one process", loop), ("sweep, 1 worker", one), ("sweep, 2 workers", two)):
        print(f"| {name} | {wall:.1f} | {wall / runs:.2f} |")
    print(f"\nspeed-up 2 workers vs 1: {one / two:.2f}x (target >= 1.7x); "
          f"overhead per run vs the plain loop: {(one - loop) / runs:.2f} s (target <= 1 s); Dask's own "
          f"share of the 1-worker wall time (start-up, dispatch, collection): {(one - inside) / runs:.2f} s per run")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    bench(parser.parse_args().steps)
