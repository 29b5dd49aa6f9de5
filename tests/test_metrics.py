"""The metrics store: bounded memory, full recent resolution, averaged history, versions."""

from __future__ import annotations

import threading
import tracemalloc

import numpy as np

from gancore.metrics import Event, MetricsStore


def rows(start: int, n: int) -> np.ndarray:
    steps = np.arange(start, start + n, dtype=np.float32)
    return np.stack([steps, 2 * steps], axis=1)


def test_memory_is_flat_however_many_rows() -> None:
    """Python's allocator sees no growth between 10,000 and 100,000 rows, and the snapshot still spans the
    whole run: the first row near step 0, the last one exact."""
    store = MetricsStore(["step", "x"], recent=100, history=64)
    tracemalloc.start()
    try:
        for start in range(0, 100_000, 500):
            store.append(rows(start, 500))
            if start == 10_000:
                early, _ = tracemalloc.get_traced_memory()
        late, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert late - early < 10_000, (early, late)  # a list of every row would add 0.7 MB
    steps = store.snapshot().columns["step"]
    assert 100 < len(steps) <= 100 + 64 and steps[-1] == 99_999 and steps[0] < 100_000 / 64


def test_recent_window_is_exact_and_history_is_ordered_averages() -> None:
    store = MetricsStore(["step", "x"], recent=100, history=64)
    for start in range(0, 10_000, 37):
        store.append(rows(start, 37))
    steps, x = store.snapshot().columns["step"], store.snapshot().columns["x"]
    assert list(steps[-100:]) == list(range(9927, 10_027))  # the last 100 rows, untouched
    assert np.all(np.diff(steps) > 0)
    assert np.allclose(x, 2 * steps)  # averaging a linear column keeps it on the line
    assert steps[0] < 200  # the history reaches back to the start of the run


def test_history_averages_buckets_ignoring_nan() -> None:
    """Rows leave the recent window into buckets; a full history merges pairs (NaN-aware means)."""
    store = MetricsStore(["step", "gp"], recent=1, history=2)
    for row in ([1, np.nan], [2, 4.0], [3, np.nan], [4, np.nan], [5, 1.0]):
        store.append(np.array([row], np.float32))
    cols = store.snapshot().columns
    assert list(cols["step"]) == [1.5, 3.0, 5.0]  # (1, 2) merged, 3 alone, 4 waits in its bucket, 5 recent
    assert cols["gp"][0] == 4.0 and np.isnan(cols["gp"][1]) and cols["gp"][2] == 1.0


def test_versions_change_only_with_data() -> None:
    store = MetricsStore(["step"])
    v0 = store.version
    assert store.snapshot(since=v0) is None
    store.append(np.array([[1.0]]))
    assert store.snapshot(since=v0) is not None
    store.add_event(Event(1, "lr_d", 1e-3, 1e-4))
    store.publish(status="running")
    snap = store.snapshot()
    assert snap.version == v0 + 3 and snap.events[0].label == "lr_d: 0.001 → 0.0001"
    assert snap.columns["step"].dtype == np.float32


def test_concurrent_appends_and_snapshots() -> None:
    """Readers snapshot while the writer appends (at least 200 snapshots overlap the writing): every snapshot
    is consistent, and nothing the writer wrote is lost or doubled."""
    store = MetricsStore(["step", "x"], recent=256, history=64)
    readers_done = threading.Event()
    appended = []

    def writer():
        start = 0
        while not readers_done.is_set() or start < 5_000:
            store.append(rows(start, 50))
            start += 50
        appended.append(start)

    thread = threading.Thread(target=writer)
    v0 = store.version
    thread.start()
    seen = 0
    while seen < 200:
        snap = store.snapshot()
        assert len(snap.columns["step"]) == len(snap.columns["x"])
        assert np.allclose(snap.columns["x"], 2 * snap.columns["step"])
        assert np.all(np.diff(snap.columns["step"]) > 0)
        seen += 1
    readers_done.set()
    thread.join()
    (total,) = appended
    final = store.snapshot()
    assert final.version == v0 + total // 50  # one version per append
    assert list(final.columns["step"][-256:]) == list(range(total - 256, total))


def test_the_event_cap_keeps_the_newest_events_in_order() -> None:
    store = MetricsStore(["step"], max_events=3)
    for step in range(10):
        store.add_event(Event(step, "lr_d", step, step + 1))
    assert [e.step for e in store.snapshot().events] == [7, 8, 9]
