"""Crash safety for real: kill -9 a training process at random moments, mid-run and mid-final-save,
resume it in place each time, and check that every file of its directory still opens."""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gancore import checkpoint

PERIOD = 0.5  # seconds between checkpoints in these runs
SLACK = 1.5  # a save in progress when the kill came, and a slow start on a shared machine
SMALL = ["--width", "32", "--depth", "2", "--latent-dim", "4", "--batch-size", "64", "--device", "cpu",
         "--no-progress", "--eval-every", "200"]


def _rows(out: Path) -> list[list[str]]:
    path = out / "metrics.csv"
    if not path.exists():
        return []
    text = path.read_text()
    assert text == "" or text.endswith("\n"), "torn last line"
    rows = list(csv.reader(text.splitlines()))
    assert all(len(r) == len(rows[0]) for r in rows), "a row with missing fields"
    return rows


def _lines(out: Path) -> int:
    """Lines of metrics.csv while it is being written (a read can see half of a write in progress)."""
    try:
        return (out / "metrics.csv").read_text().count("\n")
    except FileNotFoundError:
        return 0


def _check(out: Path) -> int:
    """Every file opens; steps run 1..N without a gap; the checkpoint is at most a period behind. Returns N."""
    json.loads((out / "config.json").read_text())
    if (out / "summary.json").exists():
        json.loads((out / "summary.json").read_text())
    for line in (out / "events.jsonl").read_text().splitlines() if (out / "events.jsonl").exists() else []:
        json.loads(line)
    rows = _rows(out)
    if len(rows) <= 1:
        return 0
    header, body = rows[0], rows[1:]
    steps = [int(r[header.index("step")]) for r in body]
    assert steps == list(range(1, len(steps) + 1))
    times = [float(r[header.index("time")]) for r in body]
    if not (out / "checkpoint.pt").exists():  # killed before the first save: only a short run may lack one
        assert times[-1] <= PERIOD + SLACK
        return steps[-1]
    saved = checkpoint.read(out / "checkpoint.pt")["step"]
    assert saved <= steps[-1]  # the metrics are at least as recent as the checkpoint
    since = times[saved - 1] if saved else 0.0
    behind = times[-1] - since if times[-1] >= since else times[-1]  # the time column restarts on a resume
    assert behind <= PERIOD + SLACK, f"checkpoint at step {saved} is {behind:.2f} s behind the metrics"
    return steps[-1]


@pytest.mark.slow
def test_kill_9_at_random_moments_leaves_a_directory_that_opens(tmp_path) -> None:
    out = tmp_path / "run"
    pick = random.Random(os.getpid())
    trained = 0
    for attempt in range(6):
        resume = ["--resume", str(out / "checkpoint.pt")] if (out / "checkpoint.pt").exists() else []
        process = subprocess.Popen([sys.executable, "-m", "gancore", "train", "--steps", "0", "--out", str(out),
                                    "--checkpoint-every", str(PERIOD), *SMALL, *resume],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 60
            while _lines(out) <= trained + 10:  # this attempt has logged rows of its own
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.02)
            if attempt % 2:  # mid-run
                time.sleep(pick.uniform(0.0, 2.0))
            else:  # during the final save: Ctrl-C starts it, the kill lands somewhere inside
                process.send_signal(signal.SIGINT)
                time.sleep(pick.uniform(0.0, 0.4))
            process.kill()
            process.wait(timeout=30)
        finally:
            process.kill()
        assert b"Traceback" not in process.stderr.read()
        trained = _check(out)
        assert trained > 0
