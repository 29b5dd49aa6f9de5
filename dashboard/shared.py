"""What every session watching a run shares: the run's latest snapshot and the figures built from it.

A classroom is thirty sessions on one run. Each fragment tick used to copy the snapshot and rebuild its
figures per session; here the first viewer of a new snapshot version copies and builds, the others take
the same objects (figures are never mutated after they are built). Bounded: the least recently used
entries go first, so old versions and closed runs fall out by themselves.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable

from gancore.metrics import Snapshot

from .runs import Entry

FIGURES_KEPT = 256  # figures of every run, version and view option: a few of each run's latest versions


class Shared:
    def __init__(self, limit: int = FIGURES_KEPT) -> None:
        self._lock = threading.Lock()
        self._snapshots: dict[str, Snapshot] = {}
        self._figures: OrderedDict[tuple, tuple[Any, Any]] = OrderedDict()
        self.limit = limit
        self.builds = 0  # figures built, for the tests and the viewers benchmark

    def snapshot(self, entry: Entry) -> Snapshot:
        """The run's latest snapshot, copied from the engine only when its version moved."""
        with self._lock:
            held = self._snapshots.get(entry.token)
        fresh = entry.run.snapshot(since=held.version if held is not None else None)
        if fresh is None:
            return held
        with self._lock:
            current = self._snapshots.get(entry.token)
            if current is None or current.version < fresh.version:
                self._snapshots[entry.token] = current = fresh
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
