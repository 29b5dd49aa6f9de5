"""The Sweep view with Streamlit's AppTest: `?sweep=` draws a sweep folder's map from what its runs wrote, fills
in as more finish, opens a cell's run as a recorded run, and refuses names outside the log directory; a
launch from the page is decided on the server (role and training slots) and, when allowed, really trains.

The fast tests build sweep folders by hand (the files a run leaves: config.json, summary.json,
sweep_cell.json); the slow ones read a folder made once per module by a real `gancore sweep` on a
LocalCluster of two worker processes."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard import access, sweep_launch
from dashboard.access import Binding, Refused
from dashboard.runs import Busy, Entry, Registry, registry
from gancore.config import Config
from gancore.sweep_grid import cells, parse_axis
from gancore.sweep_read import read_sweep

from test_roles import page as _open

BASE = Config(width=16, depth=1, batch_size=32, steps=20)
TINY = ["--width", "16", "--depth", "1", "--batch-size", "32", "--steps", "20", "--eval-every", "10",
        "--no-progress"]


def _hand_made(out: Path, finished: dict[tuple[str, int], float]) -> list:
    """A sweep folder of lr_d x lr_g (2 x 2) x seeds 0, 1 whose runs in `finished` ((lr_d, lr_g, seed): w1_exact)
    completed, with the files a finished run leaves; lr_d=10 runs end diverged."""
    axes = [parse_axis("lr_d=0.001,10", BASE), parse_axis("lr_g=0.001,0.01", BASE)]
    grid = cells(BASE, axes, [0, 1])
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep.json").write_text(json.dumps({"base": BASE.to_dict(), "grid": {"lr_d": [0.001, 10.0],
                                    "lr_g": [0.001, 0.01]}, "seeds": [0, 1], "outcome": "w1_exact",
                                    "sweep_preset": None, "explanation": None}))
    for cell in grid:
        key = (dict(cell.values)["lr_d"], dict(cell.values)["lr_g"], cell.seed)
        if key not in finished:
            continue
        run = out / cell.name
        run.mkdir(exist_ok=True)
        status = "diverged" if key[0] == 10 else "completed"
        (run / "config.json").write_text(json.dumps(cell.config.to_dict()))
        (run / "metrics.csv").write_text("step\n1\n")
        (run / "summary.json").write_text(json.dumps({"status": status, "steps": 20, "w1_exact": finished[key],
                                                      "diagnoses": []}))
        (run / "sweep_cell.json").write_text(json.dumps({"worker": "tcp://127.0.0.1:1", "seconds": 1.0}))
    return grid


@pytest.fixture
def logdir(tmp_path, monkeypatch):
    root = tmp_path / "logs"
    root.mkdir()
    monkeypatch.setenv("GANCORE_LOGDIR", str(root))
    monkeypatch.setenv("GANCORE_REFRESH", "2")
    st.cache_resource.clear()
    yield root
    st.cache_resource.clear()


def _map(at: AppTest) -> dict:
    """The sweep map's figure as the browser gets it."""
    return json.loads(at.get("plotly_chart")[0].proto.spec)


def _cells(figure: dict) -> dict[tuple[str, str], str]:
    """(lr_d, lr_g) -> the text written on that cell of the map."""
    marks = next(t for t in figure["data"] if t["type"] == "scatter")
    return {(y, x): text for x, y, text in zip(marks["x"], marks["y"], marks["text"])}


def _caption(at: AppTest) -> str:
    return next(c.value for c in at.caption if " runs finished" in c.value)


