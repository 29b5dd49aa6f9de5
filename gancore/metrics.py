"""A bounded, versioned, thread-safe store of everything a run measures.

The training thread appends rows; any number of viewers take snapshots. Memory stays flat however long the
run: the latest `recent` rows are kept at full resolution, older rows are averaged into buckets whose size
doubles whenever the history fills up. A snapshot is a copy (numpy float32) with a version number that
changes only when the data did, so a viewer can skip redrawing an unchanged picture.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from .evaluate.diagnosis import Diagnosis
from .info import RunInfo
from .records import EvalCost, Evaluation, Evaluations, Frame


@dataclass(frozen=True)
class Event:
    """A change during training, drawn as a marker on every time chart."""

    step: int
    what: str
    old: Any
    new: Any
    note: str = ""

    @property
    def label(self) -> str:
        """The full sentence, for hover texts and logs."""
        return f"{self.what}: {self.old} → {self.new}" + (f" ({self.note})" if self.note else "")

    @property
    def short(self) -> str:
        """A marker's label on a chart: `lr_d 0.001→0.0002`."""
        return f"{self.what} {_fmt(self.old)}→{_fmt(self.new)}"

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.step, "what": self.what, "old": self.old, "new": self.new, "note": self.note}


def _fmt(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Snapshot:
    """Everything a viewer draws, copied under the store's lock: typed, so a view never guesses a key."""

    version: int
    columns: dict[str, np.ndarray]  # per logged step, oldest first; "step" is the x axis
    events: list[Event]
    status: str = "ready"  # ready, running, paused, finished, diverged, stopped or error
    reason: str = ""  # why the run is in that status
    step: int = 0
    config: dict[str, Any] = field(default_factory=dict)
    info: RunInfo | None = None
    created: float = 0.0  # wall-clock origin of the "time" column
    evaluation: Evaluation | None = None  # the latest
    evaluations: Evaluations = field(default_factory=Evaluations)
    frame: Frame | None = None
    diagnoses: tuple[Diagnosis, ...] = ()
    eval_cost: EvalCost | None = None
    message: str = ""  # a live setting that could not be applied
    traceback: str = ""  # of the error that stopped the run

    def latest(self, name: str) -> float:
        """The last logged value of a column (NaN when nothing was logged)."""
        values = self.columns.get(name)
        return float(values[-1]) if values is not None and len(values) else float("nan")


def _nanmean(pairs: np.ndarray) -> np.ndarray:
    """Mean over axis 1 ignoring NaN (NaN where all are NaN), without numpy's empty-slice warnings."""
    finite = ~np.isnan(pairs)
    count = finite.sum(axis=1)
    return np.where(count > 0, np.where(finite, pairs, 0).sum(axis=1) / np.maximum(count, 1), np.nan)


class _Buckets:
    """Averages rows into buckets of `size` rows (NaN-aware), halving itself when it reaches `capacity`."""

    def __init__(self, n_columns: int, capacity: int) -> None:
        self.rows = np.empty((capacity, n_columns), np.float32)
        self.n = 0
        self.size = 1
        self._sum = np.zeros(n_columns, np.float64)
        self._count = np.zeros(n_columns, np.int64)
        self._rows_in_bucket = 0

    def add(self, rows: np.ndarray) -> None:
        for row in rows:  # evictions arrive a flush at a time: a few hundred rows at most
            finite = ~np.isnan(row)
            self._sum[finite] += row[finite]
            self._count += finite
            self._rows_in_bucket += 1
            if self._rows_in_bucket >= self.size:
                self._close()

    def _close(self) -> None:
        if self.n == len(self.rows):
            half = self.rows[: self.n // 2 * 2].reshape(-1, 2, self.rows.shape[1])
            self.rows[: len(half)] = _nanmean(half)
            self.n = len(half)
            self.size *= 2
        self.rows[self.n] = np.where(self._count > 0, self._sum / np.maximum(self._count, 1), np.nan)
        self.n += 1
        self._sum[:] = 0
        self._count[:] = 0
        self._rows_in_bucket = 0


PUBLISHED = frozenset(f.name for f in fields(Snapshot)) - {"version", "columns", "events"}


class MetricsStore:
    """Rows of named float columns plus events and the published fields of a Snapshot, behind one lock."""

    def __init__(self, columns: list[str], recent: int = 4096, history: int = 4096, max_events: int = 1000,
                 first_version: int = 0) -> None:
        self.names = list(columns)
        self.index = {name: i for i, name in enumerate(self.names)}
        self._recent = np.empty((recent, len(self.names)), np.float32)
        self._n = 0
        self._history = _Buckets(len(self.names), history)
        self._events: deque[Event] = deque(maxlen=max_events)
        self._state: dict[str, Any] = {}
        self._version = first_version  # a replacement store continues the count, so `since` stays valid
        self._lock = threading.Lock()
        self.created = time.time()

    @property
    def version(self) -> int:
        return self._version

    def append(self, rows: np.ndarray) -> None:
        """Add rows (n, n_columns) in column order; the oldest full-resolution rows move into the history."""
        rows = np.asarray(rows, np.float32).reshape(-1, len(self.names))
        with self._lock:
            if len(rows) >= len(self._recent):  # more than the window: the surplus goes straight to history
                self._history.add(self._recent[: self._n])
                self._history.add(rows[: len(rows) - len(self._recent)])
                rows = rows[len(rows) - len(self._recent):]
                self._n = 0
            overflow = self._n + len(rows) - len(self._recent)
            if overflow > 0:
                self._history.add(self._recent[:overflow])
                self._recent[: self._n - overflow] = self._recent[overflow: self._n]
                self._n -= overflow
            self._recent[self._n: self._n + len(rows)] = rows
            self._n += len(rows)
            self._version += 1

    def add_event(self, event: Event) -> None:
        with self._lock:
            self._events.append(event)
            self._version += 1

    def publish(self, **state: Any) -> None:
        """Replace published fields of the Snapshot; publish new objects rather than mutating published ones."""
        unknown = set(state) - PUBLISHED
        if unknown:
            raise TypeError(f"not a published field of Snapshot: {', '.join(sorted(unknown))}")
        with self._lock:
            self._state.update(state)
            self._version += 1

    def snapshot(self, since: int | None = None) -> Snapshot | None:
        """A copy of everything; None when `since` is the current version (nothing changed)."""
        with self._lock:
            if since is not None and since == self._version:
                return None
            rows = np.concatenate([self._history.rows[: self._history.n], self._recent[: self._n]])
            events = list(self._events)
            state = dict(self._state)
            version = self._version
        columns = {name: np.ascontiguousarray(rows[:, i]) for i, name in enumerate(self.names)}
        return Snapshot(version, columns, events, **state)

    def nbytes(self) -> int:
        return self._recent.nbytes + self._history.rows.nbytes
