"""report.html: one run on one self-contained page a student can hand in and an instructor open anywhere.

The page holds the run's settings, its summary numbers (summary.json) and the figures of the Live tab, built
by the Live tab's own builders (charts.py) from the run directory read back as the recorded view reads it
(gancore.logdir, the final evaluation and picture included): one code path, so the report cannot drift from
what the dashboard shows. plotly.js is inlined once (no server, no CDN: it opens offline);
each figure's JSON sits in its own `<script type="application/json">` block, so a reader (or a test) can
take the numbers back out. Plotly only: the command line imports this module when it writes the report,
and the engine stays free of Streamlit and Plotly at import time.
"""

from __future__ import annotations

import base64
import html
import json
import math
from typing import Any, Mapping

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from gancore.config import Config
from gancore.measures import EVAL_MEASURES
from gancore.metrics import Snapshot
from gancore.records import ImageFrame
from gancore.render import frame_png

from . import charts, pictures

STYLE = """body{font-family:"Source Sans Pro",Arial,sans-serif;color:#222;margin:24px auto;max-width:1500px}
h1{font-size:26px}h2{font-size:20px;margin-top:28px}table{border-collapse:collapse;font-size:15px}
td,th{border-bottom:1px solid #ddd;padding:3px 14px 3px 0;text-align:left;vertical-align:top}
td{max-width:560px;overflow-wrap:anywhere}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:16px}
.tables{display:flex;gap:48px;flex-wrap:wrap}img{max-width:100%}"""
HEADLINE = {name for name, m in EVAL_MEASURES.items() if m.summary}  # summary.json's evaluation numbers
DRAW = ("for (const block of document.querySelectorAll('script[type=\"application/json\"][data-figure]')) {"
        "const fig = JSON.parse(block.textContent);"
        "Plotly.newPlot(block.dataset.figure, fig.data, fig.layout, {displaylogo: false, responsive: true});}")


def figures(snapshot: Snapshot) -> dict[str, go.Figure]:
    """The Live tab's figures, by the keys its page uses: the sample picture (unless the frame is an image
    grid, which is a picture, not a figure), the class histogram, then every time chart."""
    drawn: dict[str, go.Figure] = {}
    if not isinstance(snapshot.frame, ImageFrame):
        drawn["samples"] = pictures.samples(snapshot.frame)
    drawn["histogram"] = charts.class_histogram(snapshot)
    drawn.update(charts.time_charts(snapshot))
    return drawn


def report_html(snapshot: Snapshot, config: Config, summary: Mapping[str, Any], plotly_src: str | None = None) -> str:
    """The whole page as one string (the caller writes it atomically). plotly.js is inline (4.8 MB: the page
    opens anywhere, offline), or with `plotly_src` a script file beside it (a sweep's runs share one)."""
    plotly = f"<script src=\"{_e(plotly_src)}\"></script>" if plotly_src else f"<script>{get_plotlyjs()}</script>"
    frame = snapshot.frame
    title = f"gancore run: {config.dataset}, {config.loss}, seed {config.seed}"
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{_e(title)}</title>",
             f"<style>{STYLE}</style>{plotly}</head><body>",
             f"<h1>{_e(title)}</h1>",
             f"<p>{_e(str(summary.get('status', snapshot.status)))} after {summary.get('steps', snapshot.step)} "
             f"steps{_seconds(summary.get('seconds'))}. Written by <code>python -m gancore train</code>; "
             f"<code>gancore train --config config.json</code> reproduces it.</p>",
             "<div class=\"tables\">", _table("Summary", _summary_rows(summary, snapshot)),
             _table("Settings", [(k, _value(v)) for k, v in config.to_dict().items()]), "</div>",
             "<h2>Figures</h2><div class=\"grid\">"]
    if isinstance(frame, ImageFrame):
        png = base64.b64encode(frame_png(frame)).decode()
        parts.append(f"<div><img alt=\"samples at step {frame.step}\" src=\"data:image/png;base64,{png}\"></div>")
    for key, fig in figures(snapshot).items():
        parts.append(f"<div id=\"{key}\"></div><script type=\"application/json\" data-figure=\"{key}\">"
                     f"{_json(fig)}</script>")
    parts.append(f"</div><script>{DRAW}</script></body></html>\n")
    return "".join(parts)


def _summary_rows(summary: Mapping[str, Any], snapshot: Snapshot) -> list[tuple[str, str]]:
    """summary.json's entries, evaluation numbers under the dashboard's labels (the registry's)."""
    info = snapshot.info
    rows = []
    for name, value in summary.items():
        m = EVAL_MEASURES.get(name) if name in HEADLINE else None
        label = m.label_for(info).format(units=info.units if info else "modes") if m else name
        if m is not None and m.unit == "%" and isinstance(value, float):
            rows.append((label, f"{value:.1%}"))  # stored as a share in [0, 1], shown as the page shows it
        else:
            rows.append((label, _value(value)))
    return rows


def _table(caption: str, rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f"<div><h2>{_e(caption)}</h2><table>{body}</table></div>"


def _value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else "—"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def _seconds(seconds: Any) -> str:
    return f" in {seconds:.1f} s" if isinstance(seconds, (int, float)) else ""


def _json(fig: go.Figure) -> str:
    """The figure as JSON that cannot end its <script> block early."""
    return fig.to_json().replace("</", "<\\/")


def _e(text: str) -> str:
    return html.escape(text, quote=True)