# --- fast: hand-made folders -----------------------------------------------------------------------------
def test_a_partly_finished_sweep_shows_its_finished_cells_and_fills_in(logdir):
    _hand_made(logdir / "s", {(0.001, 0.001, 0): 1.5, (0.001, 0.001, 1): 2.5, (10.0, 0.01, 0): 9.0})
    at = _open(sweep="s")
    assert _caption(at).startswith("3 of 8 runs finished (1 failed or diverged)")
    figure = _map(at)
    heat = next(t for t in figure["data"] if t["type"] == "heatmap")
    assert heat["z"] == [[2.0, None], [None, 9.0]]  # median of 1.5 and 2.5; lr_d=10 x lr_g=0.01 has one run
    assert _cells(figure) == {("0.001", "0.001"): "2 (1.50-2.50)<br>balanced", ("0.001", "0.01"): "pending",
                              ("10", "0.001"): "pending", ("10", "0.01"): "9 (9-9)<br>divergence"}
    _hand_made(logdir / "s", {(0.001, 0.01, 0): 3.0, (0.001, 0.01, 1): 5.0})  # two more runs finish
    at.run()
    assert _caption(at).startswith("5 of 8 runs finished")
    assert _cells(_map(at))[("0.001", "0.01")] == "4 (3-5)<br>balanced"


def test_a_run_being_written_is_running_and_a_row_only_sweep_csv_holds_is_kept(logdir):
    grid = _hand_made(logdir / "s", {(0.001, 0.001, 0): 1.0})
    started = logdir / "s" / grid[1].name  # a directory with metrics.csv and no summary yet
    started.mkdir()
    (started / "metrics.csv").write_text("step\n")
    with open(logdir / "s" / "sweep.csv", "w", newline="") as f:  # a run whose worker was lost twice
        writer = csv.DictWriter(f, ["lr_d", "lr_g", "seed", "status", "reason", "run"])
        writer.writeheader()
        writer.writerow({"lr_d": "10", "lr_g": "0.001", "seed": "1", "status": "error",
                         "reason": "KilledWorker: lost", "run": grid[5].name})
    state = read_sweep(logdir / "s")
    assert [r["run"] for r in state.rows] == [grid[0].name, grid[5].name]
    assert [r["run"] for r in state.running] == [grid[1].name] and state.total == 8
    at = _open(sweep="s")
    assert "2 of 8 runs finished (1 failed or diverged); 1 running, 5 waiting" in _caption(at)
    assert _cells(_map(at))[("10", "0.001")] == "no value<br>error"


def test_picking_a_cell_lists_its_runs_and_each_opens_as_a_recorded_run(logdir):
    _hand_made(logdir / "s", {(0.001, 0.001, 0): 1.5, (0.001, 0.001, 1): 2.5, (10.0, 0.01, 0): 9.0})
    at = _open(sweep="s")
    picker = at.selectbox(key="sweep-cell")
    assert picker.options == ["lr_d=0.001, lr_g=0.001: 2 (1.50-2.50), balanced",
                              "lr_d=10, lr_g=0.01: 9 (9-9), divergence"]
    first = [b.label.split(" · ")[0] for b in at.button if b.key and b.key.startswith("sweep-run-")]
    assert first == ["lr_d=0.001,lr_g=0.001,seed=0", "lr_d=0.001,lr_g=0.001,seed=1"]  # the first cell's runs
    picker.set_value(3).run()  # the index of (10, 0.01) in the map's cells, as a click sets it
    runs = [b for b in at.button if b.key and b.key.startswith("sweep-run-")]
    assert [b.label for b in runs] == ["lr_d=10,lr_g=0.01,seed=0 · diverged · w1_exact 9 · divergence"]
    runs[0].click().run()
    assert at.query_params["dir"] == "s/lr_d=10,lr_g=0.01,seed=0"
    assert "Back to sweep s" in [b.label for b in at.sidebar.button]  # the recorded run leads back to its map


@pytest.mark.parametrize("name", ["../x", "/etc", "s/../../x", "missing", "s/lr_d=0.001,lr_g=0.001,seed=0"])
def test_a_name_that_is_not_a_sweep_of_the_log_directory_is_refused(logdir, name):
    _hand_made(logdir / "s", {(0.001, 0.001, 0): 1.0})
    _hand_made(logdir.parent / "x", {(0.001, 0.001, 0): 7.0})  # a sweep folder outside the log directory
    at = _open(sweep=name)
    assert any("This sweep cannot be opened" in e.value for e in at.error), [e.value for e in at.error]
    assert not at.get("plotly_chart")  # nothing of the other folder is drawn


