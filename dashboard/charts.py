"""Live charts: pure functions from a run's Snapshot to a Plotly figure, driven by the measurement registry.

One builder draws every chart group of gancore.measures (a new measurement is a line of its group's chart),
beside the evaluation charts (coverage, class histogram, class-by-time heatmap) and the comparison of runs.
They are built on figure.py's `Chart` (the style and the rules that keep a chart readable on a projector and
small on the wire); the sample pictures are in pictures.py. Nothing here touches Streamlit or a running
thread, so every chart is unit-tested from a hand-made snapshot.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from gancore.measures import CHART_GROUPS, EVAL_MEASURES, LAYER_PREFIX, Measure, compared, group_measures
from gancore.metrics import Snapshot
from gancore.records import Evaluations

from .figure import COLORS, LAYER_PALETTE, MAX_POINTS, RUN_PALETTE, Chart, downsample

MAX_HEATMAP_COLUMNS = 400  # evaluations shown in the class-by-time heatmap
SHARE_SCALE = [[0.0, "#ffffff"], [0.15, "#c6dbef"], [0.5, "#4a90c9"], [1.0, "#08306b"]]
MEASURE_COLOURS = {"loss_d": COLORS["d"], "loss_g": COLORS["g"], "d_real": COLORS["d"], "d_fake": COLORS["g"],
                   "d_accuracy": COLORS["accuracy"], "w_estimate": COLORS["estimate"], "critic_real": COLORS["d"],
                   "critic_fake": COLORS["g"], "grad_norm_d": COLORS["d"], "grad_norm_g": COLORS["g"],
                   "w1_exact": COLORS["w1"], "modes_covered": COLORS["covered"],
                   "modes_covered_strict": COLORS["strict"], "hq_fraction": COLORS["hq"],
                   "label_accuracy": COLORS["label"]}  # a measurement without an entry takes LAYER_PALETTE's


def _column_line(chart: Chart, snapshot: Snapshot, column: str, name: str, colour: str, *, width: float = 2.5,
                 dash: str | None = None, positive: bool = False) -> bool:
    """Add one column as a (downsampled) line; False (and nothing added) when it has no finite value."""
    y = snapshot.columns.get(column)
    if y is None or not len(y):
        return False
    if positive:  # a log axis cannot show zero or negative values: they become gaps
        y = np.where(y > 0, y, np.nan).astype(np.float32)
    if not np.isfinite(y).any():
        return False
    chart.line(snapshot.columns["step"], y, name, colour, width=width, dash=dash)  # line() downsamples
    return True


def _finish(chart: Chart, snapshot: Snapshot, empty: bool, empty_text: str = "press Start") -> go.Figure:
    """A chart on the step axis: a note when it has nothing, the axes fitted to the data, the live changes."""
    if empty:
        chart.note(empty_text)
    events = [e for e in snapshot.events if e.step <= snapshot.step]
    chart.robust_y()
    chart.x_to_data(events[-1].step if events else None)
    chart.events(events)
    return chart.figure()


# --- the live time charts: one builder for every chart group of the registry ---------------------------
def _label(m: Measure, snapshot: Snapshot) -> str:
    info = snapshot.info
    return m.label_for(info).format(units=info.units if info else "modes")


def group_chart(snapshot: Snapshot, key: str, per_layer: bool = False) -> go.Figure:
    """The chart of one group of gancore.measures: every measurement of the group that applies to the run,
    per-step ones as lines, evaluation numbers as lines with markers; "%" measurements on a right axis."""
    group, info = CHART_GROUPS[key], snapshot.info
    objective = info.objective if info else ""
    title = group.title.format(objective=objective) if objective else group.title.split(" ({")[0]
    chart = Chart(title, group.y_title, log_y=group.log)
    if group.y_range:
        chart.layout["yaxis"]["range"] = list(group.y_range)
    if info is not None and not group.applies(info):
        chart.note(group.not_applicable.format(objective=objective))
        return _finish(chart, snapshot, False)
    drawn = False
    for i, m in enumerate(group_measures(key, info)):
        colour = MEASURE_COLOURS.get(m.name, LAYER_PALETTE[i % len(LAYER_PALETTE)])
        if m.name in EVAL_MEASURES:
            drawn |= _eval_line(chart, snapshot.evaluations, m, _label(m, snapshot), colour)
        elif m.hidden:  # click to show: drawn only beside a visible series
            values = snapshot.columns.get(m.name)
            if drawn and values is not None and np.isfinite(values).any():
                x, y = downsample(snapshot.columns["step"], values, MAX_POINTS // 4)
                chart.line(x, y, _label(m, snapshot), colour, width=1, dash=m.dash, visible="legendonly")
        else:
            drawn |= _column_line(chart, snapshot, m.name, _label(m, snapshot), colour, positive=m.log,
                                  width=1.5 if m.dash else 2.5, dash=m.dash)
    if per_layer and key == "gradients":
        layers = [name for name in snapshot.columns if name.startswith(LAYER_PREFIX)]
        for i, name in enumerate(layers):
            _column_line(chart, snapshot, name, "G " + name[len(LAYER_PREFIX):],
                         LAYER_PALETTE[i % len(LAYER_PALETTE)], width=1.5, dash="dot", positive=True)
    if key == "critic" and info is not None and info.constraint == "weight clipping":
        chart.subtitle("clipped critic: its estimate is K·W1 for an unknown K")
    return _finish(chart, snapshot, not drawn)


def _eval_line(chart: Chart, evals: Evaluations, m: Measure, label: str, colour: str) -> bool:
    values = evals.get(m.name)
    if values is None or not len(values) or not np.isfinite(values).any():
        return False
    steps = np.asarray(evals["step"], np.float32)
    if m.unit == "%":
        chart.line(steps, np.asarray(values, np.float32) * 100, f"{label} %", colour, width=2, dash="dash",
                   yaxis="y2")
    else:
        chart.line(steps, np.asarray(values, np.float32), label, colour, width=3, mode="lines+markers",
                   marker=dict(size=7))
    return True


def losses(snapshot: Snapshot) -> go.Figure:
    return group_chart(snapshot, "losses")


def probabilities(snapshot: Snapshot) -> go.Figure:
    return group_chart(snapshot, "probabilities")


def critic(snapshot: Snapshot) -> go.Figure:
    """The critic's estimate E f(real) - E f(fake) beside the exact W1 of each evaluation. The raw critic
    values drift by an arbitrary constant, so they are hidden until clicked in the legend."""
    return group_chart(snapshot, "critic")


def gradients(snapshot: Snapshot, per_layer: bool = False) -> go.Figure:
    """Gradient norms of D and G on a log axis (vanishing gradients span orders of magnitude)."""
    return group_chart(snapshot, "gradients", per_layer)


def _waiting(chart: Chart, snapshot: Snapshot) -> go.Figure:
    every = snapshot.config.get("eval_every")
    chart.note("waiting for the first evaluation" + (f" (every {every} steps)" if every else ""))
    return _finish(chart, snapshot, False)


def _unit(snapshot: Snapshot) -> str:
    return snapshot.info.unit if snapshot.info else "mode"


def coverage(snapshot: Snapshot) -> go.Figure:
    """Modes (classes) covered, loosely and strictly, out of the total; the high-quality share and, for
    conditional runs, the label accuracy on a % axis: the registry's "coverage" group."""
    evals = snapshot.evaluations
    what = snapshot.info.units if snapshot.info else "modes"
    chart = Chart(f"{what.capitalize()} covered and quality", what)
    if not len(evals):
        return _waiting(chart, snapshot)
    steps = np.asarray(evals["step"], np.float32)
    total = float(np.nanmax(evals["modes_total"])) if np.isfinite(evals["modes_total"]).any() else 0.0
    if total <= 0:
        chart.note(f"this data set has no {what} to count: watch W1")
        return _finish(chart, snapshot, False)
    for i, m in enumerate(group_measures("coverage", snapshot.info)):
        colour = MEASURE_COLOURS.get(m.name, LAYER_PALETTE[i % len(LAYER_PALETTE)])
        if m.unit == "%":
            _eval_line(chart, evals, m, _label(m, snapshot), colour)
        else:  # counts hold until the next evaluation
            chart.line(steps, evals[m.name], _label(m, snapshot), colour, mode="lines+markers", marker=dict(size=6))
            chart.data[-1]["line"]["shape"] = "hv"
    chart.hline(total)
    chart.layout["yaxis"]["range"] = [-0.3, total + 0.6]
    chart.layout["yaxis2"] = dict(overlaying="y", side="right", range=[-2, 102], showgrid=False, automargin=True,
                                  tickmode="array", tickvals=[0, 25, 50, 75, 100],
                                  title=dict(text="%"), ticks="outside", showline=True, linecolor="#555")
    return _finish(chart, snapshot, False)


