"""Sweeps on a real Dask cluster: a scheduler and two worker processes started with Dask's own command lines
(as on a cluster), and the embedded LocalCluster of `--workers 2`. The runs are real tiny trainings."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from gancore.config import Config, ConfigError
from gancore.sweep import main, train_cell
from gancore.sweep_grid import cells, parse_axis
from gancore.sweep_map import dominant, run_label, summarise_cells

TINY = ["--width", "16", "--depth", "1", "--batch-size", "32", "--steps", "30", "--no-progress"]
# SGD at lr_d 10 on LSGAN overflows within a few steps (tests/test_divergence.py): those runs diverge
GRID = ["--loss", "lsgan", "--optimizer", "sgd", "--grid", "lr_d=0.001,10", "--grid", "lr_g=1e-3,0.01",
        "--seeds", "0", "1"]


def _rows(out: Path) -> list[dict[str, str]]:
    with open(out / "sweep.csv", newline="") as f:
        return list(csv.DictReader(f))


def _sweep(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gancore.sweep", *argv], capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory) -> str:
    """A scheduler and two one-thread workers on 127.0.0.1, stopped by PID afterwards."""
    folder = tmp_path_factory.mktemp("dask")
    file = folder / "scheduler.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", "0", "--scheduler-file", str(file), "--no-dashboard"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=folder)]
    try:
        deadline = time.monotonic() + 60
        while not file.exists():
            assert time.monotonic() < deadline, "the scheduler did not start"
            time.sleep(0.2)
        for _ in range(2):
            procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file",
                                           str(file), "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=folder))
        address = json.loads(file.read_text())["address"]
        from distributed import Client
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.mark.slow
def test_a_grid_on_two_workers_completes_keeps_failures_as_rows_and_resumes(scheduler: str, tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    result = _sweep(*TINY, *GRID, "--scheduler", scheduler, "--out", str(out))
    assert result.returncode == 0, result.stderr
    rows = _rows(out)
    assert len(rows) == 8
    assert sorted((r["lr_d"], r["lr_g"], r["seed"]) for r in rows) == sorted(
        (d, g, s) for d in ("0.001", "10") for g in ("0.001", "0.01") for s in ("0", "1"))
    assert len({r["worker"] for r in rows}) == 2 and all(r["worker"].startswith("tcp://127.0.0.1:") for r in rows)
    for r in rows:  # the diverging corner is rows with their reason; the rest trained all 30 steps
        if r["lr_d"] == "10":
            assert r["status"] == "diverged" and "non-finite" in r["reason"], r
        else:
            assert r["status"] == "completed" and r["steps"] == "30" and r["w1_exact"] != "", r
    for r in rows:  # every run is an ordinary run directory
        summary = json.loads((out / r["run"] / "summary.json").read_text())
        assert summary["status"] == r["status"]
        assert json.loads((out / r["run"] / "config.json").read_text())["lr_d"] == float(r["lr_d"])
    settings = json.loads((out / "sweep.json").read_text())
    assert settings["grid"] == {"lr_d": [0.001, 10.0], "lr_g": [0.001, 0.01]} and settings["seeds"] == [0, 1]
    assert Image.open(out / "sweep.png").size[0] == 1600
    assert "trained 8 now" in result.stdout
    report = (out / rows[0]["run"] / "report.html").read_text()  # plotly.js once, beside the runs
    assert '<script src="../plotly.min.js">' in report and len(report) < 10**6
    assert (out / "plotly.min.js").stat().st_size > 10**6

    # resume: a run whose summary is gone (as if killed) is trained again; the other 7 are kept
    (out / rows[0]["run"] / "summary.json").unlink()
    before = {r["run"]: r["seconds"] for r in rows}
    again = _sweep(*TINY, *GRID, "--scheduler", scheduler, "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert "7 already finished, 1 to train" in again.stderr and "trained 1 now" in again.stdout
    after = {r["run"]: r["seconds"] for r in _rows(out)}
    assert [k for k in after if after[k] != before[k]] == [rows[0]["run"]]


@pytest.mark.slow
def test_a_worker_killed_mid_run_has_its_run_retried_on_another_worker(scheduler: str, tmp_path: Path) -> None:
    """A third worker (no nanny, so its PID is the worker) takes a run and is killed with SIGKILL mid-run."""
    from distributed import Client
    doomed = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", scheduler, "--nthreads", "1",
                               "--host", "127.0.0.1", "--no-nanny", "--no-dashboard", "--name", "doomed"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
    out = tmp_path / "killed"
    try:
        with Client(scheduler, timeout="30s") as client:
            client.wait_for_workers(3, timeout=60)
            address = next(a for a, w in client.scheduler_info()["workers"].items() if w["name"] == "doomed")
            sweep = subprocess.Popen([sys.executable, "-m", "gancore.sweep", *TINY, "--steps", "1500", "--grid",
                                      "lr_g=1e-3,2e-3", "--seeds", "0", "1", "2", "--scheduler", scheduler,
                                      "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            deadline = time.monotonic() + 60
            while not client.processing().get(address):
                assert time.monotonic() < deadline, "the third worker got no run"
                time.sleep(0.05)
            time.sleep(0.5)
        doomed.kill()
        stdout, stderr = sweep.communicate(timeout=300)
    finally:
        doomed.kill()
        doomed.wait(timeout=20)
    assert sweep.returncode == 0, stderr
    rows = _rows(out)
    assert len(rows) == 6 and all(r["status"] == "completed" and r["steps"] == "1500" for r in rows), rows
    assert address not in {r["worker"] for r in rows}  # what it had taken was trained again elsewhere


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_leaves_the_finished_runs_readable(tmp_path: Path) -> None:
    out = tmp_path / "stopped"
    argv = [*TINY, "--steps", "1500", "--grid", "lr_g=1e-3,2e-3", "--seeds", "0", "1", "2", "--workers", "1",
            "--out", str(out)]
    # Started as a shell starts a background job, with SIGINT ignored: the sweep must still stop on it (it
    # once ran to the end and exited 0 when the suite itself ran in the background).
    sweep = subprocess.Popen([sys.executable, "-m", "gancore.sweep", *argv], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    deadline = time.monotonic() + 120
    while not list(out.glob("*/summary.json")):
        assert time.monotonic() < deadline and sweep.poll() is None, "no run finished"
        time.sleep(0.1)
    sweep.send_signal(signal.SIGINT)
    stdout, stderr = sweep.communicate(timeout=60)
    assert sweep.returncode == 130 and "Traceback" not in stderr, stderr
    assert "run the same command again" in stderr
    rows = _rows(out)
    assert 1 <= len(rows) < 6 and all(r["status"] == "completed" for r in rows)
    finished = len(list(out.glob("*/summary.json")))
    again = _sweep(*argv)
    assert again.returncode == 0 and f"{finished} already finished, {6 - finished} to train" in again.stderr
    assert len(_rows(out)) == 6


@pytest.mark.slow
def test_the_embedded_local_cluster_runs_on_two_worker_processes(tmp_path: Path) -> None:
    out = tmp_path / "local"
    result = _sweep(*TINY, "--grid", "lr_g=1e-3,2e-3", "--seeds", "0", "1", "--workers", "2", "--out", str(out))
    assert result.returncode == 0, result.stderr
    rows = _rows(out)
    assert [(r["lr_g"], r["seed"], r["status"]) for r in rows] == [
        ("0.001", "0", "completed"), ("0.001", "1", "completed"), ("0.002", "0", "completed"),
        ("0.002", "1", "completed")]
    assert len({r["worker"] for r in rows}) == 2


@pytest.mark.parametrize("grid, message", [
    ("lr_d=abc", "--grid: lr_d=abc: expected a float, got 'abc'"),
    ("lr_d=1e-3,20", "--grid: lr_d=20: 20.0 is above the maximum 10"),
    ("nonsense=1,2", "unknown setting 'nonsense'"),
    ("lr_d", "expected NAME=V1,V2,..."),
    ("arch=dcgan", "arch=dcgan: dcgan needs 28x28 images"),
])
def test_bad_grid_values_exit_2_with_one_line_before_anything_runs(tmp_path: Path, capsys, grid: str,
                                                                    message: str) -> None:
    assert main([*TINY, "--grid", grid, "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("gancore sweep: error: ") and message in err
    assert not (tmp_path / "s").exists()


def test_a_bad_base_flag_is_refused_like_train(tmp_path: Path, capsys) -> None:
    assert main(["--width", "2", "--grid", "lr_d=1e-3", "--out", str(tmp_path / "s")]) == 2
    assert capsys.readouterr().err == "gancore sweep: error: --width: 2 is below the minimum 4\n"


def test_cells_cross_every_axis_with_every_seed_under_the_base() -> None:
    base = Config(width=16, steps=5)
    axes = [parse_axis("lr_d=1e-4,2e-4", base), parse_axis("optimizer=sgd,adam", base)]
    grid = cells(base, axes, [3, 4])
    assert len(grid) == 8
    assert grid[0].name == "lr_d=0.0001,optimizer=sgd,seed=3"
    assert (grid[0].config.optimizer_d, grid[0].config.optimizer_g, grid[0].config.seed) == ("sgd", "sgd", 3)
    assert grid[-1].config.lr_d == 2e-4 and grid[-1].config.width == 16 and grid[-1].config.seed == 4
    with pytest.raises(ConfigError, match="repeated"):
        parse_axis("lr_d=1e-3,0.001", base)


def test_a_run_that_cannot_start_is_a_row_with_its_reason(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    row = train_cell(Config(width=16, depth=1, batch_size=32, steps=5).to_dict(), str(tmp_path / "file"))
    assert row["status"] == "error" and "exists and is not a folder" in row["reason"] and row["worker"] == "local"


def test_the_map_reads_the_median_spread_and_dominant_diagnosis_of_each_cell() -> None:
    rows = [{"a": "1", "b": "x", "modes_covered_strict": "8", "status": "completed", "diagnosis_kinds": ""},
            {"a": "1", "b": "x", "modes_covered_strict": "2", "status": "completed",
             "diagnosis_kinds": "mode_collapse"},
            {"a": "1", "b": "x", "modes_covered_strict": "6", "status": "completed", "diagnosis_kinds": ""},
            {"a": "2", "b": "x", "modes_covered_strict": "", "status": "diverged", "diagnosis_kinds": ""}]
    stats = summarise_cells(rows, ["a", "b"], "modes_covered_strict")
    assert stats[("1", "x")] == {"median": 6.0, "min": 2.0, "max": 8.0, "runs": 3, "label": "balanced"}
    assert stats[("2", "x")]["median"] is None and stats[("2", "x")]["label"] == "divergence"
    assert run_label({"status": "completed", "diagnosis_kinds": "d_overpowering;vanishing_gradients"}) == \
        "vanishing gradient"
    assert dominant(["collapse", "balanced"]) == "collapse"  # a tie goes to the more severe
    # no diagnosis is "balanced" only once the samples reached the data (10% of them sharp, as the detectors ask)
    assert run_label({"status": "completed", "diagnosis_kinds": "", "hq_fraction": "0.099"}) == "not at the data yet"
    assert run_label({"status": "completed", "diagnosis_kinds": "", "hq_fraction": "0.1"}) == "balanced"


def test_the_sweep_takes_train_settings_and_its_own_flags_in_any_order() -> None:
    import argparse

    from gancore.sweep import add_sweep_parser
    parser = argparse.ArgumentParser()
    add_sweep_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["sweep", "--sweep-preset", "lr-balance", "--seeds", "0", "1", "--workers", "2",
                              "--lr-d", "2e-4", "--out", "o", "--no-progress", "--threads", "1"])
    assert (args.sweep_preset, args.seeds, args.workers, args.lr_d, args.out, args.no_progress, args.threads) == \
        ("lr-balance", ["0", "1"], "2", "2e-4", "o", True, "1")
    assert not hasattr(args, "resume")  # a sweep resumes by running the same command again


def test_resume_keeps_a_finished_run_only_under_the_same_config(tmp_path: Path) -> None:
    from gancore.sweep import finished_row
    base = Config(width=16, depth=1, batch_size=32, steps=5, device="cpu")
    cell, = cells(base, [parse_axis("lr_g=1e-3", base)], [0])
    out = tmp_path / cell.name
    assert finished_row(cell, out) is None  # nothing there yet
    assert train_cell(cell.config.to_dict(), str(out))["status"] == "completed"
    row = finished_row(cell, out)
    assert row["status"] == "completed" and row["steps"] == 5 and row["worker"] == "local"
    other, = cells(base.replace(width=32), [parse_axis("lr_g=1e-3", base)], [0])
    assert other.name == cell.name and finished_row(other, out) is None  # a changed base trains again
