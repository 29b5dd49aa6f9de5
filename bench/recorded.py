"""Recorded runs: how long a long run takes to open, what it holds in memory, and how big a run directory grows.

1. Open: a synthetic metrics.csv of STEPS rows under a real ring run's header (random numbers written as the
   run writes them, %.6g), opened by gancore.logreader.RunReader. Reported beside the time to merely read the
   file's bytes (the ratio is what parsing costs), then the time to build every time chart's figure from its
   snapshot (time to first chart, less the browser), with the reader's memory: the bounded store's arrays and
   the peak Python allocations while opening (tracemalloc), not the file's size.
2. Size: `python -m gancore train` at the default settings of a data set, interrupted after SECONDS; each file's
   size is extrapolated linearly to one hour, except frames.jsonl, which stops at FRAMES_BUDGET. An estimate
   from a short run, on this machine's speed (a faster machine writes more metrics.csv rows per hour).

0. Recording's cost: a dashboard run (the default preset, pictures on) trained with and without
   gancore.recorder attached, alternating, steps/s from the run's own clock; and the time to start a recording.

    python bench/recorded.py [--steps 1000000] [--seconds 30] [--datasets ring digits] [--only-record-cost]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dashboard import charts  # noqa: E402
from gancore.logdir import EVALUATIONS, FRAMES, METRICS  # noqa: E402
from gancore.logreader import RunReader  # noqa: E402
from gancore.logwriter import FRAMES_BUDGET  # noqa: E402

HEADER = ("step,time,loss_d,loss_g,d_real,d_fake,d_accuracy,w_estimate,critic_real,critic_fake,gp,grad_norm_d,"
          "grad_norm_g,clip_frac,lr_d,lr_g,step_time,samples_per_s,d_updates,g_updates")


def synthetic(path: Path, steps: int) -> None:
    path.mkdir()
    names = HEADER.split(",")
    rng = np.random.default_rng(0)
    with open(path / METRICS, "w") as f:
        f.write(HEADER + "\n")
        for start in range(0, steps, 100_000):
            n = min(100_000, steps - start)
            rows = rng.standard_normal((n, len(names))).astype(np.float32)
            rows[:, 0] = np.arange(start + 1, start + n + 1)
            np.savetxt(f, rows, fmt=["%d"] + ["%.6g"] * (len(names) - 1), delimiter=",")


def bench_open(steps: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run"
        synthetic(path, steps)
        size = (path / METRICS).stat().st_size
        t0 = time.perf_counter()
        (path / METRICS).read_bytes()
        raw = time.perf_counter() - t0
        t0 = time.perf_counter()
        reader = RunReader(path)
        opened = time.perf_counter() - t0
        t0 = time.perf_counter()
        charts.time_charts(reader.snapshot())
        drawn = time.perf_counter() - t0
        tracemalloc.start()  # a second open, traced (tracing slows it down: not the one timed)
        RunReader(path)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        snap = reader.snapshot()
        assert snap.step == steps, snap.step
        store = reader._store.nbytes()
        print(f"| open {steps:,} steps ({size / 2**20:.0f} MiB metrics.csv) | {opened:.2f} s, + {drawn:.2f} s for "
              f"every time chart's figure | read bytes only: "
              f"{raw:.2f} s (x{opened / raw:.0f}) | store {store / 2**20:.2f} MiB, peak while opening "
              f"{peak / 2**20:.0f} MiB | {len(snap.columns['step']):,} points kept |")


def bench_size(dataset: str, seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / dataset
        process = subprocess.Popen([sys.executable, "-m", "gancore", "train", "--dataset", dataset, "--steps", "0",
                                    "--no-progress", "--out", str(out)], cwd=ROOT, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, env={**os.environ, "OMP_NUM_THREADS": "2"})
        while not (out / METRICS).is_file():
            time.sleep(0.1)
        started = time.monotonic()
        time.sleep(seconds)
        process.send_signal(signal.SIGINT)
        output = process.communicate(120)[0].strip().splitlines()
        elapsed = time.monotonic() - started
        hour = 3600 / elapsed
        sizes = {p.name: p.stat().st_size for p in out.iterdir()}
        grows = {name: sizes.get(name, 0) * hour for name in (METRICS, EVALUATIONS)}
        frames = min(sizes.get(FRAMES, 0) * hour, FRAMES_BUDGET)
        rest = sum(v for k, v in sizes.items() if k not in (METRICS, EVALUATIONS, FRAMES))
        total = sum(grows.values()) + frames + rest
        print(f"| {dataset}: {output[-1] if output else '?'} in {elapsed:.0f} s | per hour: {METRICS} "
              f"{grows[METRICS] / 2**20:.0f} MiB, {EVALUATIONS} {grows[EVALUATIONS] / 2**20:.1f} MiB, {FRAMES} "
              f"{frames / 2**20:.0f} MiB (cap {FRAMES_BUDGET / 2**20:.0f}), the rest {rest / 2**20:.1f} MiB | "
              f"{total / 2**20:.0f} MiB |")


def _rate(run, seconds: float) -> float:
    """Steps per second of `run` training for `seconds`, from its own step and time columns."""
    before = run.snapshot()
    run.start()
    time.sleep(seconds)
    run.pause()
    assert run.wait(60)
    after = run.snapshot()
    return (after.step - before.step) / (after.latest("time") - before.latest("time"))


def bench_record_cost(seconds: float, rounds: int) -> None:
    """Steps/s of a dashboard run (the default preset, pictures on) recorded vs not, alternating, one torch
    thread as the dashboard trains; and how long starting a recording takes (its history written first)."""
    import statistics

    import torch

    from gancore.evaluate.evaluator import Evaluator
    from gancore.presets import DEFAULT_PRESET, PRESETS
    from gancore.recorder import Recorder
    from gancore.run import Run
    class Timed(Recorder):
        """Counts the training thread's time inside the recorder: the cost itself, whatever the noise."""
        spent = 0.0

        def rows(self, table) -> None:
            t0 = time.perf_counter()
            super().rows(table)
            Timed.spent += time.perf_counter() - t0

        def __call__(self, run, trainer) -> None:
            t0 = time.perf_counter()
            super().__call__(run, trainer)
            Timed.spent += time.perf_counter() - t0

    torch.set_num_threads(1)
    run = Run(PRESETS[DEFAULT_PRESET].config.replace(steps=0), hooks=[Evaluator()])
    try:
        _rate(run, seconds)  # warm up, and a history for the first recording to write
        on, off, starts, shares = [], [], [], []
        with tempfile.TemporaryDirectory() as tmp:
            for _ in range(rounds):
                recorder = Timed(run, Path(tmp), "bench")
                t0 = time.perf_counter()
                recorder.start()
                starts.append(time.perf_counter() - t0)
                spent, t0 = Timed.spent, time.perf_counter()
                on.append(_rate(run, seconds))
                shares.append((Timed.spent - spent) / (time.perf_counter() - t0))
                recorder.stop()
                off.append(_rate(run, seconds))
        rows = len(run.snapshot().columns["step"])
    finally:
        run.stop()
    ratios = [a / b for a, b in zip(on, off)]
    print(f"| recording a dashboard run ({DEFAULT_PRESET}), {rounds} x {seconds:g} s each | "
          f"{statistics.median(on):.0f} it/s recorded, {statistics.median(off):.0f} not: ratio "
          f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}) | time in the recorder: "
          f"{statistics.median(shares):.2%} of the training thread's | starting: "
          f"{statistics.median(starts) * 1e3:.0f} ms (history of {rows:,} store rows written first) |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--datasets", nargs="*", default=["ring", "digits"])
    parser.add_argument("--rounds", type=int, default=5, help="alternations of recorded / not recorded")
    parser.add_argument("--only-record-cost", action="store_true", help="measure the recording's cost only")
    args = parser.parse_args()
    bench_record_cost(min(args.seconds, 5.0), args.rounds)
    if args.only_record_cost:
        return
    bench_open(args.steps)
    for dataset in args.datasets:
        bench_size(dataset, args.seconds)


if __name__ == "__main__":
    main()