def class_histogram(snapshot: Snapshot) -> go.Figure:
    """The latest evaluation's high-quality samples per mode (class) as bars; modes without a fair share
    are grey, and a dashed line marks what a uniform spread would give."""
    what = _unit(snapshot)
    evaluation = snapshot.evaluation
    hist = evaluation.histogram if evaluation is not None else None
    title = f"Samples per {what}" + (f" (step {evaluation.step})" if evaluation is not None else "")
    chart = Chart(title, "samples", x_title=what)
    chart.layout["hovermode"] = "closest"
    if hist is None or not len(hist):
        no_modes = evaluation is not None and evaluation["modes_total"] == 0
        chart.note("this data set has no modes: no histogram" if no_modes else "waiting for the first evaluation")
        return chart.figure()
    hist = np.asarray(hist, np.float32)
    if not hist.sum():
        chart.note(f"no sample is close to any {what} yet" if what == "mode" else "no confident sample yet")
        return chart.figure()
    protocol = evaluation.coverage or {}
    needed = float(protocol.get("strict_min_count") or 0.0)
    colours = [COLORS["covered"] if c >= max(needed, 1) else COLORS["uncovered"] for c in hist]
    chart.add("bar", x=[str(i) for i in range(len(hist))], y=hist, marker=dict(color=colours), name="samples",
              showlegend=False)
    chart.hline(float(hist.sum()) / len(hist), "#555", "uniform")
    chart.layout["xaxis"]["type"] = "category"
    return chart.figure()


