"""The process-wide registry of training runs, and how browser sessions hold on to them.

Why it looks like this (see the notes on Streamlit's session lifetime):
- Training outlives every script run and every websocket: a run lives in one process-wide `Registry`
  (built by `st.cache_resource`, whose `on_release` stops every run when the cache is cleared), keyed by a
  random token that sits in the page's URL (`?run=...`). A reload or a Wi-Fi blip finds the same run.
- Sessions hold *leases* (a session-scoped `st.cache_resource` whose `on_release` fires when the websocket
  goes away). A run whose last lease is released becomes orphaned; a reaper thread stops runs orphaned for
  longer than a grace period (60 s by default), so a blip or a reload never loses training, and a closed
  tab never leaks a thread. Two tabs can lease one run (an instructor's projector and laptop).
- A capacity limit keeps a 2-core machine usable: past it a clear "all training slots are busy" message.
This module holds the cached factories and nothing that changes often: editing a cached factory's module
would rebuild the registry and leave the old one's threads running.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from gancore.budget import GB, check_budget, free_bytes
from gancore.config import Config
from gancore.evaluate.evaluator import Evaluator
from gancore.run import Run
from gancore.train import pick_device

CAPACITY = 4  # runs held at once, process-wide (GANCORE_MAX_RUNS overrides): 2 cores share them
GRACE_SECONDS = 60.0  # how long a run nobody watches survives (GANCORE_GRACE overrides)
REAP_EVERY = 5.0


def _env(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


class Busy(RuntimeError):
    """Every training slot is taken."""


def server_side(config: Config) -> Config:
    """The settings only the server decides: the data folder of folder-based data sets comes from
    GANCORE_DATA_DIR (default: the user cache), never from a link or the sidebar; and a run must fit the
    memory budget before it is built (a BudgetError, a ConfigError naming the estimate and the limit)."""
    folder = os.environ.get("GANCORE_DATA_DIR") or None
    config = config.replace(data_dir=folder if config.spec.folder else None)
    check_budget(config, None, memory_limit(config))
    return config


def memory_limit(config: Config) -> float:
    """Bytes one run may take: GANCORE_MEMORY_BUDGET (GB, the whole dashboard's) shared by the training slots,
    else half of what the run's device has free right now (runs already training are counted there)."""
    budget = _env("GANCORE_MEMORY_BUDGET", 0.0)
    if budget > 0:
        return budget * GB / _env("GANCORE_MAX_RUNS", CAPACITY)
    return 0.5 * free_bytes(pick_device(config.device).type)


def _shown(entry: Entry) -> bool:
    return entry.run.alive or entry.run.status == "error"


def make_run(config: Config) -> Run:
    """A run with the engine's evaluator as its hook (pictures, evaluations, diagnoses); the engine runs it
    once before Start, so the page shows the data and G's starting point straight away."""
    return Run(server_side(config), hooks=[Evaluator()])


@dataclass
class Entry:
    """One run and who watches it. `meta` holds page-level facts about it (the preset it came from)."""

    token: str
    run: Run
    leases: int = 0
    orphaned_since: float | None = field(default_factory=time.monotonic)
    meta: dict[str, Any] = field(default_factory=dict)
    control_key: str = field(default_factory=lambda: secrets.token_urlsafe(12))  # in its owner's URL only


class Registry:
    """Runs by token, with a capacity and a reaper for runs nobody has watched for `grace` seconds."""

    def __init__(self, capacity: int | None = None, grace: float | None = None,
                 factory: Callable[[Config], Run] = make_run, reap_every: float | None = REAP_EVERY) -> None:
        self.capacity = int(capacity if capacity is not None else _env("GANCORE_MAX_RUNS", CAPACITY))
        self.grace = float(grace if grace is not None else _env("GANCORE_GRACE", GRACE_SECONDS))
        self._factory = factory
        self._entries: dict[str, Entry] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._held = 0  # slots held by training outside the registry's runs (a sweep's workers)
        self.featured: str | None = None
        if reap_every:
            threading.Thread(target=self._reaper, args=(reap_every,), name="gancore-reaper", daemon=True).start()

    # --- runs ------------------------------------------------------------------------------------------
    def create(self, config: Config, **meta: Any) -> Entry:
        """A new run (ready, step 0). Raises Busy past the capacity; ConfigError/DataError for bad settings."""
        self.reap()
        if self.in_use() >= self.capacity:
            raise Busy(self._busy_message())
        run = self._factory(config)  # built outside the lock: an image data set takes a moment to load
        entry = Entry(secrets.token_urlsafe(8), run, meta=dict(meta))
        with self._lock:
            if len(self._entries) + self._held < self.capacity:
                self._entries[entry.token] = entry
                return entry
        run.stop()  # another session took the last slot meanwhile
        raise Busy(self._busy_message())

    def get(self, token: str | None) -> Entry | None:
        """The entry for `token`: a live run, or one whose thread failed (its page shows why until nobody
        watches it); None for unknown, reaped or stopped runs."""
        if not token:
            return None
        with self._lock:
            entry = self._entries.get(token)
        return entry if entry is not None and _shown(entry) else None

    def why_gone(self, token: str) -> str:
        """What a page says when its run is no longer there: the engine's own reason when the run died (an
        allocation failure, a bug), else that it was stopped after nobody watched it."""
        with self._lock:
            entry = self._entries.get(token)
        if entry is not None and entry.run.status == "error":
            return f"This run failed: {entry.run.reason}. Reload the page for a new run."
        return "This run is no longer available (stopped after nobody watched it). Reload the page."

    def feature(self, token: str) -> None:
        """The run a classroom's viewers watch: the one the instructor last started or picked."""
        self.featured = token

    def featured_entry(self) -> Entry | None:
        return self.get(self.featured)

    def discard(self, token: str) -> None:
        """Stop a run and free its slot."""
        with self._lock:
            entry = self._entries.pop(token, None)
        if entry is not None:
            _stop(entry.run)

    def in_use(self) -> int:
        with self._lock:
            return len(self._entries) + self._held

    def hold(self, slots: int) -> None:
        """Take `slots` training slots for training that is not a run of this registry (a sweep's worker
        processes); Busy, taking none, when fewer are free. `release_slots` gives them back."""
        self.reap()
        with self._lock:
            free = self.capacity - len(self._entries) - self._held
            if slots > free:
                raise Busy(f"A sweep of {slots} worker{'s' if slots != 1 else ''} needs {slots} training "
                           f"slot{'s' if slots != 1 else ''}; {max(free, 0)} of {self.capacity} are free on this "
                           "machine. Choose fewer workers, or wait for runs to finish.")
            self._held += slots

    def release_slots(self, slots: int) -> None:
        with self._lock:
            self._held = max(self._held - slots, 0)

    def _busy_message(self) -> str:
        return (f"All training slots are busy ({self.capacity} of {self.capacity} runs in use on this machine). "
                "Ask for the instructor's link to watch their run, or try again in a minute: runs nobody "
                f"watches are stopped after {self.grace:.0f} s.")

    # --- leases ----------------------------------------------------------------------------------------
    def acquire(self, token: str) -> None:
        with self._lock:
            entry = self._entries.get(token)
            if entry is not None:
                entry.leases += 1
                entry.orphaned_since = None

    def release(self, token: str) -> None:
        with self._lock:
            entry = self._entries.get(token)
            if entry is not None:
                entry.leases = max(entry.leases - 1, 0)
                if entry.leases == 0:
                    entry.orphaned_since = time.monotonic()

    # --- cleaning up -----------------------------------------------------------------------------------
    def reap(self, now: float | None = None) -> list[str]:
        """Stop runs orphaned longer than the grace period, and forget dead ones; returns their tokens."""
        now = time.monotonic() if now is None else now
        with self._lock:
            gone = [t for t, e in self._entries.items()
                    if not _shown(e) or (e.orphaned_since is not None and now - e.orphaned_since > self.grace)]
            entries = [self._entries.pop(t) for t in gone]
        for entry in entries:
            _stop(entry.run)
        return gone

    def stop_all(self) -> None:
        """Stop every run and the reaper (the registry's cache was cleared, or the server stops)."""
        self._closed.set()
        with self._lock:
            entries = list(self._entries.values())
            self._entries.clear()
        for entry in entries:
            _stop(entry.run)

    def _reaper(self, every: float) -> None:
        while not self._closed.wait(every):
            try:
                self.reap()
            except Exception:  # the reaper must survive anything a run's stop raises
                pass


def _stop(run: Run) -> None:
    try:
        run.stop(timeout=10.0)
    except RuntimeError:
        pass


# --- Streamlit glue: the cached factories --------------------------------------------------------------
def _st():
    import streamlit as st
    return st


class Lease:
    """A session's hold on one run; released when the session's websocket goes away."""

    def __init__(self, registry: Registry, token: str) -> None:
        self.registry, self.token = registry, token
        registry.acquire(token)

    def release(self) -> None:
        self.registry.release(self.token)


def registry() -> Registry:
    """The process-wide registry (one per server process)."""
    return _registry_factory()()


def lease(token: str) -> Lease:
    """Hold `token`'s run for as long as this browser session is connected (idempotent per session)."""
    return _lease_factory()(token)


_FACTORIES: dict[str, Any] = {}


def _registry_factory():
    if "registry" not in _FACTORIES:
        st = _st()

        @st.cache_resource(show_spinner=False, on_release=lambda reg: reg.stop_all())
        def gancore_registry() -> Registry:
            # One torch thread per run: the server, the browser and other runs share the cores, and torch's
            # spinning worker threads slow a contended 2-core machine 3-10x (bench/README.md, threads).
            torch.set_num_threads(1)
            from .access import announce  # access.py reads this module's Entry: imported here, once
            announce(int(st.get_option("server.port")))
            return Registry()

        _FACTORIES["registry"] = gancore_registry
    return _FACTORIES["registry"]


def _lease_factory():
    if "lease" not in _FACTORIES:
        st = _st()

        @st.cache_resource(show_spinner=False, scope="session", on_release=lambda held: held.release())
        def gancore_lease(token: str) -> Lease:
            return Lease(registry(), token)

        _FACTORIES["lease"] = gancore_lease
    return _FACTORIES["lease"]
