"""Small helpers for tests that drive a real Run: wait for a condition, train a few steps and read back."""

from __future__ import annotations

import time
from typing import Callable

from gancore.config import Config
from gancore.metrics import Snapshot
from gancore.run import Run


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def stepped_snapshot(config: Config, steps: int, hooks: list | None = None) -> Snapshot:
    """The snapshot after `steps` iterations of a real run (stopped afterwards)."""
    run = Run(config, hooks=hooks)
    try:
        run.step("iteration", steps)
        assert run.wait(30)
        return run.snapshot()
    finally:
        run.stop()