def class_heatmap(snapshot: Snapshot) -> go.Figure:
    """The class-by-time matrix: each column one evaluation, each row a mode (class), colour = share of
    that evaluation's high-quality samples. Mode hopping shows as bands that jump."""
    what = _unit(snapshot)
    chart = Chart(f"{what.capitalize()} share over time", what)
    chart.layout["hovermode"] = "closest"
    evals = snapshot.evaluations
    hist = evals.histogram
    if hist is None or not len(hist) or np.ndim(hist) != 2 or not hist.shape[1]:
        return _waiting(chart, snapshot)
    hist = np.asarray(hist, np.float32)
    steps = np.asarray(evals["step"], np.float32)
    if len(steps) > MAX_HEATMAP_COLUMNS:
        keep = np.unique(np.linspace(0, len(steps) - 1, MAX_HEATMAP_COLUMNS).round().astype(int))
        hist, steps = hist[keep], steps[keep]
    total = hist.sum(axis=1, keepdims=True)
    if not total.any():
        chart.note(f"no sample is close to any {what} yet")
        return _finish(chart, snapshot, False)
    share = np.divide(hist, total, out=np.full_like(hist, np.nan), where=total > 0)
    chart.add("heatmap", x=steps, y=np.arange(hist.shape[1]), z=share.T, zmin=0, zmax=1, colorscale=SHARE_SCALE,
              colorbar=dict(title=dict(text="share"), thickness=12),
              hovertemplate="step %{x}<br>" + what + " %{y}<br>share %{z:.2f}<extra></extra>")
    half = float(steps[1] - steps[0]) / 2 if len(steps) > 1 else 0.5
    # the cells' edges, cut at step 0: an axis reading "-100" would name a step that never was
    chart.layout["xaxis"]["range"] = [max(float(steps[0]) - half, 0.0), float(steps[-1]) + half]
    if hist.shape[1] <= 12:
        chart.layout["yaxis"]["dtick"] = 1
    chart.layout["yaxis"]["showgrid"] = chart.layout["xaxis"]["showgrid"] = False
    return _finish(chart, snapshot, False)


def live_figure(key: str, snapshot: Snapshot, per_layer: bool = False) -> go.Figure:
    """One live chart by key: a chart group of the registry, or an evaluation chart."""
    if key in CHART_GROUPS:
        return group_chart(snapshot, key, per_layer)
    return EVALUATION_CHARTS[key](snapshot)


def time_charts(snapshot: Snapshot, per_layer: bool = False) -> dict[str, go.Figure]:
    """Every live time chart of the dashboard, by key: the registry's chart groups that the run shows, then
    the evaluations' coverage and the class-by-time heatmap."""
    info = snapshot.info
    groups = [g.key for g in CHART_GROUPS.values() if info is None or g.applies(info) or g.explained]
    return {key: live_figure(key, snapshot, per_layer) for key in (*groups, "coverage", "heatmap")}


EVALUATION_CHARTS = {"coverage": coverage, "heatmap": class_heatmap, "histogram": class_histogram}


# --- comparing runs -----------------------------------------------------------------------------------
COMPARE_METRICS: dict[str, Measure] = compared()  # the registry's measurements marked for comparison


def compare(runs: Sequence[tuple[str, Snapshot]], metric: str, x: str = "step", height: int = 300) -> go.Figure:
    """One metric of several runs overlaid, against the step or the wall-clock time (a WGAN-GP iteration
    does 5 critic steps: time is the fair axis for cost)."""
    m = COMPARE_METRICS[metric]
    log_y, per_step = m.log, m.name not in EVAL_MEASURES
    chart = Chart(m.compare, "", x_title="seconds" if x == "time" else "step", height=height, log_y=log_y)
    for i, (label, snapshot) in enumerate(runs):
        colour = RUN_PALETTE[i % len(RUN_PALETTE)]
        columns = snapshot.columns
        if per_step:
            y = columns.get(metric)
            if y is None or not len(y):
                continue
            xs = columns["time"] if x == "time" else columns["step"]
            if log_y:
                y = np.where(y > 0, y, np.nan).astype(np.float32)
            mode = "lines"
        else:
            evals = snapshot.evaluations
            if not len(evals):
                continue
            xs = np.asarray(evals["step"], np.float32)
            if x == "time":
                if not len(columns.get("step", ())):
                    continue
                xs = np.interp(xs, columns["step"], columns["time"]).astype(np.float32)
            y = np.asarray(evals[metric], np.float32)
            mode = "lines+markers"
        chart.line(xs, y, label, colour, mode=mode)
    if not chart.data:
        chart.note("start both runs")
    chart.robust_y()
    chart.x_to_data()
    return chart.figure()
