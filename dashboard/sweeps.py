"""The Sweep view: a sweep folder of the log directory as its map, filling in as its runs finish.

`?sweep=NAME` opens the sweep folder NAME of the log directory (recorded.logdir) and nothing else: the name
goes through gancore.sweep_read.resolve_sweep, logdir.resolve's refusal of anything outside. The page reads
the folder through gancore.sweep_read (each finished run's own directory, then sweep.csv) and draws
sweep_chart's map; a small fragment re-reads it at the live refresh and reruns the page when a run has
finished, so the map, the counts and the cell's run list fill in together. Clicking a cell (or picking it
below the map) lists that cell's runs; each opens as a recorded run, `?dir=SWEEP/RUN`. Read-only: launching
a sweep is sweep_launch.py's.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from gancore.logdir import LogdirError
from gancore.sweep_map import cell_text, group_rows, layout, run_label, summarise_cells
from gancore.sweep_read import SweepState, list_sweeps, read_sweep, resolve_sweep

from .controls import interval
from .live import PLOTLY_CONFIG
from .recorded import LOGDIR_ENV, logdir, opened
from .sweep_chart import cell_keys, figure

CELL_KEY = "sweep-cell"  # the picked cell: an index into sweep_chart.cell_keys


def sidebar_list() -> None:
    """"Sweeps" in the sidebar, under the recorded runs, when the log directory holds any."""
    root = logdir()
    names = list_sweeps(root) if root is not None else []
    if names:
        with st.sidebar.expander(f"Sweeps ({len(names)})"):
            sweep_list(names=names)


def sweep_list(current: str | None = None, names: list[str] | None = None) -> None:
    """Every sweep folder of the log directory (or `names`), newest first, each a button that opens it."""
    root = logdir()
    if names is None:
        names = list_sweeps(root) if root is not None else []
    if not names:
        st.caption(f"No sweep folders in the log directory ({LOGDIR_ENV}) yet." if root is not None else
                   f"This server has no log directory: start it with {LOGDIR_ENV}=DIR to keep sweeps.")
    for name in names:
        st.button(f"{name}", key=f"sweep-open-{name}", disabled=name == current, on_click=open_sweep,
                  args=(name,), width="stretch")


def open_sweep(name: str) -> None:
    st.query_params.from_dict({"sweep": name})


def _open_run(name: str) -> None:
    st.query_params.from_dict({"dir": name})


def _leave() -> None:
    st.query_params.clear()


def back_button(run: str) -> None:
    """On a recorded run that belongs to a sweep (`?dir=SWEEP/RUN`): a sidebar button back to its map."""
    root, parent = logdir(), str(Path(run).parent)
    if root is None or parent == ".":
        return
    try:
        resolve_sweep(root, parent)
    except LogdirError:
        return
    st.sidebar.button(f"Back to sweep {parent}", on_click=open_sweep, args=(parent,), width="stretch")


def page(name: str) -> None:
    """The sweep folder `name`, read-only; a name that is not a sweep inside the log directory is refused."""
    with st.sidebar:
        st.button("New live run", on_click=_leave, width="stretch")
        with st.expander("Sweeps", expanded=True):
            sweep_list(name)
    path = opened(name, resolve_sweep, "sweep")
    if path is None:
        return
    state = read_sweep(path)
    st.markdown(f"#### gancore · sweep `{name}` · {state.title}")
    _counts(state)
    for text in state.problems:
        st.warning(text)
    if state.settings.get("explanation"):
        st.caption(state.settings["explanation"])
    if not state.axes:
        return
    st.plotly_chart(figure(state), key="sweep-map", theme=None, config=PLOTLY_CONFIG, on_select=_clicked,
                    selection_mode="points")
    _cell_runs(name, state)
    if len(state.rows) < state.total:  # still filling in: watch for the next finished run
        every = interval()
        st.fragment(run_every=every)(_watch)(str(path), _progress(state))


def _progress(state: SweepState) -> tuple:
    return len(state.rows), len(state.running)


def _watch(path_text: str, drawn: tuple) -> None:
    """Re-read the folder at the refresh; rerun the page when a run started or finished since it was drawn."""
    if _progress(read_sweep(Path(path_text))) != drawn:
        st.rerun(scope="app")


def _counts(state: SweepState) -> None:
    failed = sum(r.get("status") != "completed" for r in state.rows)
    left = state.total - len(state.rows)
    text = f"{len(state.rows)} of {state.total} runs finished ({failed} failed or diverged)"
    if left:
        text += f"; {len(state.running)} running, {left - len(state.running)} waiting. The map fills in as runs finish."
    st.caption(text)


def _clicked() -> None:
    """A click on the map selects one cell's marker: its `customdata` is the cell's index."""
    points = st.session_state["sweep-map"].selection.get("points") or []
    if points and points[0].get("customdata") is not None:
        st.session_state[CELL_KEY] = int(points[0]["customdata"])


def _cell_runs(name: str, state: SweepState) -> None:
    """The picked cell's runs, each a button that opens it as a recorded run."""
    grid = layout(state.axes)
    keys = cell_keys(grid)
    groups = group_rows(state.rows, list(grid.names))
    stats = summarise_cells(state.rows, list(grid.names), state.outcome)
    known = [i for i, key in enumerate(keys) if key in groups]
    if not known:
        return
    if st.session_state.get(CELL_KEY) not in known:
        st.session_state[CELL_KEY] = known[0]
    describe = {i: ", ".join(f"{n}={v}" for n, v in zip(grid.names, keys[i])) for i in known}
    picked = st.selectbox("Cell (or click one on the map)", known, key=CELL_KEY,
                          format_func=lambda i: f"{describe[i]}: {cell_text(stats[keys[i]])}, "
                          f"{stats[keys[i]]['label']}")
    for row in groups[keys[picked]]:
        value = row.get(state.outcome) or "-"
        st.button(f"{row['run']} · {row['status']} · {state.outcome} {value} · {run_label(row)}",
                  key=f"sweep-run-{row['run']}", on_click=_open_run, args=(f"{name}/{row['run']}",),
                  help="Open this run as a recorded run (replay, scrub, its charts).")
