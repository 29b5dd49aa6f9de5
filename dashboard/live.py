"""The Live tab: a status strip, the sample picture and the time charts, in one fragment.

The fragment reruns on a browser timer (`run_every`) without rerunning the page. It reads the run's
snapshot and its figures from the process-wide cache (shared.py): built once per run, chart and version
for every session watching, so a class costs little more than one viewer. "Pause live view" stops the
timer, so a chart can be zoomed.
"""

from __future__ import annotations

from typing import Any, Callable

import streamlit as st

from gancore.metrics import Snapshot
from gancore.records import ImageFrame, PlaneFrame
from gancore.presets import PRESENTED, PRESETS

from . import charts, pictures, session, status, watch
from .controls import interval
from .runs import Entry, registry
from .shared import SHARED

PLOTLY_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}
SHOW = {"info": st.info, "success": st.success, "warning": st.warning, "error": st.error}
# Beside the sidebar, seven numbers at Streamlit's 2.25rem cut "running" to "runni..." and a six-digit step:
# a smaller value (the presenter view sets its own) and a wider status column let every word fit.
STRIP_CSS = "<style>[data-testid='stMetricValue'] {font-size: 1.75rem;}</style>"
STRIP_COLUMNS = [1.2, 1.0, 0.9, 1.4, 0.9, 1.4, 0.9]  # the long labels ("Classes with a fair share") fit too


def snapshot(entry: Entry) -> Snapshot:
    """The run's latest snapshot, shared by every session that watches it: a viewer's at most half a
    refresh old, so out-of-phase viewers meet on one version (shared.py)."""
    binding = st.session_state.get("_binding")
    viewer = binding is not None and not binding.may_control
    return SHARED.snapshot(entry, fresh_within=(interval() or 0.0) / 2 if viewer else 0.0)


def cached(name: str, key: tuple, build: Callable[[], Any], keep: Any = None) -> Any:
    """A figure built once per `key` (token, version, options) for every session watching the run."""
    return SHARED.figure((name, *key), build, keep)


def chart(fig: Any, key: str) -> None:
    st.plotly_chart(fig, key=key, theme=None, config=PLOTLY_CONFIG)


def live_tab(entry: Entry) -> None:
    """Status strip on top; the picture left; the time charts right: one fragment on one timer.

    One fragment, not one per part: a fragment that reruns the app (below) while sibling fragments
    have ticks in flight left browsers with deltas for blocks they no longer had ("Cannot set a node at
    a delta path": a blank page in front of a class). When the strip sees the status or the settings
    change (Start pressed or a learning rate moved in another tab, a run finishing) it reruns the page
    before drawing anything, so the sidebar follows."""
    st.markdown(STRIP_CSS, unsafe_allow_html=True)
    st.session_state["_drawn"] = _drawn(entry, _sidebar_status(entry))
    st.fragment(run_every=interval())(_live)(entry.token)


def _live(token: str) -> None:
    entry = _entry(token)
    if entry is None:
        return
    snap = snapshot(entry)
    _status_strip(entry, snap)
    left, right = st.columns([1, 2], gap="medium")
    with left:
        _samples(token, snap)
    with right:
        _time_charts(token, snap)


def _drawn(entry: Entry, run_status: str) -> tuple:
    """What the full page was drawn for: the sidebar depends on the status (Start or Resume) and the settings."""
    return run_status, entry.run.config, entry.meta.get("preset")


def _sidebar_status(entry: Entry) -> str:
    """The status the sidebar was drawn for (Start or Resume): read again here, a Pause taking effect in
    between left "Start" on a paused run, with nothing to redraw it."""
    return st.session_state.get("_drawn_status") or snapshot(entry).status


def _entry(token: str) -> Entry | None:
    entry = registry().get(token)
    if entry is None:
        st.warning(registry().why_gone(token))
    return entry


def _status_strip(entry: Entry, snap: Snapshot) -> None:
    token = entry.token
    run_status = snap.status
    session.sync_url(st.session_state["_binding"])  # live changes reach the engine after the page ran
    follows_other = st.session_state.get("_follows") and registry().featured not in (None, token)
    if follows_other or _drawn(entry, run_status) != st.session_state.get("_drawn"):
        st.rerun()  # started, finished, or settings changed: redraw the page, before drawing anything
    numbers = status.headline(snap)
    cols = st.columns(STRIP_COLUMNS)
    cols[0].metric("Status", run_status)
    with cols[1].container(key="step-counter"):
        st.metric("Step", numbers["step"])
    stamp = status.logged_at(snap)
    if stamp:
        with cols[1].container(key="logged-at"):
            st.caption(f"logged {stamp}")
    cols[2].metric("Iterations / s", numbers["speed"])
    cols[3].metric(numbers["distance_label"], numbers["distance"])
    cols[4].metric(numbers["hit_label"], numbers["hit"])  # both numbers of the coverage chart: a banner
    cols[5].metric(numbers["coverage_label"], numbers["coverage"])  # names one, the chart draws both
    cols[6].metric("High quality", numbers["quality"])
    brief = bool(st.session_state.get("presenter"))  # a projector: the charts stay above the fold
    banner = status.run_banner(snap)
    if banner is not None and not (brief and banner.level == "info"):  # "paused" is in the strip already
        SHOW[banner.level](banner.text)
    if snap.message:
        st.warning(f"A setting was not applied: {snap.message}")
    if run_status == "error" and snap.traceback:
        with st.expander("Details"):
            st.code(snap.traceback)
    for b in status.diagnosis_banners(snap.diagnoses, snap.info, brief=brief):
        SHOW[b.level](b.text)
    for verdict in cached("verdicts", (token, snap.version, entry.run.config), lambda: _verdicts(entry, snap)):
        st.success(verdict)


