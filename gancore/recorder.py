"""Recording a live run from the middle: the same run directory the command line writes, into a log directory.

`Recorder(run, logdir, label).start()` attaches to a `Run` between two steps (`Run.attach`), so what it writes
first is exactly what the run holds at that moment, and every row flushed after it reaches it once: first
the store's rows (every step of the last 4,096, bucket averages before, as the store keeps them), the
events, every evaluation the run kept and the latest picture. From then on it appends as the command line
does: the rows at every flush (one write per flush), and, at most every RECORD_SECONDS (and when a run
pauses, for its last picture), the evaluations and the picture published since, read from one snapshot of
the store. So the copy replays like a command-line run (gancore.logreader.RunReader).

A reset starts a new directory: the old one is closed with its summary.json ("stopped: the run was reset")
and the new run is recorded from its step 0. `stop()`, or the end of the run's thread, writes summary.json.
A file that cannot be written (a full disk) stops the recording, never the run; `problems` says why.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import atomic
from .logdir import SUMMARY
from .metrics import MetricsStore, Snapshot
from .outputs import RunDirectory, summarise
from .records import Evaluation
from .run import Run
from .train import Trainer

RECORD_SECONDS = 0.25  # how often new evaluations and pictures are looked for (one store snapshot, ~0.2 ms)
FINAL = {"finished": "completed", "diverged": "diverged", "error": "error"}  # as the command line says them


def unique_directory(logdir: Path, label: str, now: float | None = None) -> Path:
    """A new, empty folder `logdir/<label>-<YYYYmmdd-HHMMSS>` (`-2`, `-3`, ... when taken), made here: two
    recordings started in the same second never share one. The log directory is made if missing."""
    logdir.mkdir(parents=True, exist_ok=True)
    stem = (re.sub(r"[^A-Za-z0-9_.-]+", "-", label).strip("-.") or "run") + \
        time.strftime("-%Y%m%d-%H%M%S", time.localtime(now))
    for n in range(1, 1000):
        path = logdir / (stem if n == 1 else f"{stem}-{n}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free name for {stem} in {logdir}")


def evaluations_after(snap: Snapshot, step: int) -> list[Evaluation]:
    """The evaluations of `snap` after `step`, oldest first: the latest one whole (its coverage thresholds
    and confidence too), older ones from the snapshot's columns (their numbers and histograms)."""
    history, latest = snap.evaluations, snap.evaluation
    out = []
    for i, s in enumerate(history["step"] if len(history) else ()):
        if s <= step:
            continue
        if latest is not None and int(s) == latest.step:
            out.append(latest)
        else:
            values = {name: float(column[i]) for name, column in history.columns.items() if name != "step"}
            histogram = history.histogram[i] if history.histogram is not None else None
            out.append(Evaluation(step=int(s), values=values, histogram=histogram))
    if latest is not None and latest.step > max((e.step for e in out), default=step):
        out.append(latest)
    return out


