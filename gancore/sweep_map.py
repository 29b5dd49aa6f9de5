"""sweep.png: the sweep's answer in one picture, drawn with Pillow (the engine imports no plotting library).

A heatmap over the first two grid axes of one outcome, the median over seeds with the spread as
"median (min-max)", and each cell's dominant diagnosis; further axes become small multiples. What a cell
says (`summarise_cells`, `cell_text`), where it sits (`layout`) and the colour scale (`scale`) are shared
with the dashboard's Sweep view, which draws the same map with Plotly.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any, Sequence

from PIL import Image, ImageDraw, ImageFont

from .evaluate.detect_evaluations import MIN_HQ_FRACTION

WIDTH = 1600
# a few stops of viridis: readable on a projector and in grey
STOPS = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))
LABELS = {"divergence": "divergence", "mode_collapse": "collapse", "mode_hopping": "mode hopping",
          "vanishing_gradients": "vanishing gradient", "d_overpowering": "D overpowering",
          "critic_stalled": "critic stalled"}
NOT_THERE = "not at the data yet"
PRIORITY = ("error", "divergence", "collapse", "vanishing gradient", "D overpowering", "mode hopping",
            "critic stalled", NOT_THERE, "balanced")


def run_label(row: dict[str, Any]) -> str:
    """One word for what a run ended with: its status if it failed, else its most severe diagnosis; with
    none, "balanced" only once its samples reached the data (the detectors' own MIN_HQ_FRACTION of sharp
    samples): a generator still far away has no diagnosis either, and is not a success."""
    if row.get("status") == "diverged":
        return "divergence"
    if row.get("status") not in ("completed", None):
        return "error"
    kinds = [k for k in str(row.get("diagnosis_kinds") or "").split(";") if k]
    found = [LABELS.get(k, k.replace("_", " ")) for k in kinds]
    if found:
        return min(found, key=_rank)
    hq = _number(row.get("hq_fraction"))
    return NOT_THERE if hq is not None and hq < MIN_HQ_FRACTION else "balanced"


def dominant(labels: Sequence[str]) -> str:
    """The most frequent label over seeds; a tie goes to the more severe one."""
    counts = Counter(labels)
    return min(counts, key=lambda label: (-counts[label], _rank(label))) if counts else ""


def group_rows(rows: list[dict[str, Any]], axes: list[str]) -> dict[tuple, list[dict[str, Any]]]:
    """The rows of each grid cell (tuple of axis values as text), in the order given."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(str(row[a]) for a in axes), []).append(row)
    return groups


def summarise_cells(rows: list[dict[str, Any]], axes: list[str], outcome: str) -> dict[tuple, dict[str, Any]]:
    """Per grid cell (tuple of axis values as text): median, min, max of the outcome, runs, dominant label."""
    out = {}
    for key, group in group_rows(rows, axes).items():
        values = sorted(v for v in (_number(r.get(outcome)) for r in group) if v is not None)
        out[key] = {"median": _median(values), "min": values[0] if values else None,
                    "max": values[-1] if values else None, "runs": len(group),
                    "label": dominant([run_label(r) for r in group])}
    return out


@dataclass(frozen=True)
class Layout:
    """Where each cell of the map sits: rows are the first axis's values, columns the second's, and one
    panel per combination of the further axes (small multiples)."""
    names: tuple[str, ...]  # the grid's axes, in grid order
    y_name: str
    ys: tuple[str, ...]
    x_name: str
    xs: tuple[str, ...]
    rest: tuple[str, ...]  # the further axes' names
    panels: tuple[tuple[str, ...], ...]  # their values, one tuple per panel ((): a single panel)

    def key(self, y: str, x: str, panel: tuple[str, ...]) -> tuple[str, ...]:
        """The cell's key in summarise_cells' result."""
        return (y, x, *panel)[:len(self.names)]

    def title(self, panel: tuple[str, ...]) -> str:
        return ", ".join(f"{n}={v}" for n, v in zip(self.rest, panel))

    @property
    def columns(self) -> int:
        """Panels side by side: two when each is wide (more than three columns of cells), else three."""
        return min(len(self.panels), 2 if len(self.xs) > 3 else 3)


def layout(axes: list[tuple[str, list[str]]]) -> Layout:
    """The layout of `axes` ((name, values as text) in grid order); one axis is a single row."""
    names = tuple(a for a, _ in axes)
    if len(axes) == 1:
        axes = [*axes, ("", [""])]
    (y_name, ys), (x_name, xs), rest = axes[0], axes[1], axes[2:]
    panels = tuple(itertools.product(*(v for _, v in rest))) or ((),)
    return Layout(names, y_name, tuple(ys), x_name, tuple(xs), tuple(n for n, _ in rest), panels)


def scale(stats: dict[tuple, dict[str, Any]]) -> tuple[float, float]:
    """The colour scale's ends: from zero (no modes covered is the darkest colour, not the mid-point) to the
    largest median."""
    known = [s["median"] for s in stats.values() if s["median"] is not None]
    lo = min([0.0, *known])
    hi = max(known) if known and max(known) > lo else lo + 1.0
    return lo, hi


def cell_text(stat: dict[str, Any]) -> str:
    """A cell's number: "median (min-max)" over its seeds."""
    median = stat["median"]
    return "no value" if median is None else f"{_fmt(median)} ({_fmt(stat['min'])}-{_fmt(stat['max'])})"


