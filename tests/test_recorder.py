"""Recording a live run from the middle (gancore/recorder.py): the directory reads back as the run ends, with
the history from before the recording began; a reset starts a new directory; a paused run says so; a log
directory that cannot be written is refused with its reason while the run trains on."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from gancore.evaluate.evaluator import Evaluator
from gancore.logdir import FRAMES, list_runs
from gancore.logreader import RunReader
from gancore.outputs import RunDirectory
from gancore.recorder import Recorder, unique_directory
from gancore.run import Run


def _train(run: Run, n: int) -> None:
    run.step("iteration", n)
    assert run.wait(60)


@pytest.fixture
def run(small):
    run = Run(small.replace(eval_every=20), hooks=[Evaluator(frame_seconds=0.0)])  # a picture every flush
    yield run
    run.stop()


@pytest.mark.slow  # real training and evaluations: a few seconds on these cores
def test_a_run_recorded_midway_reads_back_equal_to_the_run(run, tmp_path):
    """Recorded from step 50 of 120, the directory holds all 120 steps, every evaluation (those from before
    the recording too), the live change as an event and the last picture, as the run's own snapshot does."""
    _train(run, 50)
    recorder = Recorder(run, tmp_path / "logs", "mode-hopping")
    path = recorder.start()
    assert path.parent == tmp_path / "logs" and path.name.startswith("mode-hopping-")
    run.set(lr_g=5e-4)
    _train(run, 70)
    recorder.stop()
    published = run.snapshot()
    reader = RunReader(path)
    snap = reader.snapshot()
    assert reader.messages() == [] and recorder.problems == []
    assert snap.step == published.step == 120
    np.testing.assert_array_equal(snap.columns["step"], np.arange(1, 121))
    np.testing.assert_array_equal(snap.columns["step"], published.columns["step"])
    np.testing.assert_allclose(snap.columns["loss_d"], published.columns["loss_d"], rtol=1e-5)
    np.testing.assert_array_equal(snap.evaluations["step"], [0, 20, 40, 60, 80, 100, 120])
    for name, column in published.evaluations.columns.items():
        np.testing.assert_array_equal(snap.evaluations[name], column, err_msg=name)
    np.testing.assert_array_equal(snap.evaluations.histogram, published.evaluations.histogram)
    assert snap.evaluation.coverage == published.evaluation.coverage  # the latest one whole
    assert [(e.step, e.what, e.new) for e in snap.events] == [(e.step, e.what, e.new) for e in published.events]
    assert [e.what for e in snap.events] == ["lr_g"]
    assert snap.frame.step == published.frame.step == 120
    assert reader.at(50).frame.step <= 50  # a picture from before the recording began (its latest one)
    summary = json.loads((path / "summary.json").read_text())
    assert summary["status"] == "stopped" and summary["steps"] == 120
    assert "recorded up to step 120" in summary["reason"]
    assert snap.info == published.info


@pytest.mark.slow
def test_a_reset_closes_the_directory_and_records_the_new_run_into_another(run, tmp_path):
    recorder = Recorder(run, tmp_path, "ring")
    first = recorder.start()
    _train(run, 30)
    assert json.loads((first / "summary.json").read_text())["status"] == "paused"  # a follower: not gone
    run.start()
    time.sleep(0.5)
    assert not (first / "summary.json").exists()  # training again
    run.pause()
    assert run.wait(30)
    steps_before = run.snapshot().step
    run.reset()
    _train(run, 10)
    assert len(recorder.paths) == 2 and recorder.paths[0] == first
    second = recorder.path
    assert second != first and second.name.startswith("ring-")
    old = json.loads((first / "summary.json").read_text())
    assert old["status"] == "stopped" and f"reset after step {steps_before}" in old["reason"]
    assert RunReader(first).snapshot().step == steps_before
    np.testing.assert_array_equal(RunReader(second).snapshot().columns["step"], np.arange(1, 11))
    run.stop()  # the thread's end closes the recording: the directory says so
    assert json.loads((second / "summary.json").read_text())["status"] == "stopped"
    assert {r.name for r in list_runs(tmp_path)} == {first.name, second.name}
    assert (second / FRAMES).stat().st_size > 0


@pytest.mark.slow
def test_a_log_directory_that_cannot_be_written_is_refused_and_the_run_trains_on(run, tmp_path):
    (tmp_path / "file").write_text("not a folder")
    recorder = Recorder(run, tmp_path / "file", "ring")
    with pytest.raises(OSError, match="cannot record into"):
        recorder.start()
    _train(run, 5)
    assert run.status == "paused" and run.snapshot().step == 5


@pytest.mark.slow
def test_a_disk_that_fills_up_stops_the_recording_not_the_run(run, tmp_path, monkeypatch):
    recorder = Recorder(run, tmp_path, "ring")
    path = recorder.start()
    monkeypatch.setattr(RunDirectory, "write_rows", lambda self, rows: (_ for _ in ()).throw(
        OSError(28, "No space left on device")))
    _train(run, 20)
    assert run.status == "paused" and run.snapshot().step == 20  # the run trained on
    assert recorder.path is None and recorder.problems == ["recording stopped: OSError: [Errno 28] No space left "
                                                           "on device"]
    _train(run, 5)  # and goes on training, unrecorded
    assert run.snapshot().step == 25 and RunReader(path).snapshot().step == 0


def test_directory_names_are_unique_and_safe(tmp_path):
    now = time.mktime((2026, 12, 2, 9, 30, 5, 0, 0, -1))
    names = [unique_directory(tmp_path, "../my preset", now).name for _ in range(3)]
    assert names == ["my-preset-20261202-093005", "my-preset-20261202-093005-2", "my-preset-20261202-093005-3"]
    assert all((tmp_path / n).is_dir() for n in names)