def test_a_third_axis_makes_small_multiples_one_panel_per_value():
    from dashboard.sweep_chart import figure
    from gancore.sweep_read import SweepState
    rows = [{"a": a, "b": b, "c": c, "status": "completed", "w1_exact": str(i), "diagnosis_kinds": ""}
            for i, (a, b, c) in enumerate((a, b, c) for a in "12" for b in "xy" for c in ("p", "q", "r"))]
    state = SweepState({"outcome": "w1_exact"}, [("a", ["1", "2"]), ("b", ["x", "y"]), ("c", ["p", "q", "r"])],
                       rows[:-1], total=12)  # the last run (2, y, r) is not finished
    fig = figure(state).to_plotly_json()
    heats = [t for t in fig["data"] if t["type"] == "heatmap"]
    assert [a["text"] for a in fig["layout"]["annotations"]] == ["c=p", "c=q", "c=r"]
    assert [list(map(list, h["z"])) for h in heats] == [[[0, 3], [6, 9]], [[1, 4], [7, 10]], [[2, 5], [8, None]]]


# --- launching: decided on the server --------------------------------------------------------------------
def _launch(at: AppTest, workers: int = 1, grid: str = "lr_g=0.001,0.002", steps: int = 20) -> AppTest:
    at.session_state["tab"] = "Sweep"
    at.run()
    at.selectbox(key="sweep-preset").set_value(sweep_launch.CUSTOM)
    at.text_area(key="sweep-grid").set_value(grid)
    at.number_input(key="sweep-steps").set_value(steps)
    at.number_input(key="sweep-workers").set_value(workers)
    next(b for b in at.button if b.label == "Launch sweep").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _refusal(at: AppTest) -> str:
    return next(e.value for e in at.error if "not launched" in e.value)


def test_who_may_launch_and_how_many_workers_fit_are_decided_before_anything_is_written(logdir, monkeypatch):
    reg = Registry(capacity=3, reap_every=None)
    args = (sweep_launch.CUSTOM, "lr_g=0.001,0.002", 1, 20)
    monkeypatch.setenv("GANCORE_CLASSROOM", "1")
    for role in ("viewer", "owner"):  # in a class: a student, and a student's own copy
        with pytest.raises(Refused, match="Only the instructor"):
            sweep_launch.launch(Binding(Entry("t", None), role), reg, *args, 1)  # type: ignore[arg-type]
    monkeypatch.delenv("GANCORE_CLASSROOM")
    with pytest.raises(Refused, match="You are watching this run"):
        sweep_launch.launch(Binding(Entry("t", None), "viewer"), reg, *args, 1)  # type: ignore[arg-type]
    reg.hold(2)  # two slots taken (runs, or another sweep)
    with pytest.raises(Busy, match="needs 2 training slots; 1 of 3 are free"):
        sweep_launch.launch(Binding(Entry("t", None), "owner"), reg, *args, 2)  # type: ignore[arg-type]
    assert not list(logdir.iterdir()) and reg.in_use() == 2  # nothing written, no slot taken


@pytest.mark.slow
def test_a_classroom_viewer_and_a_watcher_are_refused_a_launch_on_the_server(logdir, monkeypatch):
    monkeypatch.setenv("GANCORE_CLASSROOM", "1")
    monkeypatch.setattr(access, "INSTRUCTOR_KEY", "secret-key")
    instructor = _open(key="secret-key")
    student = _launch(_open())
    assert "Only the instructor can launch a sweep" in _refusal(student)
    monkeypatch.delenv("GANCORE_CLASSROOM")
    watcher = _launch(_open(run=instructor.query_params["run"]))  # a watch link: the token, no control key
    assert "You are watching this run" in _refusal(watcher)
    assert not list(logdir.iterdir()) and registry().in_use() == 1  # nothing written, no slot taken


@pytest.mark.slow
def test_a_launch_beyond_the_free_training_slots_is_refused(logdir, monkeypatch):
    monkeypatch.setenv("GANCORE_MAX_RUNS", "2")
    owner = _launch(_open(), workers=2)  # the page's own run holds one of the two slots
    assert "needs 2 training slots; 1 of 2 are free" in _refusal(owner)
    bad = _launch(owner, grid="lr_g=abc")
    assert "--grid: lr_g=abc: expected a float, got 'abc'" in _refusal(bad)
    assert not list(logdir.iterdir()) and registry().in_use() == 1


