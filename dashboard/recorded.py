"""Recorded runs: the run directories of a log directory, listed in the sidebar and opened read-only.

`GANCORE_LOGDIR` names the log directory (default: `runs/` in the working directory, if it exists);
`?dir=NAME` opens the run directory NAME inside it, and nothing else: the name goes through
gancore.logdir.resolve, which refuses anything that leads outside. A recorded page has no training thread
and no controls. A run another process is still writing is followed at the live refresh, reading only what
was appended; a time scrubber shows the picture, histogram and numbers as they were at step k, with a
cursor on the curves, and "Play" replays. The figures are charts.py's, drawn from the same typed Snapshot
a live run gives (the reader's, here), through the same shared figure cache.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable

import streamlit as st

from gancore.logdir import LogdirError, list_runs, resolve
from gancore.logreader import RunReader
from gancore.metrics import Snapshot
from gancore.records import ImageFrame
from gancore.sweep_read import list_sweeps

from . import charts, pictures, status
from .controls import interval
from .figure import DrawnFigure
from .live import SHOW, cached, chart
from .recording import LOGDIR_ENV, logdir

FOLLOWED = ("running", "ready", "paused")  # statuses whose directory may still grow (a dashboard's recording)
READERS_KEPT = 8  # open run directories shared by every session (the least recently used is closed)
SPEEDS = (1, 2, 5, 10)  # recorded steps (pictures or evaluations) "Play" moves by per refresh


class Readers:
    """One RunReader per open run directory for every session, refreshed at most twice per `every` seconds
    whoever asks (a page ticking every `every` seconds comes back a little early as often as late: a
    whole `every` would skip every other tick); a lock keeps one session's read from racing another's."""

    def __init__(self, limit: int = READERS_KEPT) -> None:
        self._lock = threading.Lock()
        self._readers: OrderedDict[Path, tuple[RunReader, float]] = OrderedDict()
        self.limit = limit

    def view(self, path: Path, step: int | None, every: float) -> tuple[Snapshot, Snapshot, list[int], list[str]]:
        """(latest snapshot, snapshot at `step` (None: the latest), the scrubber's steps, problems)."""
        with self._lock:
            reader, read_at = self._readers.pop(path, (None, 0.0))
            if reader is None:
                reader, read_at = RunReader(path), time.monotonic()
            elif time.monotonic() - read_at >= every / 2:
                reader.refresh()
                read_at = time.monotonic()
            self._readers[path] = (reader, read_at)
            while len(self._readers) > self.limit:
                self._readers.popitem(last=False)
            latest = reader.snapshot()
            return latest, latest if step is None else reader.at(step), reader.steps(), reader.messages()


READERS = Readers()


# --- the sidebar ------------------------------------------------------------------------------------------
def sidebar_list(current: str | None = None) -> None:
    """"Recorded runs": each run directory of the log directory, newest first, with its status and step."""
    root = logdir()
    if root is None:
        return
    runs, sweeps = list_runs(root), list_sweeps(root)
    title = f"Recorded runs ({len(runs)})" + (f" and sweeps ({len(sweeps)})" if sweeps else "")
    with st.sidebar.expander(title, expanded=current is not None):
        if not runs and not sweeps:
            st.caption(f"No run directories in {LOGDIR_ENV} yet.")
        for run in runs:
            st.button(f"{run.name} · {run.status} · step {run.step}", key=f"recorded-{run.name}",
                      disabled=run.name == current, on_click=_open, args=(run.name,), width="stretch")
        for name in sweeps:  # its runs lie one level down: the sweep's map lists them (sweeps.py)
            st.button(f"{name}/ · sweep", key=f"recorded-sweep-{name}", on_click=_open, args=(name, "sweep"),
                      width="stretch", help="The sweep's map; a cell lists its runs, each opens as a recorded run.")


def _open(name: str, kind: str = "dir") -> None:
    st.query_params.from_dict({kind: name})


def _leave() -> None:
    st.query_params.clear()


# --- the page ---------------------------------------------------------------------------------------------
def opened(name: str, resolver: Callable[[Path, str], Path], what: str) -> Path | None:
    """The folder `name` of the log directory, through `resolver` (logdir.resolve or one built on it), or
    None after saying on the page why it cannot be opened."""
    root = logdir()
    if root is None:
        st.error(f"This server has no log directory: start it with {LOGDIR_ENV}=DIR.")
        return None
    try:
        return resolver(root, name)
    except LogdirError as exc:
        st.error(f"**This {what} cannot be opened:** {exc}")
        return None


def page(name: str) -> None:
    """A recorded run, read-only; a name that is not a run inside the log directory is refused."""
    with st.sidebar:
        st.button("New live run", on_click=_leave, width="stretch")
        st.toggle("Play", key="play", help="Replay the recorded pictures and evaluations from the scrubber on.")
        st.select_slider("Speed (recorded steps per refresh)", SPEEDS, key="speed")
    sidebar_list(name)
    path = opened(name, resolve, "recorded run")
    if path is None:
        return
    st.markdown(f"#### gancore · recorded run `{name}` · read-only")
    latest, _, _, _ = READERS.view(path, None, 0.0)
    st.session_state["_recorded_status"] = latest.status
    every = interval()
    ticking = every if latest.status in FOLLOWED or st.session_state.get("play") else None
    st.fragment(run_every=ticking)(_view)(str(path), every or 1.0)


def _view(path_text: str, every: float) -> None:
    path = Path(path_text)
    latest, _, steps, problems = READERS.view(path, None, every)
    if latest.status != st.session_state.get("_recorded_status"):
        st.rerun()  # the writer finished: the page stops ticking (decided before this fragment draws: live.py)
    step = _scrubbed(steps)
    _, snap, _, _ = READERS.view(path, step, float("inf"))  # no second read in one tick
    _strip(snap, latest)
    for text in problems:
        st.warning(text)
    left, right = st.columns([1, 2], gap="medium")
    key = (path_text, latest.version, step)
    with left:
        _picture(snap, path_text)
    with right:
        _curves(latest, key, step)


def _scrubbed(steps: list[int]) -> int | None:
    """The scrubber's step, None for the newest (which it follows); "Play" moves a picked step on.

    The slider gets a new key whenever the step it should show changes (each new step while it follows,
    each step of a replay): a widget keeps its own value for its key, and the browser would send the old
    one back. What the user picks is kept by the callback."""
    if len(steps) < 2:
        return None
    ss = st.session_state
    newest, pick = steps[-1], ss.get("_scrub_pick")
    if pick not in steps or pick == newest:
        pick = None
    elif ss.get("play"):
        pick = steps[min(steps.index(pick) + int(ss.get("speed", SPEEDS[0])), len(steps) - 1)]
        pick = None if pick == newest else pick
    ss["_scrub_pick"] = pick
    shown = newest if pick is None else pick
    key = f"scrub-{shown}"
    st.select_slider("Step", steps, value=shown, key=key, on_change=_picked, args=(key, newest),
                     help="Drag to see the picture, the histogram and the numbers as they were at that step; "
                     "the curves keep their history. At the right end it follows the run.")
    return pick


def _picked(key: str, newest: int) -> None:
    value = st.session_state[key]
    st.session_state["_scrub_pick"] = None if value == newest else value


def _strip(snap: Snapshot, latest: Snapshot) -> None:
    numbers = status.headline(snap)
    cols = st.columns([1.3, 1, 1, 1.2, 1])
    cols[0].metric("Status", latest.status)
    with cols[1].container(key="step-counter"):
        st.metric("Step", numbers["step"])
    stamp = status.logged_at(latest) if snap.step == latest.step else ""
    if stamp:  # when the newest step is shown: when it was written (bench/follow.py reads it)
        with cols[1].container(key="logged-at"):
            st.caption(f"logged {stamp}")
    cols[2].metric(numbers["distance_label"], numbers["distance"])
    cols[3].metric(numbers["coverage_label"], numbers["coverage"])
    cols[4].metric("High quality", numbers["quality"])
    if latest.reason:
        st.caption(f"{latest.status}: {latest.reason}")
    for banner in status.diagnosis_banners(snap.diagnoses):  # as they were at the scrubbed step
        SHOW[banner.level](banner.text)


def _picture(snap: Snapshot, path_text: str) -> None:
    """The picture and the histogram of the shown step, each built once per picture or evaluation (not per
    tick, as live.py does): a followed run's new rows leave them as they were."""
    frame = snap.frame
    if frame is None:
        st.info("No picture was recorded up to this step.")
    elif isinstance(frame, ImageFrame):
        picture = cached("recorded-image", (path_text, id(frame)), lambda: pictures.image_grid(frame), keep=frame)
        st.image(picture, caption=f"Samples at step {frame.step}", width="stretch")
    else:
        fig = cached("recorded-samples", (path_text, id(frame)), lambda: pictures.samples(frame), keep=frame)
        chart(fig, "chart-samples")
    evaluation = snap.evaluation
    hist = cached("recorded-histogram", (path_text, id(evaluation)), lambda: charts.class_histogram(snap),
                  keep=evaluation)
    chart(hist, "chart-histogram")


def _curves(latest: Snapshot, key: tuple, step: int | None) -> None:
    figures = cached("recorded-time", key, lambda: {name: _cursor(fig, step) for name, fig
                                                    in charts.time_charts(latest).items()})
    names = list(figures)
    for row in range(0, len(names), 2):
        for col, name in zip(st.columns(2), names[row: row + 2]):
            with col:
                chart(figures[name], f"chart-{name}")


def _cursor(fig: Any, step: int | None) -> Any:
    """A copy of `fig` with a vertical line at the scrubbed step (shared figures are never mutated)."""
    if step is None:
        return fig
    fig = DrawnFigure(fig)
    fig.add_vline(x=step, line=dict(color="#444", width=1, dash="dot"))
    return fig
