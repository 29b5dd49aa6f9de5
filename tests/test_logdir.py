"""The run directory as a log directory: what a reader gets back is what the run published, damaged files
are read as far as they go (and said), names from outside never leave the log directory, and a follower
reads only what was appended."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from gancore.logdir import EVALUATIONS, FRAMES, METRICS, LogdirError, list_runs, resolve
from gancore.logreader import RunReader
from gancore.logwriter import LogWriter, _line, frame_record
from gancore.outputs import RunDirectory
from gancore.records import Evaluation, ImageFrame
from gancore.run import Run

HEADER = "step,time,loss_d\n"


def _info():
    from gancore.info import RunInfo
    return RunInfo(dataset="digits", data_kind="image", data_shape=(1, 28, 28), n_modes=3, unit="class",
                   class_names=("0", "1", "2"), objective="nonsaturating", probabilities=True, constraint="",
                   conditional=False)


def _evaluation(step: int) -> Evaluation:
    return Evaluation(step=step, values={"w1_exact": step / 10, "fd_features": step * 10.0, "modes_total": 3.0,
                                        "swd": math.nan},
                      histogram=np.array([step, 1, 2]), coverage={"threshold": 0.5})


def _frame(step: int) -> ImageFrame:
    images = np.full((2, 28, 28), step % 256, np.uint8)
    return ImageFrame(step=step, labels=None, images=images, rows=None)


def synthetic(path: Path, steps: int = 5, budget: int = 10**9, evaluation=_evaluation) -> LogWriter:
    """A run directory written without training: rows 1..steps, an evaluation and a frame per step."""
    path.mkdir()
    (path / "config.json").write_text('{"clip": null}\n')
    (path / METRICS).write_text(HEADER + "".join(f"{s},{s / 10},{1 / s:.6g}\n" for s in range(1, steps + 1)))
    log = LogWriter(path, budget)
    log.open(_info(), 1000.0)
    for s in range(1, steps + 1):
        log.evaluation(evaluation(s))
        log.frame(_frame(s))
    return log


@pytest.mark.slow  # building a run and its evaluation protocol takes seconds on these cores
def test_round_trip_of_a_real_run(tmp_path, small):
    """Train a few steps as the command line does; the reader's snapshot holds the same rows, the same
    evaluations and the same final picture as the run's own, and summary.json's final numbers."""
    config = small.replace(eval_every=20, steps=60)
    directory = RunDirectory(tmp_path / "run", config)
    run = Run(config, hooks=[directory.evaluator], sinks=[directory.write_rows])
    try:
        directory.open(run)
        run.start()
        assert run.wait(60)
        published = run.snapshot()
        summary, problems = directory.write("completed")
    finally:
        run.stop()
    assert problems == []
    reader = RunReader(tmp_path / "run")
    snap = reader.snapshot()
    assert reader.problems == {}
    assert snap.status == "finished" and snap.step == 60 == published.step
    assert snap.info == published.info
    np.testing.assert_array_equal(snap.columns["step"], np.arange(1, 61))
    np.testing.assert_allclose(snap.columns["loss_d"], published.columns["loss_d"], rtol=1e-5)
    steps = snap.evaluations["step"]
    np.testing.assert_array_equal(steps, [0, 20, 40, 60])  # eval_every 20, and the final one at 60
    np.testing.assert_array_equal(steps, published.evaluations["step"])
    for name in ("w1_exact", "modes_covered", "hq_fraction"):
        np.testing.assert_allclose(snap.evaluations[name], published.evaluations[name], equal_nan=True)
        assert snap.evaluation.values[name] == pytest.approx(summary[name])
    np.testing.assert_array_equal(snap.evaluations.histogram, published.evaluations.histogram)
    assert snap.evaluation.histogram.tolist() == summary["class_histogram"]
    assert snap.frame.step == 60 == published.frame.step
    np.testing.assert_array_equal(snap.frame.fake, published.frame.fake)
    np.testing.assert_array_equal(snap.frame.scores, published.frame.scores)


def test_scrubbing_shows_the_picture_and_numbers_of_step_k(tmp_path):
    synthetic(tmp_path / "run").close()
    reader = RunReader(tmp_path / "run")
    assert reader.steps() == [1, 2, 3, 4, 5]
    snap = reader.snapshot()
    assert snap.info == _info() and snap.created == 1000.0 and snap.status == "running"
    np.testing.assert_array_equal(snap.evaluations["w1_exact"], np.float32([0.1, 0.2, 0.3, 0.4, 0.5]))
    np.testing.assert_array_equal(snap.evaluations.histogram[:, 0], [1, 2, 3, 4, 5])
    assert snap.evaluation.coverage == {"threshold": 0.5}
    np.testing.assert_array_equal(snap.columns["loss_d"], np.float32([1, 0.5, 0.333333, 0.25, 0.2]))  # as the csv holds it
    at = reader.at(3)
    assert at.frame.step == 3 and int(at.frame.images[0, 0, 0]) == 3
    assert at.evaluation.values["w1_exact"] == pytest.approx(0.3)
    assert math.isnan(at.evaluation.values["swd"])  # NaN goes through JSON as NaN
    assert at.step == 3 and len(at.columns["step"]) == 5  # the curves keep their whole history
    assert reader.at(0).frame is None and reader.at(0).evaluation is None


def test_the_diagnoses_at_a_scrubbed_step_are_those_of_the_history_up_to_it(tmp_path):
    """A run that collapsed onto 1 of 3 classes for its first three evaluations, then recovered: scrubbed
    back, the page's banners say collapse; at the end they do not."""
    def evaluation(step: int) -> Evaluation:
        collapsed = step <= 3
        return Evaluation(step=step, values={"modes_covered": 1.0 if collapsed else 3.0, "modes_total": 3.0,
                                             "hq_fraction": 0.9, "kl_uniform": 1.0 if collapsed else 0.0},
                          histogram=np.array([9, 0, 0] if collapsed else [3, 3, 3]))
    synthetic(tmp_path / "run", steps=6, evaluation=evaluation).close()
    reader = RunReader(tmp_path / "run")
    kinds = lambda snap: {d.kind for d in snap.diagnoses}
    assert "mode_collapse" in kinds(reader.at(3))
    assert "mode_collapse" not in kinds(reader.at(4))  # the last evaluation then had all three classes
    assert "mode_collapse" not in kinds(reader.snapshot()) and "mode_collapse" not in kinds(reader.at(6))
    assert "mode_collapse" not in kinds(reader.at(2))  # two evaluations are not yet a sustained collapse


