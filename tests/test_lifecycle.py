"""Lifecycle: many start / pause / step (each kind) / live change / reset / stop cycles of small real runs leave
no extra threads and no growing memory, and stop ends a run mid-training promptly. Every wait has a timeout,
so a deadlock between the engine and its caller fails the test instead of hanging it."""

from __future__ import annotations

import gc
import statistics
import threading
import time
from pathlib import Path

import pytest

from gancore.config import Config
from gancore.info import STEP_KINDS
from gancore.run import Run

from run_support import wait_for

CYCLES = 200  # 0.7 s each on 2 cores; a leak of one run per cycle shows within 40 (RSS_TOLERANCE_MB)
COMPARED = 50  # memory: the first 50 cycles against the last 50
SMALL = Config(width=8, depth=1, latent_dim=2, batch_size=16, steps=0, eval_every=10**6)
WAIT = 60.0  # seconds any one command may take on a busy 2-core machine before it counts as a hang
STOP_BOUND = 10.0  # stop mid-step: the goal is < 2 s; 10 s bounds a deadlock, not a speed
RSS_TOLERANCE_MB = 40.0  # allocator noise of a few MB; a leak of a run per cycle (nets, store, thread) is more


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cycle(lr: float) -> float:
    """One full life of a run; returns how long stop took while it trained."""
    run = Run(SMALL)
    try:
        run.start()
        wait_for(lambda: run.snapshot().step > 0, WAIT)
        run.pause()
        assert run.wait(WAIT)
        for kind in STEP_KINDS:
            before = run.snapshot().step
            run.step(kind, 2)
            assert run.wait(WAIT)
            assert run.snapshot().step == before + 2, kind
        run.start()
        run.set(lr_d=lr)  # a live change while it trains, applied between steps
        wait_for(lambda: run.snapshot().step > before + 2, WAIT)
        run.pause()
        assert run.wait(WAIT)
        run.reset()
        assert run.config.lr_d == lr
        assert run.snapshot().step == 0 and run.status == "ready"  # reset() returns with the new store in place
        run.start()
        wait_for(lambda: run.snapshot().step > 0, WAIT)
        began = time.monotonic()
        run.stop(timeout=STOP_BOUND)  # raises if the thread is still alive after STOP_BOUND
        return time.monotonic() - began
    finally:
        run.stop(timeout=STOP_BOUND)


@pytest.mark.slow
def test_cycles_leave_no_threads_and_no_growing_memory() -> None:
    cycle(1e-3)  # warm-up: torch's lazy initialisation is not a leak
    gc.collect()
    threads = {t.ident for t in threading.enumerate()}
    rss, stops = [], []
    for i in range(CYCLES):
        stops.append(cycle(1e-3 * (1 + i % 3)))
        extra = [t.name for t in threading.enumerate() if t.ident not in threads]
        assert not extra, f"cycle {i} left threads {extra}"
        gc.collect()
        rss.append(rss_mb())
    first, last = statistics.median(rss[:COMPARED]), statistics.median(rss[-COMPARED:])
    print(f"\nRSS median first {COMPARED}: {first:.1f} MB, last {COMPARED}: {last:.1f} MB; "
          f"stop mid-step: median {statistics.median(stops):.3f} s, max {max(stops):.3f} s")
    assert last - first < RSS_TOLERANCE_MB, (first, last)
    assert max(stops) < STOP_BOUND
