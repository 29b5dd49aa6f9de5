"""Continuing a run in its own directory: the history is kept, a refused resume changes nothing."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import torch

from gancore.__main__ import main

SMALL = ["--width", "32", "--depth", "2", "--latent-dim", "4", "--batch-size", "64", "--device", "cpu",
         "--no-progress", "--eval-every", "1000"]


def _train(out: Path, steps: int, *extra: str) -> int:
    return main(["train", "--steps", str(steps), "--out", str(out), *SMALL, *extra])


def _rows(out: Path) -> list[dict]:
    with open(out / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_resuming_in_place_appends_and_is_the_uninterrupted_run(tmp_path) -> None:
    straight, run = tmp_path / "straight", tmp_path / "run"
    assert _train(straight, 100) == 0
    assert _train(run, 50) == 0
    first = (run / "metrics.csv").read_text()
    assert _train(run, 100, "--resume", str(run / "checkpoint.pt")) == 0
    rows = _rows(run)
    assert [int(r["step"]) for r in rows] == list(range(1, 101))
    assert (run / "metrics.csv").read_text().startswith(first)  # the first 50 rows are the very same lines
    for name in ("loss_d", "loss_g"):  # exact resume: the run of 100 steps, written to 6 digits
        assert [r[name] for r in rows] == [r[name] for r in _rows(straight)]
    assert json.loads((run / "summary.json").read_text())["steps"] == 100


def test_rows_past_the_checkpoint_are_dropped(tmp_path) -> None:
    """A run that went on after its last checkpoint (then was killed) resumes from the checkpoint's step:
    the rows it logged after it are replaced, so steps keep increasing."""
    run = tmp_path / "run"
    assert _train(run, 40) == 0
    shutil.copy(run / "checkpoint.pt", tmp_path / "at40.pt")
    assert _train(run, 90, "--resume", str(run / "checkpoint.pt")) == 0
    assert len(_rows(run)) == 90
    logged = [{"step": 10, "what": "lr_d", "old": 1e-3, "new": 5e-4, "note": ""},
              {"step": 70, "what": "lr_d", "old": 5e-4, "new": 1e-4, "note": ""}]
    (run / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in logged))  # as a live run logs them
    assert _train(run, 60, "--resume", str(tmp_path / "at40.pt")) == 0
    assert [int(r["step"]) for r in _rows(run)] == list(range(1, 61))
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    assert events == logged[:1]  # the change at step 70 belonged to the dropped continuation


def test_a_refused_resume_leaves_the_directory_byte_for_byte(tmp_path, capsys) -> None:
    run = tmp_path / "run"
    assert _train(run, 30) == 0
    before = _files(run)
    ckpt = run / "checkpoint.pt"
    torn = tmp_path / "torn.pt"
    torn.write_bytes(ckpt.read_bytes()[:1000])
    content = torch.load(ckpt, weights_only=True)
    del content["opt_g"]
    torch.save(content, tmp_path / "no_opt.pt")
    for extra, words in ((["--resume", str(ckpt), "--width", "64"], "width 32 (run has 64)"),
                         (["--resume", str(torn)], "not a readable gancore checkpoint"),
                         (["--resume", str(tmp_path / "no_opt.pt")], "'opt_g' must be an optimizer state"),
                         (["--resume", str(ckpt), "--dataset", "digits"], "dataset 'ring' (run has 'digits')")):
        assert _train(run, 60, *extra) == 2
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1
        assert _files(run) == before
