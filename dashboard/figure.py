"""The figure every chart is built on: a light, large-font style and `Chart`, which keeps a figure readable
on a projector (robust y-ranges, x-axes that end at the data, live-change markers with labels in free rows,
legends under the plot) and small on the wire (downsampled series, float32 arrays, no template).

Pure Plotly: nothing here touches Streamlit, so every rule is unit-tested on the figure objects.
"""

from __future__ import annotations

import base64
import math
import threading
from typing import Any, Iterable, Sequence

import numpy as np
import plotly.graph_objects as go
from _plotly_utils.utils import is_skipped_key, plotlyjsShortTypes, to_typed_array_spec

from gancore.metrics import Event

MAX_POINTS = 500  # per trace, however long the run: 250 min-max buckets, about one per pixel of a chart
MAX_MARKERS = 60  # most recent events drawn as vertical lines
MAX_LABELS = 12  # most recent events that may also get a text label (older ones are lines only)
LABEL_ROWS = 4  # labels stack in up to 4 rows from the top of the plot; a label with no free row is left out
LABEL_PLOT_PX = 320  # the narrowest plot a label's width is judged against (a presenter column at 1600 px)
LABEL_CHAR_PX = 7.5  # width of one character of a 13 px label, a little generous
ROBUST_PERCENTILES = (1.0, 99.0)  # a linear y-axis spans these percentiles of what is drawn ...
OUTLIER_SPANS = 2.0  # ... once a value lies more than 2 such spans beyond them (else Plotly's autorange)
ROBUST_PAD = 0.1  # the kept span is padded by 10% on each side
EARLY_SHARE = 0.1  # the first 10% of the steps are always drawn whole (and left out of the percentiles)
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
_TEMPLATE = go.layout.Template()  # no default template: Streamlit's or Plotly's costs ~3-7 kB a figure
_AXIS = dict(gridcolor="#e3e3e3", zeroline=False, showline=True, linecolor="#555", ticks="outside",
             automargin=True)  # nested dicts only: "title_font"-style shortcuts exist in Python, not plotly.js


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


_BUILDING = threading.RLock()


class DrawnFigure(go.Figure):
    """A figure built once and drawn by every session that watches the run, and built only when read.

    `st.plotly_chart` needs nothing but `to_dict()`; Plotly's object tree costs ~7 ms a figure to build and
    its `to_dict()` (a deep copy, then every array to base64) ~0.5 ms more, most of what a new snapshot
    version cost the server (bench/viewers.py). So a figure made from plain dicts keeps them, `to_dict()`
    encodes them once, straight, and the object tree is built the first time anything else is read (a
    test's `fig.data`, a copy with a cursor line). Not changed after it is drawn."""

    _drawn: dict | None = None
    _spec: tuple[Any, Any, dict] | None = None

    def __init__(self, data: Any = None, layout: Any = None, **kwargs: Any) -> None:
        if isinstance(data, list) and isinstance(layout, dict) and not kwargs.get("_validate", True):
            object.__setattr__(self, "_spec", (data, layout, kwargs))
        else:
            super().__init__(data, layout, **kwargs)

    def __getattr__(self, name: str) -> Any:
        """Only reached for an attribute this object lacks: while unbuilt, Plotly's own state. Sessions
        share the figure, so the first to read it builds it under a lock and the others wait for it."""
        if name.startswith("__"):
            raise AttributeError(name)
        with _BUILDING:  # re-entrant: building reads attributes that are not set yet
            spec = self.__dict__.get("_spec")
            if spec is not None:
                object.__setattr__(self, "_spec", None)
                super().__init__(spec[0], spec[1], **spec[2])
        return object.__getattribute__(self, name)

    def to_dict(self) -> dict:
        if self._drawn is None:
            spec = self._spec
            drawn = super().to_dict() if spec is None else {"data": _encoded(spec[0]), "layout": _encoded(spec[1])}
            object.__setattr__(self, "_drawn", drawn)
        return self._drawn


def _encoded(value: Any, key: str = "") -> Any:
    """What Plotly's `to_dict()` makes of a spec, in one pass: dicts and lists copied, numpy arrays as
    base64 typed arrays (except under the keys Plotly leaves alone), Plotly objects as their JSON dicts.
    Plotly's own walker visits every value of every event line, ~4x slower here."""
    if isinstance(value, dict):
        return {k: _encoded(v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encoded(v) for v in value]
    if isinstance(value, np.ndarray):
        return value if is_skipped_key(key) else _typed(value)
    if hasattr(value, "to_plotly_json"):
        return _encoded(value.to_plotly_json(), key)
    return value


def _typed(array: np.ndarray) -> Any:
    """A typed array as plotly.js reads it; Plotly's converter (int64 narrowed, empty arrays kept) for the
    rest, through its dataframe layer, costs ~0.3 ms an array."""
    short = plotlyjsShortTypes.get(str(array.dtype))
    if short is None or array.size == 0:
        return to_typed_array_spec(array)
    typed = {"dtype": short, "bdata": base64.b64encode(np.ascontiguousarray(array)).decode("ascii")}
    if array.ndim > 1:
        typed["shape"] = str(array.shape)[1:-1]
    return typed


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
        x, y = downsample(x, y)  # every line, evaluation lines too (up to MAX_EVALS points each)
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
        # one x alone (the evaluation at step 0 of a fresh run): from it, one unit on, never negative steps
        self.layout["xaxis"]["range"] = [first, last if last > first else first + 1]

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

    def figure(self) -> DrawnFigure:
        layout = dict(self.layout)
        if not self.data:  # a note alone: ticks of an empty axis (0 to 6) would read as data
            for axis in ("xaxis", "yaxis"):
                layout[axis] = dict(layout[axis], visible=False)
        if self.shapes:
            layout["shapes"] = self.shapes
        if self.annotations:
            layout["annotations"] = self.annotations
        return DrawnFigure(data=self.data, layout=layout, _validate=VALIDATE)


VALIDATE = False  # tests turn Plotly's validation on, so a misspelt property fails there


def _finite(arrays: Iterable[Any]) -> np.ndarray:
    """The finite values of several arrays, as one float64 array."""
    values = [np.asarray(a, np.float64).ravel() for a in arrays]
    values = np.concatenate(values) if values else np.empty(0)
    return values[np.isfinite(values)]
