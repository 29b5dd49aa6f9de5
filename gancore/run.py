"""A training run that lives in one background thread and takes commands while it trains.

Callers (the dashboard, the command line) never touch the trainer: they post commands to a queue that the
thread drains between steps, and they read the store's snapshots. That keeps every torch call on one
thread and makes "change the loss while it trains" a message, not a race.
"""

from __future__ import annotations

import queue
import threading
import time
import traceback
from collections import deque
from concurrent.futures import Future
from typing import Any, Callable, Protocol

import numpy as np

from .config import FIELDS, LIVE_FIELDS, Config, ConfigError
from .metrics import Event, MetricsStore
from .info import STEP_KINDS
from .train import Trainer


class Attachment(Protocol):
    """What `Run.attach` takes: called on the training thread only."""

    def begin(self, run: "Run", trainer: Trainer) -> None: ...
    def rows(self, table: np.ndarray) -> None: ...
    def __call__(self, run: "Run", trainer: Trainer) -> None: ...
    def end(self, run: "Run") -> None: ...


FLUSH_SECONDS = 0.1  # how stale a chart may be: rows are fetched from the device at most this often
ROLLBACK_SECONDS = 1.0  # how often the last known-good weights are copied (what a divergence restores)


class Run:
    """Owns one Trainer and one thread. Commands: start/resume, pause, step, set, reset, stop, call.

    Every torch call of a run happens on its thread, building the trainer included: torch's OpenMP keeps a
    worker pool per thread that runs parallel work, and with a second pool alive (say the caller's, from
    loading the data) the two thrash on 2 cores: 2.5x slower steps (bench/README.md, threads)."""

    def __init__(self, config: Config, *, hooks: list[Callable[["Run", Trainer], None]] | None = None,
                 sinks: list[Callable[[np.ndarray], None]] | None = None,
                 factory: Callable[[Config], Trainer] = Trainer) -> None:
        """`hooks(run, trainer)` run on the training thread after each flush (evaluation, pictures);
        `sinks(rows)` receive every flushed table at full resolution (a CSV writer). Bad settings or data
        raise here, in the caller's thread, once the run's thread failed to build its trainer."""
        self._factory = factory
        self._hooks = list(hooks or [])
        self._sinks = list(sinks or [])
        self._attached: list[Attachment] = []
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._sent = 0  # commands posted, and commands the thread has applied: `wait` needs both equal
        self._applied = 0
        self._send_lock = threading.Lock()  # keeps `config` in the order the commands were queued
        self._count_lock = threading.Lock()
        self._mode = "idle"  # what the thread does between commands: idle, run, or a step plan
        self._plan: deque[list] = deque()  # queued [kind, steps left] requests: three clicks, three steps
        self._status = "ready"
        self._settling = False
        self._reason = ""
        self._stopped = threading.Event()
        built: Future = Future()
        self._thread = threading.Thread(target=self._loop, args=(config, built), name="gancore-run", daemon=True)
        self._thread.start()
        built.result()  # the trainer, or the exception that stopped its construction
        self._config = self._trainer.config  # what callers asked for; the thread catches up between steps

    # --- what callers read -------------------------------------------------------------------------------
    @property
    def config(self) -> Config:
        """The settings as last requested (a queued change shows here at once, and applies between steps)."""
        return self._config

    @property
    def status(self) -> str:
        """ready, running, paused, finished, diverged (paused by a non-finite value), stopped or error."""
        return self._status

    @property
    def reason(self) -> str:
        return self._reason

    def snapshot(self, since: int | None = None):
        return self.store.snapshot(since)

    # --- commands ----------------------------------------------------------------------------------------
    def start(self) -> None:
        """Train until paused, stopped, finished or diverged (also resumes a paused run)."""
        self._send("run")

    resume = start

    def pause(self) -> None:
        self._send("pause")

    def step(self, kind: str = "iteration", n: int = 1) -> None:
        """Run `n` steps of one granularity, then pause: "iteration", "d" (G frozen) or "g"."""
        if kind not in STEP_KINDS:
            raise ValueError(f"step kind must be one of {', '.join(STEP_KINDS)}, got {kind!r}")
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"number of steps must be a positive integer, got {n!r}")
        self._send("step", kind, n)

    def set(self, **changes: Any) -> Config:
        """Change live settings while training; validated now (ConfigError), applied between steps."""
        for name in changes:
            if name in FIELDS and name not in LIVE_FIELDS:
                raise ConfigError(name, "cannot change while training: it needs a new run (Reset)")
        with self._send_lock:
            new = self._config.replace(**changes)
            self._send("set", changes)
            self._config = new
        return new

    def reset(self, config: Config | None = None) -> None:
        """Start over from step 0 with `config` (default: the current settings, live changes included).
        Waits for the new trainer, so bad data raises here, in the caller's thread."""
        with self._send_lock:
            done: Future = Future()
            self._send("reset", config or self._config, done)
            self._config = done.result()

    def call(self, fn: Callable[[Trainer], Any]) -> Future:
        """Run fn(trainer) on the training thread between steps (checkpoints, exports); returns a Future."""
        future: Future = Future()
        self._send("call", fn, future)
        return future

    def attach(self, recorder: Attachment) -> Future:
        """Add `recorder` between two steps, once pending rows are in the store: `recorder.begin(run,
        trainer)` sees every row so far, `recorder.rows(table)` then gets every row flushed after (none lost,
        none twice), `recorder(run, trainer)` runs after each flush like a hook, and `recorder.end(run)`
        when it is detached or the thread ends (gancore.recorder records a live run this way)."""
        def add(trainer: Trainer) -> None:
            recorder.begin(self, trainer)
            self._sinks.append(recorder.rows)
            self._hooks.append(recorder)
            self._attached.append(recorder)
        return self.call(add)

    def detach(self, recorder: Attachment) -> Future:
        """Remove `recorder` between two steps, after a flush, and call its `end`."""
        def remove(trainer: Trainer) -> None:
            if recorder in self._attached:
                self._attached.remove(recorder)
                self._sinks.remove(recorder.rows)
                self._hooks.remove(recorder)
                recorder.end(self)
        return self.call(remove)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop training and join the thread; idempotent."""
        if self._thread.is_alive():
            self._send("stop")
            self._thread.join(timeout)
        if self._thread.is_alive():
            raise RuntimeError(f"the training thread did not stop within {timeout} s")

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run is no longer training (paused, finished, diverged, stopped, error)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._mode != "idle" or self._applied < self._sent:
            if self._stopped.is_set() or (deadline is not None and time.monotonic() > deadline):
                return self._stopped.is_set()
            time.sleep(0.01)
        return True

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _send(self, *command: Any) -> None:
        if self._stopped.is_set():
            raise RuntimeError("this run was stopped; start a new one")
        with self._count_lock:
            self._sent += 1
            self._queue.put(command)

    # --- the thread ----------------------------------------------------------------------------------------
    def _loop(self, config: Config, built: Future) -> None:
        try:
            self._trainer = self._factory(config)
            self.store = self._new_store()
        except BaseException as exc:
            self._stopped.set()
            built.set_exception(exc)
            return
        built.set_result(self._trainer)
        last_flush = last_good_at = time.monotonic()
        self._good = self._trainer.state()
        try:
            self._run_hooks()  # pictures and a first evaluation before Start: the data and G's start
            while True:
                command = self._queue.get() if self._mode == "idle" else self._next_command()
                if command is not None:
                    if command[0] == "stop":
                        self._flush()
                        if self._status not in ("finished", "diverged"):  # those keep saying why
                            self._set_status("stopped")
                        return
                    self._apply(command)
                    self._applied += 1
                    continue
                kind = "iteration" if self._mode == "run" else self._plan[0][0]
                self._trainer.train_step(kind)
                if self._mode == "plan":
                    self._plan[0][1] -= 1
                    if self._plan[0][1] <= 0:
                        self._plan.popleft()
                    if not self._plan:
                        self._go_idle("paused")
                        continue
                steps = self._trainer.config.steps
                if self._mode == "run" and steps and self._trainer.step >= steps:
                    self._go_idle("finished", f"reached {steps} steps")
                    continue
                now = time.monotonic()
                due = self._trainer.step % self._trainer.config.eval_every == 0  # evaluate on the exact step
                if due or now - last_flush > FLUSH_SECONDS:
                    if self._flush():
                        self._run_hooks()
                        if now - last_good_at > ROLLBACK_SECONDS:
                            self._good = self._trainer.state()
                            last_good_at = now
                    last_flush = now
        except Exception as exc:  # a bug or an out-of-memory must not vanish with the thread
            self.store.publish(traceback=traceback.format_exc())
            self._set_status("error", f"{type(exc).__name__}: {exc}")
            self._mode = "idle"
        finally:
            for recorder in self._attached:  # a recording ends with the thread, saying how the run ended
                try:
                    recorder.end(self)
                except Exception:
                    pass
            self._stopped.set()
            while (command := self._next_command()) is not None:  # nobody may wait forever on a reply
                if isinstance(command[-1], Future):
                    command[-1].set_exception(RuntimeError(f"the run ended ({self._status}) before this command"))

    def _next_command(self):
        try:
            return self._queue.get_nowait()
        except queue.Empty:
            return None

    def _apply(self, command: tuple) -> None:
        name = command[0]
        if name == "run":
            steps = self._trainer.config.steps
            if steps and self._trainer.step >= steps:
                self._set_status("finished", f"reached {steps} steps: raise 'steps' to train on")
                return
            self._mode = "run"
            self._plan.clear()
            self._set_status("running")
        elif name == "pause":
            self._plan.clear()
            self._go_idle("paused")
        elif name == "step":
            _, kind, n = command
            self._plan.append([kind, n])
            if self._mode != "run":
                self._mode = "plan"
                self._set_status("running")
        elif name == "set":
            self._flush()
            try:
                new = self._trainer.config.replace(**command[1])
            except ConfigError as exc:  # two quick edits can make a pair that is invalid together
                self.store.publish(message=str(exc))
                return
            for what, old, value, note in self._trainer.apply(new):
                self.store.add_event(Event(self._trainer.step, what, old, value, note))
            self.store.publish(config=new.to_dict(), info=self._trainer.info)
        elif name == "reset":
            _, config, done = command
            try:
                self._trainer = self._factory(config)
            except Exception as exc:  # bad settings or data: the caller hears why, the old run goes on
                done.set_exception(exc)
                return
            self._good = self._trainer.state()
            self._mode = "idle"
            self._plan.clear()
            self.store = self._new_store()
            self._set_status("ready")
            done.set_result(self._trainer.config)  # after the new store: a snapshot right after reset() is step 0
            self._run_hooks()
        elif name == "call":
            _, fn, future = command
            self._flush()
            try:
                future.set_result(fn(self._trainer))
            except Exception as exc:
                future.set_exception(exc)

    def _go_idle(self, status: str, reason: str = "") -> None:
        """Publish everything, then go idle: `wait` returns on idle, so the snapshot must be final first.
        The hooks run `settling`: a paused or finished run's picture is of its last step, however recently
        the previous one was drawn."""
        if self._flush():
            self._settling = True
            try:
                self._run_hooks()
            finally:
                self._settling = False
            self._set_status(status, reason)
        self._mode = "idle"

    @property
    def settling(self) -> bool:
        """True while the run publishes its final state before going idle (hooks read it)."""
        return self._settling

    def _flush(self) -> bool:
        """Move pending rows into the store; on a non-finite value restore the last good weights and pause.
        Returns whether the rows were all finite."""
        table, divergence = self._trainer.flush()
        if len(table):
            table[:, self.store.index["time"]] = time.time() - self.store.created
            self.store.append(table)
            self.store.publish(step=self._trainer.step)  # before the sinks: a failing sink keeps it true
            for sink in self._sinks:
                sink(table)
        if divergence is None:
            return True
        step, column = divergence
        good_step = self._good["step"]
        self._trainer.load_state(self._good, counters=False)
        self._plan.clear()
        reason = (f"{column} became non-finite at step {step}; weights restored to step {good_step}. "
                  "Lower the learning rate, then resume.")
        self.store.add_event(Event(step, "diverged", column, "nan/inf", f"restored step {good_step}"))
        self._run_hooks()
        self._set_status("diverged", reason)
        self._mode = "idle"
        return False

    def _run_hooks(self) -> None:
        for hook in self._hooks:
            hook(self, self._trainer)

    def _set_status(self, status: str, reason: str = "") -> None:
        self._status, self._reason = status, reason
        self.store.publish(status=status, reason=reason)

    def _new_store(self) -> MetricsStore:
        previous = getattr(self, "store", None)
        store = MetricsStore(self._trainer.columns, first_version=previous.version + 1 if previous else 0)
        store.publish(status=self._status, reason="", step=self._trainer.step, info=self._trainer.info,
                      config=self._trainer.config.to_dict(), created=store.created)  # time column's origin
        return store
