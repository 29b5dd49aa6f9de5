"""What every session watching a run shares: the run's latest snapshot and the figures built from it.

A classroom is thirty sessions on one run. Each fragment tick used to copy the snapshot and rebuild its
figures per session; here the first viewer of a new snapshot version copies and builds, the others take
the same objects (figures are never mutated after they are built). Bounded: the least recently used
entries go first, so old versions and closed runs fall out by themselves.

A training run publishes a new version every few milliseconds, so thirty timers ticking out of phase would
each meet a version of its own (measured: 345 of 384 chart draws built their figure again). A viewer can
change nothing, so it takes the held copy while that is younger than half its refresh: a class then builds
a run's figures about twice a second whatever its size; a session that controls the run always asks.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any, Callable

from gancore.metrics import Snapshot

from .runs import Entry

FIGURES_KEPT = 256  # figures of every run, version and view option: a few of each run's latest versions


class Shared:
    def __init__(self, limit: int = FIGURES_KEPT) -> None:
        self._lock = threading.Lock()
        self._snapshots: dict[str, tuple[Snapshot, float]] = {}  # token -> (latest copy, when it was asked)
        self._figures: OrderedDict[tuple, tuple[Any, Any]] = OrderedDict()
        self.limit = limit
        self.builds = 0  # figures built, for the tests and the viewers benchmark

    def snapshot(self, entry: Entry, fresh_within: float = 0.0) -> Snapshot:
        """The run's latest snapshot, copied from the engine only when its version moved; the held copy
        without asking the engine while it was asked less than `fresh_within` seconds ago."""
        now = time.monotonic()
        with self._lock:
            held, asked = self._snapshots.get(entry.token, (None, 0.0))
        if held is not None and now - asked < fresh_within:
            return held
        fresh = entry.run.snapshot(since=held.version if held is not None else None)
        with self._lock:
            current, _ = self._snapshots.get(entry.token, (None, 0.0))
            if fresh is not None and (current is None or current.version < fresh.version):
                current = fresh
            self._snapshots[entry.token] = (current, now)
        return current

    def figure(self, key: tuple, build: Callable[[], Any], keep: Any = None) -> Any:
        """`build()` once per key (token, chart, version, options) for every session. `keep` holds the
        object whose id() is in the key, so that id cannot be reused by a newer object meanwhile."""
        with self._lock:
            held = self._figures.get(key)
            if held is not None:
                self._figures.move_to_end(key)
                return held[0]
        value = build()
        with self._lock:
            self.builds += 1
            self._figures[key] = (value, keep)
            while len(self._figures) > self.limit:
                self._figures.popitem(last=False)
        return value

    def forget(self, token: str) -> None:
        with self._lock:
            self._snapshots.pop(token, None)


SHARED = Shared()