class Recorder:
    """A live run's recording into `logdir`, one directory per run (a reset makes another). Thread-safe: the
    caller starts and stops it; the training thread feeds it (`rows` is a sink, calling it is a hook)."""

    def __init__(self, run: Run, logdir: Path, label: str) -> None:
        self.run, self.logdir, self.label = run, Path(logdir), label
        self.paths: list[Path] = []  # every directory written, the current one last
        self.problems: list[str] = []
        self._dir: RunDirectory | None = None
        self._store: MetricsStore | None = None  # the store recorded: another one means a reset
        self._started = 0.0
        self._eval_step = -1  # the step of the last evaluation written
        self._frame: Any = None  # the last picture offered
        self._events: Any = None  # the events last written
        self._looked = -math.inf
        self._paused = False  # an idle summary.json is there (removed when the run trains again)
        self._lock = threading.Lock()

    @property
    def path(self) -> Path | None:
        """The directory being written; None once stopped (or failed)."""
        return self._dir.out if self._dir is not None else None

    def start(self, timeout: float = 60.0) -> Path:
        """Attach to the run and write its history; returns the directory, or raises OSError saying why not."""
        self.run.attach(self).result(timeout)
        if self.path is None:
            self.run.detach(self).result(timeout)
            raise OSError(self.problems[-1] if self.problems else f"cannot record into {self.logdir}")
        return self.path

    def stop(self, timeout: float = 60.0) -> None:
        """Detach between two steps: every row flushed so far is written, then summary.json."""
        self.run.detach(self).result(timeout)

    # --- called by the run, on its thread -------------------------------------------------------------
    def begin(self, run: Run, trainer: Trainer) -> None:
        with self._lock:
            self._open(trainer)

    def rows(self, table: np.ndarray) -> None:
        with self._lock:
            if self.run.store is self._store:
                self._guard(lambda: self._dir.write_rows(table))

    def __call__(self, run: Run, trainer: Trainer) -> None:
        with self._lock:
            if self._dir is None:
                return
            if run.store is not self._store:  # reset: that run is over, the new one gets its own directory
                self._close("stopped", f"the run was reset after step {self._store.snapshot().step}")
                self._open(trainer)
            elif run.settling or time.monotonic() - self._looked >= RECORD_SECONDS:
                self._looked = time.monotonic()
                snap, settling = self._store.snapshot(), run.settling
                self._guard(lambda: self._publish(snap, final=settling))
                if settling:  # pausing or finishing: a follower reads that, not a writer gone quiet
                    steps = trainer.config.steps
                    self._idle(snap, "completed" if steps and trainer.step >= steps else "paused")
                elif self._paused:
                    self._guard(lambda: (self._dir.out / SUMMARY).unlink(missing_ok=True))
                    self._paused = False

    def end(self, run: Run) -> None:
        """Detached, or the run's thread ended: closed with the run's final status, else 'stopped'."""
        with self._lock:
            if self._dir is None:
                return
            status = FINAL.get(run.status, "stopped")
            step = self._store.snapshot().step
            self._close(status, run.reason if status != "stopped" else f"recorded up to step {step} ({run.status})")

    # --- the work, under the lock ----------------------------------------------------------------------
    def _open(self, trainer: Trainer) -> None:
        """A new directory holding what the run holds so far."""
        try:
            directory = RunDirectory(unique_directory(self.logdir, self.label), trainer.config)
            directory.open(self.run)
        except OSError as exc:
            self.problems.append(f"cannot record into {self.logdir}: {exc}")
            return
        self._dir, self._store, self._started = directory, self.run.store, time.monotonic()
        self._eval_step, self._frame, self._events, self._paused = -1, None, None, False
        self.paths.append(directory.out)
        snap = self._store.snapshot()
        columns = [snap.columns[name] for name in self._store.names]
        if len(columns[0]):
            self._guard(lambda: directory.write_rows(np.column_stack(columns)))
        self._guard(lambda: self._publish(snap))
        if self.run.status != "running":
            self._idle(snap, FINAL.get(self.run.status, self.run.status))

    def _idle(self, snap: Snapshot, status: str) -> None:
        """summary.json while the run waits (ready, paused, finished): removed when it trains again."""
        if self._dir is None:
            return
        self._summary(snap, status, f"{status} at step {snap.step} in the dashboard; the recording goes on "
                                    "if it trains again")
        self._paused = True

    def _publish(self, snap: Snapshot, final: bool = False) -> None:
        """Append the evaluations and the picture published since the last call; events.jsonl when new.
        Pictures go through the writer's thinning (frames.jsonl keeps its budget); the final one is kept."""
        log = self._dir.log
        for e in evaluations_after(snap, self._eval_step):
            log.evaluation(e)
            self._eval_step = e.step
        if snap.frame is not None and (snap.frame is not self._frame or final):
            log.frame(snap.frame, force=final)
            self._frame = snap.frame
        if snap.events != self._events:
            atomic.write_text(self._dir.out / "events.jsonl",
                              "".join(json.dumps(e.as_dict()) + "\n" for e in snap.events))
            self._events = snap.events

    def _close(self, status: str, reason: str) -> None:
        """The last evaluations and picture, events.jsonl and summary.json; the directory is then done."""
        snap = self._store.snapshot()
        self._guard(lambda: self._publish(snap, final=True))
        directory, self._dir = self._dir, None
        if directory is None:  # a write failed: the recording stopped there, and said why
            return
        directory.close()
        self.problems += directory.log.problems
        self._summary(snap, status, reason, directory)

    def _summary(self, snap: Snapshot, status: str, reason: str, directory: RunDirectory | None = None) -> None:
        """summary.json as the command line writes it, from the last evaluation published."""
        directory = directory or self._dir
        e = snap.evaluation
        result = {**e.values, "histogram": e.histogram, "coverage": e.coverage} if e is not None else {}
        summary = summarise(status, snap, result, time.monotonic() - self._started, directory.config, reason)
        try:
            atomic.write_text(directory.out / SUMMARY, json.dumps(summary, indent=2) + "\n")
        except OSError as exc:
            self.problems.append(f"{directory.out.name}: {SUMMARY} not written: {exc}")

    def _guard(self, write: Callable[[], Any]) -> None:
        """Run a write while the recording goes on; one that fails (a full disk, a record that cannot be
        encoded) stops the recording and says why: it runs on the training thread, which trains on."""
        if self._dir is None:
            return
        try:
            write()
        except Exception as exc:
            self.problems.append(f"recording stopped: {type(exc).__name__}: {exc}")
            if self._dir is not None:
                self._dir.close()
                self._dir = None
