"""The sample picture as a file a user can put in a report: a PNG with a title, axes and a legend.

The command line saves it as samples.png at the end of a run and the dashboard's Share & export tab offers
the same picture for download: both call `frame_png` (one code path for the file's content). The Live tab's
interactive picture is Plotly (dashboard/charts.py); a file needs a static renderer, and this one is
matplotlib on its Agg backend, which draws in this process with no display and no browser. (Plotly's own
static export, kaleido, drives a Chrome that a headless training box may lack.) matplotlib is imported on
first use, so the engine and the command line start without paying for it.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from .records import Frame, ImageFrame, LineFrame, PlaneFrame

COLOURS = {"real": "#3b3b3b", "fake": "#d62728", "d": "#1f5fbf", "optimal": "#2ca02c", "data": "#888888"}
FIELD_COLOURS = ("#b9a3dd", "#ffffff", "#9fd49a")  # D's field: fake side purple, real side green
SIZE_IN = (7.2, 6.0)  # inches at DPI: 1080x900 pixels, sharp in a printed report
DPI = 150


def image_grid(images: np.ndarray, rows: int | None = None) -> np.ndarray:
    """(n, 28, 28) uint8 -> one uint8 picture of `rows` rows (conditional grids: a row per class), the
    tiles 2 px apart on white."""
    n = len(images)
    rows = rows or int(np.ceil(np.sqrt(n)))
    cols = int(np.ceil(n / rows))
    h, w = images.shape[-2:]
    canvas = np.full((rows * (h + 2) + 2, cols * (w + 2) + 2), 255, np.uint8)
    for i, img in enumerate(np.asarray(images, np.uint8).reshape(n, h, w)):
        r, c = divmod(i, cols)
        canvas[2 + r * (h + 2): 2 + r * (h + 2) + h, 2 + c * (w + 2): 2 + c * (w + 2) + w] = img
    return canvas


def frame_png(frame: Frame) -> bytes:
    """The picture of an evaluator frame (gancore.records) as PNG bytes."""
    figure = frame_figure(frame)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def frame_figure(frame: Frame) -> Any:
    """A matplotlib Figure (not attached to pyplot, so nothing global is kept): an image grid for 28x28 data,
    the 2-D plane with D's field, or the 1-D densities with D."""
    from matplotlib.figure import Figure  # Agg is the default canvas of a bare Figure: no display needed
    figure = Figure(figsize=SIZE_IN, layout="constrained")
    axes = figure.add_subplot()
    if isinstance(frame, ImageFrame):
        _images(axes, frame)
    elif isinstance(frame, PlaneFrame):
        _plane(figure, axes, frame)
    elif isinstance(frame, LineFrame):
        _line(axes, frame)
    else:
        raise TypeError(f"no picture for a {type(frame).__name__}")
    return figure


def _images(axes: Any, frame: ImageFrame) -> None:
    grid = image_grid(frame.images, frame.rows)
    axes.imshow(grid, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    axes.set_title(f"Generated samples at step {frame.step}")
    axes.set_xticks([])
    if frame.rows:  # a conditional grid: row k holds class k
        tile = grid.shape[0] / frame.rows
        axes.set_yticks([(k + 0.5) * tile for k in range(frame.rows)], [str(k) for k in range(frame.rows)])
        axes.set_ylabel("class (one row each)")
        axes.set_xlabel("generated 28x28 samples, fixed noise")
    else:
        axes.set_yticks([])
        axes.set_xlabel(f"{len(frame.images)} generated 28x28 samples, fixed noise")


def _plane(figure: Any, axes: Any, frame: PlaneFrame) -> None:
    """Real and fake points over D's field. The view is the data's box; fake points outside it are counted
    in the legend rather than drawn off the axes."""
    from matplotlib.colors import LinearSegmentedColormap
    bounds = np.asarray(frame.bounds, np.float64)
    scores = np.asarray(frame.scores, np.float64)
    if frame.probabilities:
        z, low, high, what = 0.5 * (1 + np.tanh(0.5 * scores)), 0.0, 1.0, "D(x)"
    else:
        centre = float(np.median(scores))
        spread = float(np.max(np.abs(scores - centre))) or 1.0
        z, low, high, what = scores, centre - spread, centre + spread, "critic f(x)"
    field = axes.pcolormesh(np.asarray(frame.xs), np.asarray(frame.ys), z, shading="nearest", vmin=low,
                            vmax=high, cmap=LinearSegmentedColormap.from_list("field", FIELD_COLOURS))
    figure.colorbar(field, ax=axes, label=what, shrink=0.8)
    real, fake = np.asarray(frame.real), np.asarray(frame.fake)
    outside = int(np.sum(np.any((fake < bounds[:, 0]) | (fake > bounds[:, 1]), axis=1)))
    axes.scatter(real[:, 0], real[:, 1], s=8, c=COLOURS["real"], alpha=0.6, label="real data", linewidths=0)
    axes.scatter(fake[:, 0], fake[:, 1], s=12, c=COLOURS["fake"], label="generated G(z)"
                 + (f" ({outside} of {len(fake)} outside this view)" if outside else ""),
                 edgecolors="white", linewidths=0.4)
    axes.set_xlim(*bounds[0])
    axes.set_ylim(*bounds[1])
    axes.set_aspect("equal")
    axes.set_xlabel("x₁")
    axes.set_ylabel("x₂")
    axes.set_title(f"Samples and D's field at step {frame.step}")
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncols=2, frameon=False)


def _line(axes: Any, frame: LineFrame) -> None:
    """The GAN paper's picture: p_data, p_g, and D(x) with the optimal D for this G (or the raw critic)."""
    grid = np.asarray(frame.grid)
    axes.fill_between(grid, np.asarray(frame.p_data), color=COLOURS["data"], alpha=0.3, label="p_data (real)")
    axes.plot(grid, np.asarray(frame.p_g), color=COLOURS["fake"], linewidth=2.5, label="p_g (generated)")
    axes.set_xlim(grid[0], grid[-1])
    axes.set_ylim(bottom=0)
    axes.set_xlabel("x")
    axes.set_ylabel("density")
    right = axes.twinx()
    if frame.d_prob is not None:
        right.plot(grid, np.asarray(frame.d_prob), color=COLOURS["d"], linewidth=2.5, label="D(x)")
        right.plot(grid, np.asarray(frame.d_optimal), color=COLOURS["optimal"], linewidth=2, linestyle="--",
                   label="optimal D for this G")
        right.set_ylim(-0.02, 1.02)
        right.set_ylabel("D(x)")
    else:
        right.plot(grid, np.asarray(frame.scores), color=COLOURS["d"], linewidth=2.5, label="critic f(x)")
        right.set_ylabel("critic f(x)")
    axes.set_title(f"Densities and D at step {frame.step}")
    handles = [h for a in (axes, right) for h in a.get_legend_handles_labels()[0]]
    axes.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2, frameon=False)
