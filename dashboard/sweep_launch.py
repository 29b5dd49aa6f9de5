"""The Sweep tab: the sweeps of the log directory, and launching a small one from the page.

A sweep launched here is the command's own: its words are checked by gancore.sweep's plan_of (the same
validation and messages as `gancore sweep`), its sweep.json is written at once (so its map opens straight
away), then `python -m gancore sweep` runs it in a child process with its embedded LocalCluster, into the
log directory, and the page opens its map (sweeps.py), which follows it. A child process, not a cluster
inside this server: Dask's worker processes are spawned, and a spawned process re-runs its parent's main
script, which under Streamlit is this page. Three checks on the server, for every launch, whatever the
page drew: who (access.sweep_refusal: in a class only the instructor, never a watcher), how many at once
(each worker process takes one training slot of the registry, Registry.hold, until the sweep ends, so live
runs and sweeps share GANCORE_MAX_RUNS), and how big (PAGE_MAX_RUNS runs of at most PAGE_MAX_STEPS steps:
the command line is for the big ones).
"""

from __future__ import annotations

import atexit
import os
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path

import streamlit as st

from gancore.sweep import plan_of, usage_error, write_settings
from gancore.sweep_grid import SWEEP_PRESETS

from .access import Binding, Refused, sweep_refusal
from .recorded import LOGDIR_ENV, logdir
from .runs import Busy, Registry, registry
from .sweeps import open_sweep, sweep_list

PAGE_MAX_RUNS = 36  # runs of one sweep launched from the page
PAGE_MAX_STEPS = 2000  # steps of each of them
PAGE_STEPS = 300  # the form's default
CUSTOM = "custom grid"
ROOT = Path(__file__).resolve().parents[1]  # where `python -m gancore` imports this checkout's engine
LOG = "sweep.log"  # in the sweep's folder: the child's output, for when it fails
_CHILDREN: list[subprocess.Popen] = []  # stopped when the server exits


def launch(binding: Binding, reg: Registry, preset: str, grid: str, seeds: int, steps: int, workers: int) -> str:
    """Start a sweep from the page; the name of its folder in the log directory. Refused (who), Busy (slots)
    or ValueError (settings), each with one line for the page, before anything is written or started."""
    reason = sweep_refusal(binding)
    if reason is not None:
        raise Refused(reason)
    root = logdir()
    if root is None:
        raise ValueError(f"this server has no log directory to keep a sweep in: start it with {LOGDIR_ENV}=DIR")
    if not 1 <= steps <= PAGE_MAX_STEPS:
        raise ValueError(f"steps: {steps} is outside 1..{PAGE_MAX_STEPS} for a sweep launched from the page")
    name = f"sweep-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
    what = ["--sweep-preset", preset] if preset != CUSTOM else \
        [word for line in grid.splitlines() if line.strip() for word in ("--grid", line.strip())]
    argv = [*what, "--steps", str(steps), "--seeds", *map(str, range(seeds)), "--out", str(root.resolve() / name),
            "--no-progress"]
    try:
        plan = plan_of([*argv, "--workers", str(workers)])
    except ValueError as exc:
        raise ValueError(usage_error(exc)) from None
    if len(plan.cells) > PAGE_MAX_RUNS:
        raise ValueError(f"{len(plan.cells)} runs: a sweep launched from the page has at most {PAGE_MAX_RUNS} "
                         "(fewer values or seeds, or `python -m gancore sweep` on the command line)")
    workers = min(workers, len(plan.cells))  # an idle worker would hold a slot for nothing
    reg.hold(workers)  # Busy when the slots are not free: nothing has started
    try:
        plan.settings["workers"] = workers
        write_settings(plan)
        with open(plan.out / LOG, "wb") as log:
            child = subprocess.Popen([sys.executable, "-m", "gancore", "sweep", *argv, "--workers", str(workers)],
                                     cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env={**os.environ, "OMP_NUM_THREADS": "1"})
    except BaseException:
        reg.release_slots(workers)
        raise
    _CHILDREN.append(child)
    threading.Thread(target=_wait, args=(child, reg, workers), name=f"gancore-{name}", daemon=True).start()
    return name


def _wait(child: subprocess.Popen, reg: Registry, workers: int) -> None:
    """Give the sweep's slots back when its process ends, however it ends."""
    try:
        child.wait()
    finally:
        reg.release_slots(workers)
        _CHILDREN.remove(child)


@atexit.register
def _stop_children() -> None:
    """The server stops: its sweeps stop too (what finished stays readable; the command resumes the rest)."""
    for child in list(_CHILDREN):
        child.terminate()


def sweep_tab(binding: Binding) -> None:
    """The sweep folders (each opens its map) and the launch form."""
    st.markdown("##### Sweeps in the log directory")
    sweep_list()
    st.markdown("##### Launch a small sweep")
    reg = registry()
    free = max(reg.capacity - reg.in_use(), 0)
    st.caption(f"Each worker process trains one run at a time and takes one of this server's {reg.capacity} "
               f"training slots ({free} free now). Bigger sweeps: `python -m gancore sweep` (see the README).")
    with st.form("sweep-launch"):
        preset = st.selectbox("Sweep", [*SWEEP_PRESETS, CUSTOM], key="sweep-preset",
                              format_func=lambda p: p if p == CUSTOM else f"{p}: {SWEEP_PRESETS[p].title}")
        grid = st.text_area("Grid (custom grid only): one axis a line, NAME=V1,V2,...", "lr_d=0.0002,0.002\n"
                            "lr_g=0.0002,0.002", key="sweep-grid")
        left, mid, right = st.columns(3)
        steps = left.number_input("Steps per run", 1, PAGE_MAX_STEPS, PAGE_STEPS, key="sweep-steps")
        seeds = mid.number_input("Seeds per cell", 1, 5, 1, key="sweep-seeds")
        workers = right.number_input("Worker processes", 1, max(reg.capacity, 1), 1, key="sweep-workers")
        submitted = st.form_submit_button("Launch sweep")
    if submitted:
        try:
            name = launch(binding, reg, preset, grid, int(seeds), int(steps), int(workers))
        except (Refused, Busy, ValueError) as exc:
            st.error(f"**The sweep was not launched:** {exc}")
            return
        open_sweep(name)
        st.rerun()
