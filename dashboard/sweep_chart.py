"""The sweep map as an interactive Plotly figure: the same cells, numbers, words and colours as sweep.png.

What a cell says, where it sits and how it is coloured come from gancore.sweep_map (summarise_cells,
layout, scale, cell_text, colour_of); this module only places them in Plotly. Each panel is a heatmap (the
colour) under a scatter of one marker per cell that carries the text and the cell's index (`customdata`):
a click on a cell selects that marker, which is how the page learns which cell was clicked.
"""

from __future__ import annotations

import math
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gancore.sweep_map import STOPS, Layout, cell_text, colour_of, group_rows, layout, scale, subtitle, \
    summarise_cells, text_colour
from gancore.sweep_read import SweepState

PENDING = "#ebebeb"  # a cell with no finished run yet (sweep.png's grey)
COLOURSCALE = [[i / (len(STOPS) - 1), f"rgb{stop}"] for i, stop in enumerate(STOPS)]


def cell_keys(grid: Layout) -> list[tuple[str, ...]]:
    """Every cell's key, panel by panel, row by row: a marker's `customdata` is its index here."""
    return [grid.key(y, x, panel) for panel in grid.panels for y in grid.ys for x in grid.xs]


def figure(state: SweepState) -> go.Figure:
    """The map of `state`: the median of its outcome per cell with the spread and the dominant diagnosis;
    a cell still without a finished run says "pending" (or "running")."""
    grid = layout(state.axes)
    stats = summarise_cells(state.rows, list(grid.names), state.outcome)
    running = _running_cells(state, grid)
    lo, hi = scale(stats)
    cols = grid.columns
    rows = math.ceil(len(grid.panels) / cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[grid.title(p) for p in grid.panels] if grid.rest
                        else None, horizontal_spacing=0.08, vertical_spacing=0.12 if rows > 1 else 0.0)
    index = 0
    for p, panel in enumerate(grid.panels):
        row, col = p // cols + 1, p % cols + 1
        z, xs, ys, texts, inks, hovers, ids = [], [], [], [], [], [], []
        for y in grid.ys:
            z.append([])
            for x in grid.xs:
                stat = stats.get(grid.key(y, x, panel))
                z[-1].append(None if stat is None else stat["median"])
                text, ink, hover = _describe(stat, grid.key(y, x, panel) in running, lo, hi)
                xs.append(x), ys.append(y), texts.append(text), inks.append(ink), hovers.append(hover)
                ids.append(index)
                index += 1
        fig.add_trace(go.Heatmap(z=z, x=list(grid.xs), y=list(grid.ys), zmin=lo, zmax=hi, colorscale=COLOURSCALE,
                                 showscale=p == 0, hoverinfo="skip", xgap=2, ygap=2,
                                 colorbar=dict(title=dict(text=state.outcome, side="right"))), row=row, col=col)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="markers+text", text=texts, customdata=ids, hovertext=hovers,
                                 hovertemplate="%{hovertext}<extra></extra>", textfont=dict(color=inks, size=13),
                                 marker=dict(symbol="square", size=40, opacity=0), showlegend=False),
                      row=row, col=col)
        fig.update_xaxes(type="category", title_text=grid.x_name, showgrid=False, row=row, col=col)
        fig.update_yaxes(type="category", title_text=grid.y_name if col == 1 else None, autorange="reversed",
                         showgrid=False, row=row, col=col)
    fig.update_layout(title=dict(text=f"Sweep: {state.title}<br><sup>{subtitle(state.outcome)}</sup>"),
                      height=max(360, 140 + rows * (90 * len(grid.ys) + 60)), plot_bgcolor=PENDING,
                      margin=dict(l=70, r=30, t=90, b=50), clickmode="event+select", dragmode=False)
    return fig


def _describe(stat: dict[str, Any] | None, running: bool, lo: float, hi: float) -> tuple[str, str, str]:
    """(text on the cell, its colour, hover text)."""
    if stat is None:
        word = "running" if running else "pending"
        return word, "#777", f"no finished run yet ({word})"
    ink = "black" if stat["median"] is None else text_colour(colour_of(stat["median"], lo, hi))
    runs = f"{stat['runs']} run{'s' if stat['runs'] != 1 else ''}"
    return f"{cell_text(stat)}<br>{stat['label']}", ink, f"{cell_text(stat)}, {stat['label']}, {runs} (click to list)"


def _running_cells(state: SweepState, grid: Layout) -> set[tuple[str, ...]]:
    return set(group_rows(state.running, list(grid.names)))