def subtitle(outcome: str) -> str:
    return f"{outcome}: median over seeds (min-max); the word is the dominant diagnosis"


def draw(rows: list[dict[str, Any]], axes: list[tuple[str, list[str]]], outcome: str, title: str) -> Image.Image:
    """The map of `rows` (sweep.csv rows) over `axes` ((name, values as text) in grid order)."""
    grid = layout(axes)
    stats = summarise_cells(rows, list(grid.names), outcome)
    lo, hi = scale(stats)
    ys, xs, panels = grid.ys, grid.xs, grid.panels
    columns = grid.columns
    font, small, big = (ImageFont.load_default(size=s) for s in (22, 18, 30))
    left, top, gap = 190, 120, 40
    panel_w = (WIDTH - left - 40 - gap * (columns - 1)) // columns
    cell_w = panel_w // len(xs)
    cell_h = max(70, min(130, cell_w * 2 // 3))
    panel_h = cell_h * len(ys) + 90
    height = top + panel_h * math.ceil(len(panels) / columns) + 110
    image = Image.new("RGB", (WIDTH, height), "white")
    pen = ImageDraw.Draw(image)
    pen.text((WIDTH // 2, 40), title, fill="black", font=big, anchor="mm")
    pen.text((WIDTH // 2, 80), subtitle(outcome), fill=(60, 60, 60), font=small, anchor="mm")
    for p, panel in enumerate(panels):
        x0 = left + (p % columns) * (panel_w + gap)
        y0 = top + (p // columns) * panel_h
        if grid.rest:
            pen.text((x0 + panel_w // 2, y0 + 12), grid.title(panel), fill="black", font=font, anchor="mm")
        y0 += 30
        for (i, y), (j, x) in itertools.product(enumerate(ys), enumerate(xs)):
            box = (x0 + j * cell_w, y0 + i * cell_h, x0 + (j + 1) * cell_w - 2, y0 + (i + 1) * cell_h - 2)
            _cell(pen, box, stats.get(grid.key(y, x, panel)), lo, hi, font, small)
        for j, x in enumerate(xs):
            pen.text((x0 + j * cell_w + cell_w // 2, y0 + len(ys) * cell_h + 16), x, fill="black", font=font,
                     anchor="mm")
        pen.text((x0 + panel_w // 2, y0 + len(ys) * cell_h + 46), grid.x_name, fill="black", font=font,
                 anchor="mm")
        if p % columns == 0:
            for i, y in enumerate(ys):
                pen.text((x0 - 12, y0 + i * cell_h + cell_h // 2), y, fill="black", font=font, anchor="rm")
            pen.text((x0 - 12, y0 - 14), grid.y_name, fill="black", font=font, anchor="rm")
    _colour_bar(pen, (left, height - 60, left + 400, height - 36), lo, hi, outcome, small)
    return image


def _cell(pen: ImageDraw.ImageDraw, box: tuple, stat: dict | None, lo: float, hi: float, font, small) -> None:
    if stat is None:  # not run yet
        pen.rectangle(box, fill=(235, 235, 235))
        pen.text(_centre(box), "pending", fill=(120, 120, 120), font=small, anchor="mm")
        return
    median = stat["median"]
    colour = (190, 190, 190) if median is None else colour_of(median, lo, hi)
    pen.rectangle(box, fill=colour)
    ink = text_colour(colour)
    cx, cy = _centre(box)
    pen.text((cx, cy - 14), cell_text(stat), fill=ink, font=font, anchor="mm")
    pen.text((cx, cy + 16), stat["label"], fill=ink, font=small, anchor="mm")


def _colour_bar(pen: ImageDraw.ImageDraw, box: tuple, lo: float, hi: float, outcome: str, font) -> None:
    x0, y0, x1, y1 = box
    for x in range(x0, x1):
        pen.line((x, y0, x, y1), fill=_colour((x - x0) / (x1 - x0)))
    pen.text((x0 - 10, (y0 + y1) // 2), _fmt(lo), fill="black", font=font, anchor="rm")
    pen.text((x1 + 10, (y0 + y1) // 2), f"{_fmt(hi)}  {outcome}", fill="black", font=font, anchor="lm")


def text_colour(colour: tuple[int, int, int]) -> str:
    """Black on a light cell, white on a dark one."""
    return "black" if sum(c * w for c, w in zip(colour, (0.3, 0.59, 0.11))) > 140 else "white"


def colour_of(value: float, lo: float, hi: float) -> tuple[int, int, int]:
    """The colour of `value` on the scale lo..hi."""
    return _colour((value - lo) / (hi - lo) if hi > lo else 0.5)


def _colour(t: float) -> tuple[int, int, int]:
    t = min(max(t, 0.0), 1.0) * (len(STOPS) - 1)
    i = min(int(t), len(STOPS) - 2)
    a, b = STOPS[i], STOPS[i + 1]
    return tuple(round(u + (v - u) * (t - i)) for u, v in zip(a, b))


def _centre(box: tuple) -> tuple[int, int]:
    return (box[0] + box[2]) // 2, (box[1] + box[3]) // 2


def _rank(label: str) -> int:
    return PRIORITY.index(label) if label in PRIORITY else len(PRIORITY)


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    n = len(values)
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2


def _number(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"