@pytest.mark.slow
def test_the_live_page_lists_the_sweeps_in_its_sidebar_and_one_opens_its_map(logdir):
    _hand_made(logdir / "s", {(0.001, 0.001, 0): 1.0})
    at = _open()
    button = next(b for b in at.sidebar.button if b.key == "sweep-open-s")
    button.click().run()
    assert at.query_params["sweep"] == "s" and _caption(at).startswith("1 of 8 runs finished")


# --- slow: a real sweep ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real(tmp_path_factory) -> Path:
    """A 2 x 2 grid x 2 seeds swept by the command on two worker processes (lr_d 10 diverges)."""
    root = tmp_path_factory.mktemp("real")
    result = subprocess.run([sys.executable, "-m", "gancore", "sweep", *TINY, "--loss", "lsgan", "--optimizer",
                             "sgd", "--grid", "lr_d=0.001,10", "--grid", "lr_g=0.001,0.01", "--seeds", "0", "1",
                             "--workers", "2", "--outcome", "w1_exact", "--out", str(root / "s")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return root


@pytest.mark.slow
def test_a_real_sweep_is_drawn_with_its_cells_values_and_diagnoses(real, monkeypatch):
    monkeypatch.setenv("GANCORE_LOGDIR", str(real))
    with open(real / "s" / "sweep.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    at = _open(sweep="s")
    assert _caption(at) == "8 of 8 runs finished (4 failed or diverged)"
    w1 = {(r["lr_d"], r["lr_g"]): sorted(float(x["w1_exact"]) for x in rows
                                         if (x["lr_d"], x["lr_g"]) == (r["lr_d"], r["lr_g"])) for r in rows}
    # a few dozen steps: no run gets 10% of its samples sharp, so no diagnosis reads "not at the data yet"
    assert all(float(r["hq_fraction"]) < 0.1 for r in rows if r["status"] == "completed")
    cells_ = _cells(_map(at))
    for (d, g), (a, b) in w1.items():
        word = "divergence" if d == "10" else "not at the data yet"
        assert cells_[(d, g)] == f"{(a + b) / 2:.2f} ({a:.2f}-{b:.2f})<br>{word}", (d, g)


@pytest.mark.slow
def test_a_real_sweep_copied_half_finished_fills_in_as_its_runs_finish(real, tmp_path, monkeypatch):
    monkeypatch.setenv("GANCORE_LOGDIR", str(tmp_path))
    shutil.copytree(real / "s", tmp_path / "s")
    (tmp_path / "s" / "sweep.csv").unlink()  # as before the first row is written
    held = sorted(p for p in (tmp_path / "s").iterdir() if p.is_dir())[3:]
    for run in held:  # five runs not finished yet: their directories still being written
        (run / "summary.json").rename(run / "summary.later")
    at = _open(sweep="s")
    assert _caption(at).startswith("3 of 8 runs finished") and "5 running" in _caption(at)
    for run in held:
        (run / "summary.later").rename(run / "summary.json")
    at.run()
    assert _caption(at) == "8 of 8 runs finished (4 failed or diverged)"


@pytest.mark.slow
def test_a_sweep_launched_from_the_page_trains_into_the_log_directory_holding_its_slots(logdir, monkeypatch):
    monkeypatch.setenv("GANCORE_MAX_RUNS", "3")
    at = _launch(_open(), workers=2)
    name = at.query_params["sweep"]  # the page now shows the sweep's map
    assert (logdir / name / "sweep.json").is_file() and registry().in_use() == 3
    deadline = time.monotonic() + 240
    while registry().in_use() > 1:  # the slots come back when the sweep's process ends
        assert time.monotonic() < deadline, (logdir / name / "sweep.log").read_text()
        time.sleep(0.5)
    state = read_sweep(logdir / name)
    assert [(r["lr_g"], r["status"], r["steps"]) for r in state.rows] == [("0.001", "completed", "20"),
                                                                           ("0.002", "completed", "20")]
    assert len({r["worker"] for r in state.rows}) == 2
    view = _open(sweep=name)
    assert _caption(view) == "2 of 2 runs finished (0 failed or diverged)"