def test_truncated_last_lines_and_corrupt_lines_are_skipped_and_named(tmp_path):
    path = tmp_path / "run"
    synthetic(path).close()
    (path / "summary.json").write_text('{"status": "stopped"}')
    with open(path / METRICS, "a") as f:
        f.write("6,0.6,0.1\nnot,a,row,at all\n7,0.")  # a malformed line, then a line cut off mid-write
    with open(path / EVALUATIONS, "a") as f:
        f.write('{"step": 6, "values": {"w1')
    with open(path / FRAMES, "a") as f:
        f.write("garbage\n" + json.dumps({"step": 7}))
    reader = RunReader(path)
    snap = reader.snapshot()
    np.testing.assert_array_equal(snap.columns["step"], [1, 2, 3, 4, 5, 6])
    assert snap.step == 6 and snap.evaluation.step == 5 and snap.frame.step == 5
    assert set(reader.problems) == {METRICS, EVALUATIONS, FRAMES}
    said = {name: " ".join(texts) for name, texts in reader.problems.items()}
    assert "cut off" in said[EVALUATIONS] and "unreadable" in said[FRAMES] and "cut off" in said[FRAMES]
    assert "1 malformed" in said[METRICS] and "cut off" in said[METRICS]
    assert all(name in text for name, texts in reader.problems.items() for text in texts)


def test_a_missing_or_foreign_info_file_is_said_and_the_rest_reads(tmp_path):
    path = tmp_path / "run"
    synthetic(path).close()
    (path / "info.json").write_text('{"format": 99, "info": {}}')
    reader = RunReader(path)
    assert "info.json" in reader.messages()[0] and "format 99" in reader.messages()[0]
    assert reader.snapshot().info is None and reader.snapshot().step == 5


