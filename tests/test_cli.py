"""The command line: a real run directory, one-line errors with status 2, diverged runs exit non-zero."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import os
import resource
import signal
import struct
import subprocess
import sys
import time

import numpy as np
import pytest

from gancore import checkpoint
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
    (["--threads", "100000"], "--threads: 100000 is above the maximum"),
    (["--checkpoint-every", "-1"], "--checkpoint-every: -1 is not a number of seconds >= 0"),
    (["--checkpoint-every", "nan"], "--checkpoint-every: nan is not a number of seconds >= 0"),
    (["--out", "{tmp}/a_file"], "--out: {tmp}/a_file exists and is not a folder"),
    (["--out", "{tmp}/a_file/run"], "--out: cannot create {tmp}/a_file/run: {tmp}/a_file is not a writable folder"),
    (["--config", "{tmp}/list.json"], "--config: {tmp}/list.json must hold a JSON object of settings"),
    (["--config", "{tmp}/bad.json"], "--config: cannot read {tmp}/bad.json: Expecting property name"),
    (["--config", "{tmp}/unknown.json"], "colour: unknown setting"),
])
def test_bad_settings_exit_2_with_one_line(args, words, tmp_path, capsys) -> None:
    (tmp_path / "a_file").write_text("")
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "bad.json").write_text("{")
    (tmp_path / "unknown.json").write_text('{"colour": "red"}')
    args = [a.format(tmp=tmp_path) for a in args]
    argv = ["train", "--out", str(tmp_path / "x"), "--steps", "5", *SMALL, *args]
    if args[0] == "--preset":  # argparse's own refusal of a choice
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        code = exit_.value.code
    else:
        code = main(argv)
    assert code == 2
    err = capsys.readouterr().err
    assert words.format(tmp=tmp_path) in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "x").exists()  # refused before anything was written


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
                 "--lr-g", "3e-4"]) == 0
    config = json.loads((first / "config.json").read_text())
    assert config["dataset"] == "gauss1d" and config["lr_g"] == 3e-4
    assert config["lr_d"] == PRESETS["gauss1d"].config.lr_d != 3e-4  # the flag changed lr_g alone
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
    cores = len(os.sched_getaffinity(0))
    assert _threads(str(cores), Config()) == cores  # the most it accepts


@pytest.mark.slow  # a real process: it pays torch's import (several seconds on 2 cores)
def test_a_reader_that_leaves_early_gets_no_traceback() -> None:
    """`python -m gancore presets | head -1`: the pipe closes before everything is written."""
    process = subprocess.Popen([sys.executable, "-m", "gancore", "presets"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    process.stdout.close()  # the reader is gone before the first line
    _, err = process.communicate(timeout=60)
    assert b"Traceback" not in err and process.returncode == 0


def _gancore(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gancore", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def _wait_for(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _csv_rows(path) -> list[dict]:
    try:
        with open(path, newline="") as f:
            return list(csv.DictReader(f))
    except FileNotFoundError:
        return []


@pytest.mark.slow  # a real process: it pays torch's import (several seconds on 2 cores)
def test_ctrl_c_pauses_writes_the_directory_and_exits_130(tmp_path) -> None:
    out = tmp_path / "run"
    process = _gancore("train", "--steps", "0", "--out", str(out), "--no-progress", "--checkpoint-every", "0.3",
                       *SMALL)
    try:
        _wait_for(lambda: (out / "checkpoint.pt").exists() and len(_csv_rows(out / "metrics.csv")) > 20)
        periodic = checkpoint.read(out / "checkpoint.pt")  # saved during the run, before any Ctrl-C
        assert periodic["step"] > 0
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130 and "Traceback" not in err
    summary = json.loads((out / "summary.json").read_text())
    rows = _csv_rows(out / "metrics.csv")
    assert summary["status"] == "stopped" and summary["steps"] == len(rows) == int(rows[-1]["step"])
    assert checkpoint.read(out / "checkpoint.pt")["step"] == summary["steps"] >= periodic["step"]


@pytest.mark.slow  # a real process: it pays torch's import (several seconds on 2 cores)
def test_an_error_in_the_training_thread_exits_1_with_its_cause(tmp_path) -> None:
    """A disk that fills up while metrics.csv grows (here: a per-file size limit of 200 kB) stops the run
    on its thread; the command says why, and writes what still fits."""
    out = tmp_path / "run"
    limit = lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))  # noqa: E731
    process = _gancore("train", "--steps", "0", "--out", str(out), "--no-progress", *SMALL, preexec_fn=limit)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 1 and "Traceback" not in err, err
    assert "gancore: error: OSError: [Errno 27] File too large" in err, err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "error" and "File too large" in summary["reason"], summary
    assert summary["steps"] > 100 and summary["w1_exact"] is None, summary  # trained a while; no evaluation after
    assert (out / "metrics.csv").stat().st_size == 200_000  # every byte the limit allowed was written
    assert json.loads((out / "config.json").read_text())["width"] == 32


def test_optimizer_applies_to_both_nets(tmp_path) -> None:
    out = tmp_path / "run"
    assert main(["train", "--steps", "3", "--out", str(out), "--no-progress", "--optimizer", "rmsprop", *SMALL]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["optimizer_d"] == config["optimizer_g"] == "rmsprop"
    content = checkpoint.read(out / "checkpoint.pt")
    for opt in ("opt_d", "opt_g"):  # RMSprop keeps a running square average, Adam would keep two moments
        assert set(content[opt]["state"][0]) == {"step", "square_avg"}
        assert "alpha" in content[opt]["param_groups"][0]


def _idx(magic: int, array: np.ndarray) -> bytes:
    return struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def test_download_from_a_local_mirror_checks_every_file(tmp_path, monkeypatch, capsys) -> None:
    """A USB stick in a room without internet: --mirror file://... . The real checksums only match the real
    files, so the good case swaps in the checksums of four tiny IDX files made here."""
    from gancore.data import images
    mirror, dest = tmp_path / "mirror", tmp_path / "data"
    mirror.mkdir()
    rng = np.random.default_rng(0)
    parts = {"train-images-idx3-ubyte": _idx(0x803, rng.integers(0, 256, (20, 28, 28), dtype=np.uint8)),
             "train-labels-idx1-ubyte": _idx(0x801, np.arange(20, dtype=np.uint8) % 10),
             "t10k-images-idx3-ubyte": _idx(0x803, rng.integers(0, 256, (10, 28, 28), dtype=np.uint8)),
             "t10k-labels-idx1-ubyte": _idx(0x801, np.arange(10, dtype=np.uint8))}
    for name, data in parts.items():
        (mirror / f"{name}.gz").write_bytes(gzip.compress(data))
    url = mirror.as_uri()
    assert main(["download", "mnist", "--mirror", url, "--dir", str(dest)]) == 2  # the real checksums
    err = capsys.readouterr().err
    assert "train-images-idx3-ubyte.gz failed its checksum" in err and err.count("\n") == 1
    assert not (dest / "train-images-idx3-ubyte.gz").exists()  # a bad copy is deleted
    sums = {f"{name}.gz": hashlib.md5(gzip.compress(data)).hexdigest() for name, data in parts.items()}
    monkeypatch.setitem(images.SOURCES, "mnist", (images.SOURCES["mnist"][0], sums))
    assert main(["download", "mnist", "--mirror", url, "--dir", str(dest)]) == 0
    assert f"mnist is ready in {dest}" in capsys.readouterr().out
    assert {p.name for p in dest.iterdir()} == set(sums)
    assert main(["train", "--dataset", "mnist", "--data-dir", str(dest), "--steps", "2", "--no-progress",
                 "--out", str(tmp_path / "run"), *SMALL]) == 0  # the files it fetched are usable data


def test_a_checkpoint_that_cannot_be_saved_does_not_stop_the_run(tmp_path, capsys) -> None:
    """A folder squatting on checkpoint.pt's name: every save fails, the training and the other files go on,
    and the command says which file is missing (status 1)."""
    out = tmp_path / "run"
    (out / "checkpoint.pt").mkdir(parents=True)
    code = main(["train", "--steps", "300", "--out", str(out), "--no-progress", "--checkpoint-every", "0.01",
                 *SMALL])
    err = capsys.readouterr().err.splitlines()
    assert code == 1
    assert err[0].startswith("gancore: could not write periodic checkpoint.pt: IsADirectoryError")
    assert err[1].startswith("gancore: could not write checkpoint.pt: IsADirectoryError") and len(err) == 2
    assert json.loads((out / "summary.json").read_text())["status"] == "completed"
    assert len(_csv_rows(out / "metrics.csv")) == 300 and (out / "samples.png").exists()
    assert not list((out / "checkpoint.pt").iterdir()) and not list(out.glob(".*"))  # no leftovers


OUT_OF_MEMORY = """
import resource, sys
from gancore.__main__ import main
import numpy, torch, gancore.outputs, tqdm, dashboard.report  # all imported (report.html's plotly too), and
# BLAS's buffers made, before the limit: importing a C extension past an address-space limit can crash
numpy.ones((256, 256)) @ numpy.ones((256, 256)), torch.ones(256, 256) @ torch.ones(256, 256)
used = int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()
resource.setrlimit(resource.RLIMIT_AS, (used + 150_000_000, resource.RLIM_INFINITY))
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_a_run_that_runs_out_of_memory_says_so(tmp_path) -> None:
    """A machine with 150 MB to spare and a run of about 400 MB (under the free RAM the budget sees, since
    the limit is the process's own): the allocation fails on the training thread and the command says so."""
    out = tmp_path / "run"
    result = subprocess.run([sys.executable, "-W", "ignore", "-c", OUT_OF_MEMORY, "train", "--width", "1024",
                             "--batch-size", "4096", "--steps", "5", "--out", str(out), "--no-progress",
                             "--device", "cpu"], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})  # BLAS's own buffers fit
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    ours = [line for line in result.stderr.splitlines() if line.startswith("gancore: ")]  # BLAS may warn too
    errors = [line for line in ours if line.startswith("gancore: error: ")]
    assert len(errors) == 1 and errors[0].startswith("gancore: error: RuntimeError: ") and "allocate" in errors[0], \
        result.stderr
    # what the lack of memory kept from being written is said too (report.html's figures need memory)
    assert all(line.startswith("gancore: could not write ") for line in ours if line not in errors), result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "error" and "allocate" in summary["reason"], result.stderr
