"""Live charts: pure functions from a run's Snapshot (or one of its frames) to a Plotly figure.

Nothing here touches Streamlit or a running thread, so every chart is unit-tested from a hand-made
snapshot. The rules that keep an hour-long run responsive on a projector and a 2-core laptop live here:
- long series are downsampled (min-max per bucket, so spikes survive) to at most MAX_POINTS per trace;
- arrays stay float32 (Plotly sends them base64-encoded, smaller than lists);
- only SVG traces (`go.Scatter`, `go.Bar`, `go.Heatmap`): WebGL contexts run out with several live charts;
- every live change of a setting is a vertical marker (a shape) with a label (an annotation) on every
  chart whose x axis is the training step;
- a light, large-font style without Plotly's default template (a template costs kilobytes per figure).
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

import numpy as np
import plotly.graph_objects as go

from gancore.measures import CHART_GROUPS, EVAL_MEASURES, LAYER_PREFIX, Measure, compared, group_measures
from gancore.metrics import Event, Snapshot
from gancore.records import Evaluations, Frame, ImageFrame, LineFrame, PlaneFrame

MAX_POINTS = 1000  # per trace: a chart never carries more, however long the run (~8 kB a series)
MAX_MARKERS = 60  # most recent events drawn as vertical lines
MAX_LABELS = 12  # most recent events that may also get a text label (older ones are lines only)
LABEL_ROWS = 4  # labels stack in up to 4 rows from the top of the plot; a label with no free row is left out
LABEL_PLOT_PX = 320  # the narrowest plot a label's width is judged against (a presenter column at 1600 px)
LABEL_CHAR_PX = 7.5  # width of one character of a 13 px label, a little generous
ROBUST_PERCENTILES = (1.0, 99.0)  # a linear y-axis spans these percentiles of what is drawn ...
OUTLIER_SPANS = 2.0  # ... once a value lies more than 2 such spans beyond them (else Plotly's autorange)
ROBUST_PAD = 0.1  # the kept span is padded by 10% on each side
EARLY_SHARE = 0.1  # the first 10% of the steps are always drawn whole (and left out of the percentiles)
MAX_HEATMAP_COLUMNS = 400  # evaluations shown in the class-by-time heatmap
HEIGHT = 320
SUBTITLE_PX = 22  # the top margin a subtitle adds
FONT = dict(size=16, family="Source Sans Pro, Arial, sans-serif", color="#222")
COLORS = {
    "d": "#1f5fbf", "g": "#d62728", "real": "#3b3b3b", "fake": "#d62728", "w1": "#111111",
    "estimate": "#7b3fb5", "accuracy": "#888888", "event": "#6b6b6b", "diverged": "#d62728",
    "covered": "#1f5fbf", "strict": "#2ca02c", "hq": "#ff7f0e", "label": "#7b3fb5", "arrow": "#0b3d91",
    "uncovered": "#c9c9c9", "optimal": "#2ca02c",
}
LAYER_PALETTE = ["#8c564b", "#e377c2", "#17becf", "#bcbd22", "#9467bd", "#ff7f0e", "#2ca02c", "#7f7f7f"]
RUN_PALETTE = ["#1f5fbf", "#d62728", "#2ca02c", "#ff7f0e"]
FIELD_SCALE = [[0.0, "#b9a3dd"], [0.5, "#ffffff"], [1.0, "#9fd49a"]]  # fake side purple, real side green
SHARE_SCALE = [[0.0, "#ffffff"], [0.15, "#c6dbef"], [0.5, "#4a90c9"], [1.0, "#08306b"]]
ARROW_UNIT = 0.15  # a push of norm 0.1 is 1.5% of the view wide, 1e-3 is invisible: vanishing gradients show
ARROW_MAX = 0.10  # longer arrows are capped at 10% of the view (the median true size is in the legend)
MAX_ARROWS = 128  # one fake point in four gets an arrow: 512 arrows merge into a band
MAX_REAL_POINTS = 256
_TEMPLATE = go.layout.Template()  # no default template: Streamlit's or Plotly's costs ~3-7 kB a figure
_AXIS = dict(gridcolor="#e3e3e3", zeroline=False, showline=True, linecolor="#555", ticks="outside",
             automargin=True)  # nested dicts only: "title_font"-style shortcuts exist in Python, not plotly.js
MEASURE_COLOURS = {"loss_d": COLORS["d"], "loss_g": COLORS["g"], "d_real": COLORS["d"], "d_fake": COLORS["g"],
                   "d_accuracy": COLORS["accuracy"], "w_estimate": COLORS["estimate"], "critic_real": COLORS["d"],
                   "critic_fake": COLORS["g"], "grad_norm_d": COLORS["d"], "grad_norm_g": COLORS["g"],
                   "w1_exact": COLORS["w1"], "modes_covered": COLORS["covered"],
                   "modes_covered_strict": COLORS["strict"], "hq_fraction": COLORS["hq"],
                   "label_accuracy": COLORS["label"]}  # a measurement without an entry takes LAYER_PALETTE's


# --- building blocks --------------------------------------------------------------------------------
def downsample(x: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most `max_points` points of (x, y), keeping each bucket's minimum and maximum (spikes stay
    visible, unlike a stride) and the first and last points (the latest value is always drawn).
    Float32 in, float32 out; NaN values count as gaps and never as extremes."""
    x = np.asarray(x, np.float32)
    y = np.asarray(y, np.float32)
    n = len(y)
    if n <= max_points:
        return x, y
    buckets = max((max_points - 2) // 2, 1)
    size = -(-n // buckets)
    padded = np.full(buckets * size, np.nan, np.float32)
    padded[:n] = y
    blocks = padded.reshape(buckets, size)
    finite = ~np.isnan(blocks)
    low = np.where(finite, blocks, np.inf).argmin(axis=1)
    high = np.where(finite, blocks, -np.inf).argmax(axis=1)
    index = (np.sort(np.stack([low, high], axis=1), axis=1) + np.arange(buckets)[:, None] * size).ravel()
    index = np.unique(np.concatenate([[0], index[index < n], [n - 1]]))
    return x[index], y[index]


LEGEND = dict(orientation="h", x=0.0, xanchor="left", yref="container", y=0.0, yanchor="bottom",
              font=dict(size=14), bgcolor="rgba(255,255,255,0)")
# The legend sits at the bottom of the figure (container coordinates): plotly.js then grows the bottom margin
# to hold it, however many rows it wraps to in a narrow column. Above the plot it ran into the title, and in
# paper coordinates below the plot it covered the x axis' ticks and title.


def _layout(title: str, y_title: str, x_title: str, height: int, log_y: bool) -> dict[str, Any]:
    """The projector style: white, large fonts, the title alone above the plot, the legend under it."""
    layout: dict[str, Any] = dict(
        template=_TEMPLATE, height=height, font=FONT, paper_bgcolor="white", plot_bgcolor="white",
        title=dict(text=title, x=0.0, xanchor="left", yref="container", y=1.0, yanchor="top", pad=dict(t=8),
                   font=dict(size=18)),
        margin=dict(l=10, r=10, t=44, b=10), hovermode="x unified", uirevision="keep", legend=dict(LEGEND),
        xaxis=dict(title=dict(text=x_title, font=dict(size=15)), **_AXIS),
        yaxis=dict(title=dict(text=y_title, font=dict(size=15)), **_AXIS))
    if log_y:
        layout["yaxis"].update(type="log", exponentformat="power", dtick=1)
    return layout


def style(fig: go.Figure, title: str, y_title: str = "", *, x_title: str = "step", height: int = HEIGHT,
          log_y: bool = False) -> go.Figure:
    """Apply the projector style to a figure built elsewhere (the Theory tab's subplots)."""
    layout = _layout(title, y_title, x_title, height, log_y)
    x_axis, y_axis = layout.pop("xaxis"), layout.pop("yaxis")
    fig.update_layout(**layout)
    fig.update_xaxes(**x_axis)
    fig.update_yaxes(**y_axis)
    return fig


class Chart:
    """Collects traces, shapes and annotations as plain dicts and builds the figure once.

    Plotly's validation costs 10-20 ms a figure (and O(n^2) for shapes added one by one), paid per viewer
    per tick; the dicts here are checked by the unit tests instead, which set VALIDATE = True."""

    def __init__(self, title: str, y_title: str = "", *, x_title: str = "step", height: int = HEIGHT,
                 log_y: bool = False) -> None:
        self.layout = _layout(title, y_title, x_title, height, log_y)
        self.data: list[dict[str, Any]] = []
        self.shapes: list[dict[str, Any]] = []
        self.annotations: list[dict[str, Any]] = []

    def add(self, kind: str, **trace: Any) -> "Chart":
        self.data.append(dict(type=kind, **trace))
        return self

    def line(self, x: np.ndarray, y: np.ndarray, name: str, colour: str, *, width: float = 2.5,
             dash: str | None = None, mode: str = "lines", **extra: Any) -> "Chart":
        style_ = dict(color=colour, width=width) | ({"dash": dash} if dash else {})
        return self.add("scatter", x=x, y=y, name=name, mode=mode, line=style_, **extra)

    def hline(self, y: float, colour: str = "#999", text: str | None = None) -> None:
        self.shapes.append(dict(type="line", xref="paper", yref="y", x0=0, x1=1, y0=y, y1=y,
                                line=dict(color=colour, dash="dash", width=1.5)))
        if text:
            self.annotations.append(dict(x=1, y=y, xref="paper", yref="y", text=text, showarrow=False,
                                         xanchor="right", yanchor="bottom", font=dict(size=13, color="#555"),
                                         bgcolor="rgba(255,255,255,0.85)"))  # readable over a bar

    def subtitle(self, text: str) -> None:
        """A line under the title, in a margin grown for it: a caveat that must not cover the data."""
        self.layout["title"]["subtitle"] = dict(text=text, font=dict(size=13, color="#555"))
        self.layout["margin"] = dict(self.layout["margin"], t=self.layout["margin"]["t"] + SUBTITLE_PX)

    def note(self, text: str, y: float = 0.5) -> None:
        """A centred message inside the plot (why a series is missing, what to wait for)."""
        self.annotations.append(dict(text=text, x=0.5, y=y, xref="paper", yref="paper", showarrow=False,
                                     font=dict(size=15, color="#555"), bgcolor="rgba(255,255,255,0.85)"))

    def x_to_data(self, last_event: float | None = None) -> None:
        """End the x axis at the data: the first and last x of the traces (or a later live change). Plotly's
        autorange also makes room for the events' labels, which stretched the axis far past the data."""
        if "range" in self.layout["xaxis"]:
            return
        xs = _finite(t["x"] for t in self.data if t.get("x") is not None)
        if not xs.size:
            return
        first, last = float(xs.min()), max(float(xs.max()), last_event if last_event is not None else -math.inf)
        if last > first:
            self.layout["xaxis"]["range"] = [first, last]

    def robust_y(self) -> None:
        """A linear y axis over the ROBUST_PERCENTILES of the per-step lines once a few far outliers would
        flatten everything else into a line (a loss spike after a live change); the values off the scale
        become triangles at its edge, and a note says how many there are and how far they went. Drawn whole,
        the range growing to hold them: evaluation lines (a few marked points: exact W1) and the first
        EARLY_SHARE of the steps (the start's transient is the lesson, e.g. D's loss falling to 0)."""
        axis = self.layout["yaxis"]
        if axis.get("type") == "log" or "range" in axis:
            return
        shown = [t for t in self.data if t["type"] == "scatter" and t.get("yaxis", "y") == "y"
                 and t.get("visible", True) is True]
        drawn = [(np.asarray(t["x"], np.float32), np.asarray(t["y"], np.float32), t) for t in shown
                 if t.get("mode") == "lines"]
        xs = _finite(x for x, _, _ in drawn)
        if not xs.size:
            return
        early_end = xs.min() + EARLY_SHARE * (xs.max() - xs.min())
        ys = _finite(y[x > early_end] for x, y, _ in drawn)
        whole = _finite([*(y[x <= early_end] for x, y, _ in drawn),
                         *(t["y"] for t in shown if t.get("mode") != "lines")])
        if ys.size < 10:
            return
        low, high = np.percentile(ys, ROBUST_PERCENTILES)
        span = float(high - low) or max(abs(float(high)) * 0.1, 1e-6)
        if ys.min() >= low - OUTLIER_SPANS * span and ys.max() <= high + OUTLIER_SPANS * span:
            return
        bottom, top = float(low - ROBUST_PAD * span), float(high + ROBUST_PAD * span)
        if whole.size:
            bottom, top = min(bottom, float(whole.min()) - ROBUST_PAD * span), \
                max(top, float(whole.max()) + ROBUST_PAD * span)
        axis["range"] = [bottom, top]
        out = []
        for x, y, t in drawn:
            for off, edge, symbol in ((y > top, top, "triangle-up"), (y < bottom, bottom, "triangle-down")):
                if off.any():
                    out.append(y[off])
                    self.add("scatter", x=x[off], y=np.full(int(off.sum()), edge, np.float32), mode="markers",
                             name=f"{t['name']} off-scale", showlegend=False, cliponaxis=False,
                             marker=dict(symbol=symbol, size=10, color=t["line"]["color"]),
                             customdata=y[off], hovertemplate="%{customdata:.3g}")
        if not out:
            return
        out = np.concatenate(out)
        far = float(out[np.argmax(np.abs(out))])
        self.annotations.append(dict(
            text=f"{out.size} point{'s' * (out.size != 1)} off-scale (to {far:.3g}) ▲▼", x=1.0, y=0.0,
            xref="paper", yref="paper", xanchor="right", yanchor="bottom", showarrow=False,
            font=dict(size=13, color="#555"), bgcolor="rgba(255,255,255,0.85)"))

    def events(self, events: Sequence[Event]) -> None:
        """Each live change as a dotted vertical line across the plot. The latest ones get a label, placed in
        the first of LABEL_ROWS rows where it overlaps no other (judged on a narrow plot, newest first);
        labels in the right half of the axis end at their line, so they stay inside the plot."""
        events = list(events)[-MAX_MARKERS:]
        span = self.layout["xaxis"].get("range")
        taken: list[list[tuple[float, float]]] = [[] for _ in range(LABEL_ROWS)]
        lines = []
        for i, e in enumerate(reversed(events)):
            colour = COLORS["diverged"] if e.what == "diverged" else COLORS["event"]
            lines.append(dict(type="line", xref="x", yref="paper", x0=e.step, x1=e.step, y0=0, y1=1,
                                    line=dict(color=colour, width=2, dash="dot"), layer="above",
                                    name=f"event:{e.what}"))
            if i >= MAX_LABELS:
                continue
            right = span is not None and e.step > (span[0] + span[1]) / 2
            width = (len(e.short) * LABEL_CHAR_PX + 8) / LABEL_PLOT_PX * ((span[1] - span[0]) if span else 1.0)
            box = (e.step - width, e.step) if right else (e.step, e.step + width)
            row = next((r for r, boxes in enumerate(taken)
                        if all(box[1] < b[0] or box[0] > b[1] for b in boxes)), None) if span else i % LABEL_ROWS
            if row is None:
                continue  # no room: the line stays, unlabelled
            taken[row].append(box)
            self.annotations.append(dict(
                x=e.step, y=1.0 - 0.11 * row, xref="x", yref="paper", text=e.short, hovertext=e.label,
                showarrow=False, xanchor="right" if right else "left", yanchor="top", xshift=-3 if right else 3,
                font=dict(size=13, color=colour), bgcolor="rgba(255,255,255,0.8)"))
        self.shapes.extend(reversed(lines))  # in step order

    def figure(self) -> go.Figure:
        layout = dict(self.layout)
        if not self.data:  # a note alone: ticks of an empty axis (0 to 6) would read as data
            for axis in ("xaxis", "yaxis"):
                layout[axis] = dict(layout[axis], visible=False)
        if self.shapes:
            layout["shapes"] = self.shapes
        if self.annotations:
            layout["annotations"] = self.annotations
        return go.Figure(data=self.data, layout=layout, _validate=VALIDATE)


VALIDATE = False  # tests turn Plotly's validation on, so a misspelt property fails there


def _finite(arrays: Iterable[Any]) -> np.ndarray:
    """The finite values of several arrays, as one float64 array."""
    values = [np.asarray(a, np.float64).ravel() for a in arrays]
    values = np.concatenate(values) if values else np.empty(0)
    return values[np.isfinite(values)]


def _column_line(chart: Chart, snapshot: Snapshot, column: str, name: str, colour: str, *, width: float = 2.5,
                 dash: str | None = None, positive: bool = False) -> bool:
    """Add one downsampled column as a line; False (and nothing added) when it has no finite value."""
    y = snapshot.columns.get(column)
    if y is None or not len(y):
        return False
    if positive:  # a log axis cannot show zero or negative values: they become gaps
        y = np.where(y > 0, y, np.nan).astype(np.float32)
    if not np.isfinite(y).any():
        return False
    x, y = downsample(snapshot.columns["step"], y)
    chart.line(x, y, name, colour, width=width, dash=dash)
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
    chart.layout["xaxis"]["range"] = [float(steps[0]) - half, float(steps[-1]) + half]  # the cells' edges
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


# --- samples ------------------------------------------------------------------------------------------
LAYERS = ("field", "real", "fake", "arrows")


def samples(frame: Frame | None, layers: Iterable[str] = LAYERS, height: int = 560) -> go.Figure:
    """The picture of a 1-D or 2-D frame (image frames are shown with `image_grid`)."""
    if not isinstance(frame, (PlaneFrame, LineFrame)):
        chart = Chart("Samples", x_title="", height=height)
        chart.note("no picture yet" if frame is None else "image samples are shown as a grid")
        return chart.figure()
    if isinstance(frame, PlaneFrame):
        return samples_2d(frame, layers, height)
    return samples_1d(frame, height=min(height, 420))


def samples_2d(frame: PlaneFrame, layers: Iterable[str] = LAYERS, height: int = 560) -> go.Figure:
    """Real and fake points over D's field (probability for sigmoid objectives, raw critic otherwise),
    with arrows where G's loss pushes each fake point. Arrows keep their true scale (capped), so a
    vanishing generator gradient is seen as arrows shrinking to nothing."""
    layers = set(layers)
    bounds = np.asarray(frame.bounds, np.float32)
    sigmoid = frame.probabilities
    chart = Chart(f"Samples at step {frame.step}", x_title="", height=height)
    chart.layout["hovermode"] = "closest"
    if "field" in layers:
        scores = np.asarray(frame.scores, np.float32)
        if sigmoid:
            z = (0.5 * (1 + np.tanh(0.5 * scores))).astype(np.float32)
            extra = dict(zmin=0.0, zmax=1.0, colorbar=dict(title=dict(text="D(x)"), thickness=12))
        else:
            z = scores
            centre = float(np.median(scores))
            spread = float(np.max(np.abs(scores - centre))) or 1.0
            extra = dict(zmin=centre - spread, zmax=centre + spread,
                         colorbar=dict(title=dict(text="critic"), thickness=12))
        chart.add("heatmap", x=np.asarray(frame.xs, np.float32), y=np.asarray(frame.ys, np.float32), z=z,
                  colorscale=FIELD_SCALE, name="D field",
                  hovertemplate="x %{x:.2f}<br>y %{y:.2f}<br>%{z:.3g}<extra></extra>", **extra)
    if "real" in layers:  # the data never moves: a subset draws it as well, for half the browser's work
        real = np.asarray(frame.real, np.float32)[:MAX_REAL_POINTS]
        chart.add("scatter", x=real[:, 0], y=real[:, 1], mode="markers", name="real",
                  marker=dict(color=COLORS["real"], size=5, opacity=0.7))
    fake = np.asarray(frame.fake, np.float32)
    if "arrows" in layers:
        chart.data.append(_arrows(fake, np.asarray(frame.arrows, np.float32), bounds))
    if "fake" in layers:
        chart.add("scatter", x=fake[:, 0], y=fake[:, 1], mode="markers", name="fake G(z)",
                  marker=dict(color=COLORS["fake"], size=6, line=dict(color="white", width=0.5)))
    chart.layout["xaxis"].update(range=[float(bounds[0, 0]), float(bounds[0, 1])], showgrid=False,
                                 constrain="domain")
    chart.layout["yaxis"].update(range=[float(bounds[1, 0]), float(bounds[1, 1])], showgrid=False,
                                 scaleanchor="x", scaleratio=1, constrain="domain")
    return chart.figure()


def _arrows(points: np.ndarray, push: np.ndarray, bounds: np.ndarray) -> dict[str, Any]:
    """One trace of line segments (NaN-separated) with an arrowhead marker at each tip, for at most
    MAX_ARROWS evenly spread points (the legend gives the median size over all of them)."""
    median = float(np.median(np.linalg.norm(push, axis=1))) if len(push) else math.nan
    if len(points) > MAX_ARROWS:
        keep = np.linspace(0, len(points) - 1, MAX_ARROWS).round().astype(int)
        points, push = points[keep], push[keep]
    width = float(np.max(bounds[:, 1] - bounds[:, 0]))
    norm = np.linalg.norm(push, axis=1, keepdims=True)
    length = np.minimum(norm * ARROW_UNIT * width, ARROW_MAX * width)
    direction = np.divide(push, norm, out=np.zeros_like(push), where=norm > 0)
    tips = points + direction * length
    n = len(points)
    xy = np.full((n, 3, 2), np.nan, np.float32)
    xy[:, 0], xy[:, 1] = points, tips
    sizes = np.tile(np.array([0, 7, 0], np.float32), n)
    return dict(type="scatter", x=xy[:, :, 0].ravel(), y=xy[:, :, 1].ravel(), mode="lines+markers",
                name=f"G's push (median {median:.2g})", hoverinfo="skip",
                line=dict(color=COLORS["arrow"], width=1.2),
                marker=dict(symbol="arrow", angleref="previous", size=sizes, color=COLORS["arrow"]))


def samples_1d(frame: LineFrame, height: int = 420) -> go.Figure:
    """The GAN paper's picture: p_data, p_g, D(x) (or the raw critic) and the optimal D for this G."""
    grid = np.asarray(frame.grid, np.float32)
    chart = Chart(f"Densities and D at step {frame.step}", "density", x_title="x", height=height)
    chart.line(grid, np.asarray(frame.p_data, np.float32), "p_data", "#888", width=2, fill="tozeroy",
               fillcolor="rgba(120,120,120,0.25)")
    chart.line(grid, np.asarray(frame.p_g, np.float32), "p_g", COLORS["g"], width=3)
    probability = frame.d_prob
    if probability is not None:
        chart.line(grid, np.asarray(probability, np.float32), "D(x)", COLORS["d"], width=3, yaxis="y2")
        right: dict[str, Any] = dict(range=[-0.02, 1.02], title=dict(text="D(x)"), tickmode="array",
                                     tickvals=[0, 0.25, 0.5, 0.75, 1])  # else ticks follow the left grid
        chart.line(grid, np.asarray(frame.d_optimal, np.float32), "optimal D", COLORS["optimal"], width=2,
                   dash="dash", yaxis="y2")
    else:
        chart.line(grid, np.asarray(frame.scores, np.float32), "critic f(x)", COLORS["d"], width=3, yaxis="y2")
        right = dict(title=dict(text="critic f(x)"))
    chart.layout["yaxis2"] = dict(overlaying="y", side="right", showgrid=False, ticks="outside", showline=True,
                                  linecolor="#555", automargin=True, **right)  # room for its tick labels
    return chart.figure()


def image_grid(frame: Frame | None, scale: int = 2) -> np.ndarray | None:
    """The image frame as one uint8 picture (a row per class when conditional), upscaled for a projector."""
    if not isinstance(frame, ImageFrame):
        return None
    from gancore.render import image_grid as tiles
    picture = tiles(frame.images, frame.rows)
    return np.kron(picture, np.ones((scale, scale), np.uint8)) if scale > 1 else picture


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
            xs, y = downsample(xs, y)
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