def test_following_reads_only_what_was_appended(tmp_path):
    """Rows already read are not read again: overwriting them in place (same size, same file) changes
    nothing, while appended rows, evaluations and frames arrive."""
    path = tmp_path / "run"
    log = synthetic(path, steps=3)
    reader = RunReader(path)
    first = reader.snapshot()
    assert first.step == 3 and not reader.refresh()  # nothing new: no new version
    data = (path / METRICS).read_bytes()
    with open(path / METRICS, "r+b") as f:  # the same bytes count, other numbers: a re-read would show them
        f.write(data.replace(b"1,0.1,1\n", b"9,0.9,9\n"))
    with open(path / METRICS, "a") as f:
        f.write("4,0.4,0.25\n")
    log.evaluation(_evaluation(4))
    log.frame(_frame(4))
    assert reader.refresh()
    snap = reader.snapshot()
    np.testing.assert_array_equal(snap.columns["step"], [1, 2, 3, 4])
    assert snap.version > first.version and snap.evaluation.step == 4 and snap.frame.step == 4
    log.close()


def test_frames_stay_within_their_budget_and_a_follower_starts_over(tmp_path):
    one = len(_line(frame_record(_frame(0))))
    path = tmp_path / "run"
    log = synthetic(path, steps=1, budget=10 * one)
    reader = RunReader(path)
    reader.snapshot()
    for s in range(2, 200):
        log.frame(_frame(s))
    log.frame(_frame(200), force=True)
    log.close()
    assert (path / FRAMES).stat().st_size <= 10 * one
    assert log.stride >= 8  # 200 frames into room for 10: one in 8 or more kept from then on
    reader.refresh()
    steps = [s for s, _, _ in reader._frames]
    assert steps == sorted(steps) and steps[-1] == 200 and len(steps) <= 10 and steps[0] < 50
    assert reader.snapshot().frame.step == 200


def test_resolve_refuses_everything_outside_the_log_directory(tmp_path):
    logdir = tmp_path / "logs"
    synthetic(logdir.mkdir() or logdir / "a").close()
    synthetic(tmp_path / "secret").close()
    (logdir / "out").symlink_to(tmp_path / "secret")
    assert resolve(logdir, "a") == (logdir / "a").resolve()
    for name in ("", "..", "../secret", "a/../../secret", str(tmp_path / "secret"), "out", "a/../out", ".",
                 "missing"):
        with pytest.raises(LogdirError):
            resolve(logdir, name)


def test_listing_is_newest_first_with_status_and_step(tmp_path):
    synthetic(tmp_path / "old", steps=2).close()
    synthetic(tmp_path / "new", steps=4).close()
    (tmp_path / "old" / "summary.json").write_text('{"status": "completed"}')
    os.utime(tmp_path / "old" / METRICS, (1e9, 1e9))
    (tmp_path / "not-a-run").mkdir()
    runs = list_runs(tmp_path)
    assert [(r.name, r.status, r.step) for r in runs] == [("new", "running", 4), ("old", "finished", 2)]


def test_a_long_file_opens_with_its_newest_rows_whole(tmp_path):
    """Opening 20,000 rows: the newest THIN_KEEP are read whole, the older ones sampled (one in 3 here)."""
    from gancore.logreader import THIN_KEEP
    path = tmp_path / "run"
    path.mkdir()
    (path / METRICS).write_text(HEADER + "".join(f"{s},{s / 10},{s % 7}\n" for s in range(1, 20_001)))
    snap = RunReader(path).snapshot()
    assert snap.step == 20_000
    np.testing.assert_array_equal(snap.columns["step"][-THIN_KEEP:], np.arange(20_001 - THIN_KEEP, 20_001))
    np.testing.assert_array_equal(snap.columns["loss_d"][-7:], [(s % 7) for s in range(19_994, 20_001)])
    assert snap.columns["step"][0] <= 4  # the bounded history still starts at the beginning (1 and 4 averaged)
