"""The sample pictures: a 2-D frame (D's field, real and fake points, the generator's push arrows), a 1-D
frame (densities, D(x) and the optimal D) and image grids. Pure functions of a frame.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np
import plotly.graph_objects as go

from gancore.records import Frame, ImageFrame, LineFrame, PlaneFrame

from .figure import COLORS, Chart

FIELD_SCALE = [[0.0, "#b9a3dd"], [0.5, "#ffffff"], [1.0, "#9fd49a"]]  # fake side purple, real side green
ARROW_UNIT = 0.15  # a push of norm 0.1 is 1.5% of the view wide, 1e-3 is invisible: vanishing gradients show
ARROW_MAX = 0.10  # longer arrows are capped at 10% of the view (the median true size is in the legend)
MAX_ARROWS = 128  # one fake point in four gets an arrow: 512 arrows merge into a band
MAX_REAL_POINTS = 256
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
    sizes = np.tile(np.array([0, 7, 0], np.uint8), n)  # a byte each on the wire, not four
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
