"""The command line: a real run directory, one-line errors with status 2, diverged runs exit non-zero."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from gancore.__main__ import main
from gancore.evaluate.distances import w1_exact
from gancore.presets import PRESETS

SMALL = ["--width", "32", "--depth", "2", "--latent-dim", "4", "--batch-size", "64", "--device", "cpu"]


def test_train_writes_the_run_directory(tmp_path) -> None:
    out = tmp_path / "run"
    code = main(["train", "--steps", "120", "--eval-every", "50", "--out", str(out), "--no-progress", *SMALL])
    assert code == 0
    config = json.loads((out / "config.json").read_text())
    assert config["steps"] == 120 and config["width"] == 32
    with open(out / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == list(range(1, 121))  # one row per logged step
    for name in ("loss_d", "loss_g", "d_real", "d_fake", "critic_real", "critic_fake", "w_estimate", "gp",
                 "grad_norm_d", "grad_norm_g", "step_time", "samples_per_s"):
        assert name in rows[0]
    assert rows[0]["gp"] == "" and float(rows[-1]["loss_d"]) > 0  # not measured: empty, not 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["steps"] == 120 and summary["modes_total"] == 8
    assert 0 <= summary["modes_covered"] <= 8 and summary["swd"] is None
    samples = np.load(out / "samples.npz")
    assert samples["real"].shape == samples["fake"].shape == (2500, 2)
    # anyone can recompute the headline number from the saved samples
    assert w1_exact(samples["real"][:512], samples["fake"][:512]) == pytest.approx(summary["w1_exact"])
    assert (out / "samples.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "checkpoint.pt").stat().st_size > 1000
    assert (out / "events.jsonl").read_text() == ""


@pytest.mark.parametrize("args, words", [
    (["--lr-d", "abc"], "--lr-d: expected a float, got 'abc'"),
    (["--loss", "wasserstein"], "--loss: 'wasserstein' is not one of"),
    (["--batch-size", "0"], "--batch-size: 0 is below the minimum 1"),
    (["--dataset", "ring", "--arch", "dcgan"], "--arch: dcgan needs 28x28 images"),
    (["--preset", "nope"], "invalid choice: 'nope'"),
    (["--dataset", "mnist", "--data-dir", "/nonexistent/folder"], "/nonexistent/folder not found"),
    (["--resume", "/nonexistent.pt"], "checkpoint /nonexistent.pt does not exist"),
    (["--threads", "two"], "--threads: expected an int, got 'two'"),
])
def test_bad_settings_exit_2_with_one_line(args, words, tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) if args[0] == "--preset" else _no_raise():
        code = main(["train", "--out", str(tmp_path / "x"), "--steps", "5", *SMALL, *args])
        assert code == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and "Traceback" not in err


class _no_raise:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_a_real_process_exits_2_without_traceback(tmp_path) -> None:
    result = subprocess.run([sys.executable, "-m", "gancore", "train", "--gp-lambda", "-1"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "gancore: error: --gp-lambda: -1.0 is below the minimum 0"


def test_diverged_run_exits_3_and_keeps_its_metrics(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    code = main(["train", "--out", str(out), "--no-progress", "--steps", "200", *SMALL, "--loss", "lsgan",
                 "--optimizer", "sgd", "--lr-d", "5", "--lr-g", "5"])
    assert code == 3
    err = capsys.readouterr().err
    assert "diverged" in err and "non-finite at step" in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "diverged" and summary["steps"] < 200
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert len(rows) == summary["steps"]


def test_presets_are_listed_with_their_explanations(capsys) -> None:
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    for preset in PRESETS.values():
        assert preset.name in out and preset.explanation[:60] in out


def test_preset_then_flags_override_and_resume(tmp_path) -> None:
    first = tmp_path / "a"
    assert main(["train", "--preset", "gauss1d", "--steps", "30", "--out", str(first), "--no-progress",
                 "--lr-g", "2e-4"]) == 0
    config = json.loads((first / "config.json").read_text())
    assert config["dataset"] == "gauss1d" and config["lr_g"] == 2e-4 and config["lr_d"] == 1e-3
    second = tmp_path / "b"
    assert main(["train", "--config", str(first / "config.json"), "--resume", str(first / "checkpoint.pt"),
                 "--steps", "50", "--out", str(second), "--no-progress"]) == 0
    rows = list(csv.DictReader(open(second / "metrics.csv")))
    assert int(rows[0]["step"]) == 31 and int(rows[-1]["step"]) == 50  # continued, not restarted


def test_threads_default_to_one_for_toy_nets_and_to_torch_for_images() -> None:
    from gancore.__main__ import _threads
    from gancore.config import Config
    assert _threads("0", Config()) == 1
    assert _threads("0", Config(dataset="digits")) == 0  # 0: leave torch's own choice
    assert _threads("3", Config()) == 3


def test_a_reader_that_leaves_early_gets_no_traceback() -> None:
    """`python -m gancore presets | head -1`: the pipe closes before everything is written."""
    process = subprocess.Popen([sys.executable, "-m", "gancore", "presets"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    process.stdout.close()  # the reader is gone before the first line
    _, err = process.communicate(timeout=60)
    assert b"Traceback" not in err and process.returncode == 0
