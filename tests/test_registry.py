"""The dashboard's run registry with its real reaper thread: runs nobody leases stop after the grace
period, leases keep runs alive, and the capacity holds under a race for the last slots."""

from __future__ import annotations

import threading
import time

import pytest

from dashboard.runs import Busy, Lease, Registry
from gancore.config import Config
from gancore.run import Run

from run_support import wait_for

GRACE = 0.2


@pytest.fixture
def reg():
    r = Registry(capacity=2, grace=GRACE, factory=Run, reap_every=0.05)
    yield r
    r.stop_all()


def test_the_reaper_stops_a_run_nobody_leases_after_the_grace(reg: Registry, small: Config) -> None:
    watched, unwatched = reg.create(small), reg.create(small)
    lease = Lease(reg, watched.token)
    created = time.monotonic()
    wait_for(lambda: not unwatched.run.alive)
    assert time.monotonic() - created > GRACE  # not before the grace period
    assert reg.get(unwatched.token) is None and reg.in_use() == 1
    time.sleep(3 * GRACE)
    assert watched.run.alive and reg.get(watched.token) is watched  # a leased run survives any wait
    lease.release()  # the page closed: its lease goes, the run is orphaned
    released = time.monotonic()
    assert watched.orphaned_since is not None and watched.leases == 0
    wait_for(lambda: not watched.run.alive)
    assert time.monotonic() - released > GRACE and reg.in_use() == 0


def test_a_reload_within_the_grace_keeps_the_run(reg: Registry, small: Config) -> None:
    entry = reg.create(small)
    first = Lease(reg, entry.token)
    first.release()  # the old tab's websocket went away ...
    time.sleep(GRACE / 4)
    second = Lease(reg, entry.token)  # ... and the reloaded page leased the run again in time
    time.sleep(3 * GRACE)
    assert entry.run.alive and entry.leases == 1
    second.release()


def test_many_sessions_racing_for_the_last_slots_get_exactly_the_capacity(small: Config) -> None:
    built: list[Run] = []

    def slow_build(config: Config) -> Run:  # a real run, slow to build like an image data set
        time.sleep(0.05)
        built.append(Run(config))
        return built[-1]

    reg = Registry(capacity=2, grace=60, factory=slow_build, reap_every=None)
    start = threading.Barrier(8)
    granted, refused = [], []

    def ask() -> None:
        start.wait()
        try:
            granted.append(reg.create(small))
        except Busy as exc:
            refused.append(str(exc))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(granted) == 2 and len(refused) == 6 and reg.in_use() == 2
    assert all("All training slots are busy (2 of 2" in m for m in refused)
    assert len(built) > 2  # the race was real: more runs were built than there are slots ...
    assert sum(r.alive for r in built) == 2  # ... and every loser's run was stopped
    reg.stop_all()
