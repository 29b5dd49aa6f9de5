"""The background run: commands between steps, live changes as events, divergence, clean stops."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from gancore.config import Config, ConfigError
from gancore.run import Run
from gancore.train import Trainer


@pytest.fixture
def run(small: Config):
    r = Run(small)
    yield r
    r.stop()


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def test_start_pause_resume_and_stop(run: Run) -> None:
    assert run.status == "ready"
    run.start()
    wait_for(lambda: run.snapshot().step >= 20)
    run.pause()
    run.wait()
    paused_at = run.snapshot().step
    assert run.status == "paused"
    time.sleep(0.2)
    assert run.snapshot().step == paused_at  # nothing trains while paused
    run.resume()
    wait_for(lambda: run.snapshot().step > paused_at + 10)
    started = time.monotonic()
    run.stop()
    assert time.monotonic() - started < 2 and not run.alive and run.status == "stopped"


def test_single_steps_of_each_granularity(run: Run) -> None:
    run.step("iteration")
    run.step("d", 25)
    run.step("g", 2)
    run.wait()
    snap = run.snapshot()
    assert snap.step == 28 and run.status == "paused"
    assert snap.columns["d_updates"][-1] == 26 and snap.columns["g_updates"][-1] == 3
    assert list(snap.columns["d_updates"][:3]) == [1, 2, 3]  # per step, not per flush
    assert list(snap.columns["step"]) == list(range(1, 29))  # one logged row per step


def test_bad_step_requests_are_refused(run: Run) -> None:
    with pytest.raises(ValueError, match="step kind"):
        run.step("both")
    with pytest.raises(ValueError, match="positive"):
        run.step("d", 0)


def test_live_changes_apply_while_training_and_become_events(run: Run) -> None:
    run.start()
    wait_for(lambda: run.snapshot().step >= 10)
    run.set(lr_d=2e-4, loss="hinge", n_critic=2)
    wait_for(lambda: len(run.snapshot().events) == 3)
    at = run.snapshot().events[0].step
    wait_for(lambda: run.snapshot().step > at + 20)
    snap = run.snapshot()
    assert run.status == "running" and run.config.loss == "hinge"
    assert [(e.what, e.old, e.new) for e in snap.events] == [("loss", "nonsaturating", "hinge"),
                                                            ("n_critic", 1, 2), ("lr_d", 1e-3, 2e-4)]
    steps, lr = snap.columns["step"], snap.columns["lr_d"]
    assert np.allclose(lr[steps <= at], 1e-3) and np.allclose(lr[steps > at], 2e-4)
    assert np.isnan(snap.columns["d_real"][-1])  # hinge is not a probability objective


def test_invalid_or_non_live_changes_are_refused_and_training_continues(run: Run) -> None:
    run.start()
    with pytest.raises(ConfigError) as info:
        run.set(lr_g=-3)
    assert info.value.field == "lr_g"
    with pytest.raises(ConfigError, match="new run"):
        run.set(width=64)
    at = run.snapshot().step
    wait_for(lambda: run.snapshot().step > at + 10)
    assert run.status == "running" and run.snapshot().events == []


def test_finishes_at_the_step_budget(small: Config) -> None:
    r = Run(small.replace(steps=30))
    r.start()
    r.wait(10)
    assert r.status == "finished" and r.snapshot().step == 30
    r.start()  # nothing left to do: says why
    r.wait()
    assert "raise 'steps'" in r.reason
    r.set(steps=40)
    r.start()
    r.wait(10)
    assert r.snapshot().step == 40
    r.stop()
    assert r.status == "finished"


def test_divergence_pauses_keeps_history_and_resumes_after_lowering_lr(small: Config) -> None:
    r = Run(small.replace(loss="lsgan", optimizer_d="sgd", optimizer_g="sgd", lr_d=5.0, lr_g=5.0))
    r.start()
    r.wait(10)
    snap = r.snapshot()
    assert r.status == "diverged"
    assert "non-finite at step" in r.reason and "Lower the learning rate" in r.reason
    assert len(snap.columns["step"]) == snap.step  # the history up to the divergence is kept
    assert snap.events[-1].what == "diverged"
    r.set(lr_d=1e-3, lr_g=1e-3)
    r.start()
    wait_for(lambda: r.snapshot().step > snap.step + 30)
    assert r.status == "running"
    r.stop()


def test_reset_starts_over_and_versions_keep_increasing(run: Run, small: Config) -> None:
    run.step("iteration", 5)
    run.wait()
    before = run.snapshot()
    run.reset(small.replace(seed=1))
    after = run.snapshot()  # no wait: reset() returns once the new run's store is in place
    assert after.step == 0 and len(after.columns["step"]) == 0 and after.version > before.version
    assert after.status == "ready"
    assert run.config.seed == 1


def test_snapshot_is_none_when_unchanged_and_copies_otherwise(run: Run) -> None:
    run.step("iteration", 3)
    run.wait()
    snap = run.snapshot()
    assert run.snapshot(since=snap.version) is None
    snap.columns["loss_d"][:] = 123.0
    assert not np.any(run.snapshot().columns["loss_d"] == 123.0)  # a copy, not a view


def test_call_runs_between_steps_on_the_training_thread(run: Run) -> None:
    run.start()
    names = run.call(lambda trainer: threading.current_thread().name).result(5)
    assert names == "gancore-run"
    with pytest.raises(ZeroDivisionError):
        run.call(lambda trainer: 1 / 0).result(5)
    assert run.status == "running"


def test_no_thread_outlives_its_run(small: Config) -> None:
    before = threading.active_count()
    runs = [Run(small) for _ in range(3)]
    for r in runs:
        r.start()
    for r in runs:
        r.stop()
    assert threading.active_count() == before
    with pytest.raises(RuntimeError, match="stopped"):
        runs[0].start()


def test_a_crash_in_the_thread_becomes_an_error_status(run: Run) -> None:
    def broken(r, trainer):
        raise MemoryError("out of memory (simulated by a failing hook)")
    run._hooks.append(broken)
    run.step("iteration")
    wait_for(lambda: run.status == "error")
    assert "MemoryError" in run.reason and not run.alive


def test_a_call_to_a_dead_run_fails_instead_of_hanging(run: Run) -> None:
    run._hooks.append(lambda r, trainer: 1 / 0)
    run.step("iteration")
    wait_for(lambda: not run.alive)
    with pytest.raises(RuntimeError):
        run.call(lambda trainer: trainer.step).result(5)


def test_config_shows_a_queued_change_at_once(run: Run) -> None:
    run.start()
    new = run.set(lr_g=3e-4)
    assert run.config.lr_g == 3e-4 and new == run.config
    run.reset(run.config.replace(seed=5))
    assert run.config.seed == 5


def test_hooks_run_before_the_first_step_and_after_a_reset(small: Config) -> None:
    seen: list[int] = []
    r = Run(small, hooks=[lambda run, trainer: seen.append(trainer.step)])
    wait_for(lambda: seen == [0])
    r.step("iteration", 2)
    r.wait()
    r.reset()
    wait_for(lambda: seen[-1] == 0 and len(seen) >= 3)
    r.stop()


def test_bad_data_raises_in_the_caller_and_a_failed_reset_keeps_the_run(small: Config, tmp_path) -> None:
    from gancore.data import DataError
    missing = Config(dataset="mnist", data_dir=str(tmp_path / "nowhere"), device="cpu")
    with pytest.raises(DataError, match="not found"):
        Run(missing)
    r = Run(small)
    r.start()
    with pytest.raises(DataError):
        r.reset(missing)
    at = r.snapshot().step
    wait_for(lambda: r.snapshot().step > at + 10)  # the old training goes on
    assert r.config == small and r.status == "running"
    r.stop()


def test_all_torch_work_of_a_run_happens_on_its_thread(small: Config) -> None:
    """Building the trainer included: a second thread with its own OpenMP pool slows both (bench/README)."""
    names: list[str] = []

    class Traced(Trainer):
        def __init__(self, config: Config) -> None:
            names.append(threading.current_thread().name)
            super().__init__(config)
    r = Run(small, factory=Traced)
    r.reset()
    r.stop()
    assert names == ["gancore-run", "gancore-run"]


# --- added for the mutation score of gancore/run.py (issue 15) -----------------------------------------

def test_a_new_run_publishes_its_settings_and_description(small: Config) -> None:
    before, others = time.time(), set(threading.enumerate())
    r = Run(small)
    try:
        snap = r.snapshot()
        assert (snap.status, snap.reason, snap.step) == ("ready", "", 0) and (r.status, r.reason) == ("ready", "")
        assert snap.config == small.to_dict() and snap.info == Trainer(small).info
        assert before <= snap.created <= time.time()
        (thread,) = [t for t in threading.enumerate() if t.name == "gancore-run" and t not in others]
        assert thread.daemon and r.settling is False  # a forgotten run never keeps the interpreter alive
    finally:
        r.stop()


def test_sinks_get_every_row_once_and_hooks_see_the_settled_last_step(small: Config) -> None:
    """eval_every=5: hooks run on steps 5 and 10 exactly; the plan's last step is published `settling`;
    the sinks receive steps 1..12 once each; the time column counts seconds since the run was made."""
    rows: list[np.ndarray] = []
    seen: list[tuple[int, bool]] = []
    before = time.time()
    r = Run(small.replace(eval_every=5), sinks=[rows.append],
            hooks=[lambda run, trainer: seen.append((trainer.step, run.settling))])
    try:
        r.step("iteration", 12)
        assert r.wait(10)
        index = r.store.index
        table = np.concatenate(rows)
        assert table[:, index["step"]].tolist() == list(range(1, 13))
        assert seen[0] == (0, False) and {(5, False), (10, False)} <= set(seen) and seen[-1] == (12, True)
        times = r.snapshot().columns["time"]
        assert (np.diff(times) >= 0).all() and 0 <= times[0] and times[-1] <= time.time() - before
        assert r.settling is False
    finally:
        r.stop()


def test_wait_returns_false_at_its_deadline_and_true_once_idle_or_stopped(small: Config) -> None:
    r = Run(small)
    r.start()
    wait_for(lambda: r.status == "running")
    assert r.wait(0.05) is False and r.status == "running"
    r.pause()
    assert r.wait(10) is True and r.status == "paused"
    r.stop()
    r.stop()  # idempotent
    assert r.wait() is True and r.status == "stopped"


def test_stop_gives_up_at_its_timeout_while_a_call_blocks_the_thread(small: Config) -> None:
    release = threading.Event()
    r = Run(small)
    r.call(lambda trainer: release.wait(10))
    with pytest.raises(RuntimeError, match=r"^the training thread did not stop within 0.05 s$"):
        r.stop(0.05)
    assert r.alive
    release.set()
    r.stop()
    assert not r.alive and r.status == "stopped"


def test_refusals_say_exactly_why(run: Run) -> None:
    with pytest.raises(ValueError, match=r"^step kind must be one of iteration, d, g, got 'both'$"):
        run.step("both")
    with pytest.raises(ValueError, match=r"^number of steps must be a positive integer, got 1.5$"):
        run.step("d", 1.5)
    with pytest.raises(ConfigError) as info:
        run.set(width=64)
    assert (info.value.field, info.value.message) == ("width", "cannot change while training: it needs a new run (Reset)")
    run.stop()
    with pytest.raises(RuntimeError, match=r"^this run was stopped; start a new one$"):
        run.start()


def test_commands_still_queued_when_the_thread_dies_are_answered(small: Config) -> None:
    """A hook that fails after a reset ends the thread; a call queued behind the reset hears why."""
    broken = threading.Event()

    def hook(run: Run, trainer: Trainer) -> None:
        if broken.is_set():
            raise RuntimeError("hook broke")
    r = Run(small, hooks=[hook])
    r.call(lambda trainer: None).result(10)  # the hooks before the first step have run
    release = threading.Event()
    r.call(lambda trainer: release.wait(10))
    broken.set()
    resetter = threading.Thread(target=r.reset)
    resetter.start()
    wait_for(lambda: r._sent == 3)  # the reset is queued behind the blocking call
    late = r.call(lambda trainer: trainer.step)
    release.set()
    with pytest.raises(RuntimeError, match=r"^the run ended \(error\) before this command$"):
        late.result(10)
    resetter.join(10)
    assert r.status == "error" and r.reason == "RuntimeError: hook broke"
    assert "hook broke" in r.snapshot().traceback and r.snapshot().status == "error"


def test_a_diverged_run_says_what_it_restored_and_keeps_saying_so_when_stopped(small: Config) -> None:
    import re
    r = Run(small.replace(loss="lsgan", optimizer_d="sgd", optimizer_g="sgd", lr_d=5.0, lr_g=5.0))
    r.start()
    assert r.wait(10)
    snap = r.snapshot()
    event = snap.events[-1]
    assert (event.what, event.new) == ("diverged", "nan/inf") and event.old in snap.columns
    good = re.fullmatch(r"restored step (\d+)", event.note).group(1)
    assert snap.reason == r.reason == (f"{event.old} became non-finite at step {event.step}; weights restored to "
                                       f"step {good}. Lower the learning rate, then resume.")
    assert snap.status == "diverged" and snap.step >= event.step  # one flush may hold steps after the bad one
    r.stop()
    assert r.status == "diverged" and r.snapshot().status == "diverged"


def test_a_live_change_publishes_the_new_settings_and_a_bad_pair_only_a_message(run: Run) -> None:
    run.set(loss="wgan", lr_d=2e-4)
    assert run.wait(10)
    snap = run.snapshot()
    assert (snap.config["loss"], snap.config["lr_d"]) == ("wgan", 2e-4)
    assert (snap.info.objective, snap.info.constraint) == ("wgan", "weight clipping")
    run._send("set", {"lr_d": -1.0})  # what two quick edits that are invalid together reach the thread as
    assert run.wait(10)
    snap = run.snapshot()
    assert snap.message.startswith("lr_d: ") and snap.config["lr_d"] == 2e-4 and len(snap.events) == 2
    assert run.status == "ready"


def test_reset_ends_a_step_plan_and_a_step_request_does_not_end_a_free_run(run: Run) -> None:
    run.step("iteration", 100_000)
    wait_for(lambda: run.snapshot().step > 0)
    before = run.snapshot()
    run.reset()
    assert run.wait(10) and run.status == "ready"
    assert run.call(lambda trainer: trainer.step).result(10) == 0
    after = run.snapshot(since=before.version)
    assert after is not None and after.version > before.version and after.step == 0
    run.start()
    wait_for(lambda: run.snapshot().step > 5)
    run.step("d", 3)  # while running: queued, but the run does not turn into a three-step plan
    at = run.snapshot().step
    wait_for(lambda: run.snapshot().step > at + 20)
    assert run.status == "running"