def _verdicts(entry: Entry, snap: Snapshot) -> list[str]:
    """The preset's banners (its phenomenon, its fix working): once per version for every viewer, since a
    check may run the detectors over the whole history."""
    preset = PRESETS.get(entry.meta.get("preset", ""))
    shows = preset is not None and preset.matches(entry.run.config) and preset.shows(snap)
    worked = watch.fix_banner(entry, snap)
    return ([f"**The preset's phenomenon is showing:** {preset.criterion}."] if shows else []) + \
        ([worked] if worked else [])


def _samples(token: str, snap: Snapshot) -> None:
    frame = snap.frame
    if isinstance(frame, ImageFrame):
        picture = cached("image", (token, id(frame)), lambda: pictures.image_grid(frame), keep=frame)
        rows = "one row per class" if frame.rows else "fixed noise"
        st.image(picture, caption=f"Samples at step {frame.step} ({rows})", width="stretch")
    else:
        layers = pictures.LAYERS
        if isinstance(frame, PlaneFrame):  # the 1-D picture has no heatmap and no push to switch off
            layers = st.pills("Layers", pictures.LAYERS, selection_mode="multi", default=list(pictures.LAYERS),
                              key="layers", format_func={"field": "D heatmap", "real": "real", "fake": "fake",
                                                         "arrows": "G's push"}.get)
        fig = cached("samples", (token, id(frame), tuple(layers or ())),
                     lambda: pictures.samples(frame, layers or ()), keep=frame)
        chart(fig, "chart-samples")
    evaluation = snap.evaluation
    hist = cached("histogram", (token, id(evaluation)), lambda: charts.class_histogram(snap), keep=evaluation)
    chart(hist, "chart-histogram")


def _time_charts(token: str, snap: Snapshot) -> None:
    per_layer = bool(st.session_state.get("per_layer"))
    figures = cached("time", (token, snap.version, per_layer), lambda: charts.time_charts(snap, per_layer))
    # Two columns of equal-height charts draw the same grid as a row of columns per pair, with a third of
    # the layout blocks: each block is a message per viewer per tick.
    cols = st.columns(2)
    for i, (name, fig) in enumerate(figures.items()):
        with cols[i % 2]:
            chart(fig, f"chart-{name}")


# --- the presenter view: what a projector shows -------------------------------------------------------------
PRESENTER_HEIGHT = 460  # one row of 3-4 charts under the status strip and 3 banners fills 1600x1000
PRESENTER_CSS = """<style>
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"] {display: none;}
[data-testid="stMainBlockContainer"] {padding-top: 4rem;}  /* just below the 3.75rem header */
[data-testid="stAlertContainer"] {padding: 0.5rem 1rem !important;}  /* three banners, one row of charts */
html, body, [data-testid="stMetricValue"] {font-size: 1.25rem;}
</style>"""


def presenter(entry: Entry) -> None:
    """The status strip and banners, then the charts the preset names, large, for the back row."""
    st.markdown(PRESENTER_CSS, unsafe_allow_html=True)
    st.session_state["_drawn"] = _drawn(entry, _sidebar_status(entry))
    st.fragment(run_every=interval())(_presented)(entry.token)


def presented_charts(entry: Entry) -> tuple[str, ...]:
    """The preset's own charts while the run still has its settings; the custom set once they left it."""
    preset = PRESETS.get(entry.meta.get("preset", ""))
    shown = preset is not None and (preset.matches(entry.run.config) or preset.fixed(entry.run.config))
    return preset.charts if shown else PRESENTED  # a fix applied: the charts that show it undone


def _presented(token: str) -> None:
    entry = _entry(token)
    if entry is None:
        return
    snap = snapshot(entry)
    _status_strip(entry, snap)
    keys = presented_charts(entry)
    for col, key in zip(st.columns(len(keys), gap="small"), keys):  # one row: all of it above the fold
        with col:
            _presented_chart(key, token, snap)


def _presented_chart(key: str, token: str, snap: Snapshot) -> None:
    frame = snap.frame
    if key == "samples" and isinstance(frame, ImageFrame):
        picture = cached("image", (token, id(frame)), lambda: pictures.image_grid(frame), keep=frame)
        st.image(picture, caption=f"Samples at step {frame.step}", width="stretch")
        return
    if key == "samples":
        fig = cached("present-samples", (token, id(frame)),
                     lambda: _large(pictures.samples(frame, height=PRESENTER_HEIGHT)), keep=frame)
    else:
        fig = cached(f"present-{key}", (token, snap.version), lambda: _large(charts.live_figure(key, snap)))
    chart(fig, f"present-{key}")


def _large(fig: Any) -> Any:
    """Big fonts for the back row; the legend stays where charts.py puts it, at the figure's bottom."""
    fig.update_layout(height=PRESENTER_HEIGHT, font=dict(size=18), title=dict(font=dict(size=22)),
                      margin=dict(t=fig.layout.margin.t + 8))  # room for the larger title (and a subtitle)
    return fig
