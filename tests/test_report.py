"""report.html of a real (tiny) command-line run: the settings, the summary numbers and one figure per Live
chart with the run's own data, drawn offline (plotly.js inline, nothing fetched)."""

from __future__ import annotations

import base64
import csv
import json
import re

import numpy as np
import pytest

from gancore.__main__ import main
from gancore.measures import CHART_GROUPS

pytestmark = pytest.mark.slow  # a real run and its final evaluation: ~3 s

SMALL = ["--width", "32", "--depth", "2", "--latent-dim", "4", "--batch-size", "64", "--device", "cpu"]
FIGURE = re.compile(r'<script type="application/json" data-figure="([^"]+)">(.*?)</script>', re.S)


def _array(value) -> np.ndarray:
    """A trace's array as Plotly writes it: a list, or {"dtype", "bdata"} (base64 of the raw values)."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), np.dtype(value["dtype"]))
    return np.asarray(value, np.float64)


def _trace(figure: dict, name: str) -> dict:
    return next(t for t in figure["data"] if t.get("name") == name)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "run"
    assert main(["train", "--steps", "120", "--eval-every", "50", "--seed", "4", "--out", str(out),
                 "--no-progress", *SMALL]) == 0
    return out


@pytest.fixture(scope="module")
def page(run_dir) -> str:
    return (run_dir / "report.html").read_text()


def test_report_has_every_setting_and_the_summary_numbers(run_dir, page) -> None:
    rows = dict(re.findall(r"<tr><th>([^<]*)</th><td>([^<]*)</td></tr>", page))
    config = json.loads((run_dir / "config.json").read_text())
    summary = json.loads((run_dir / "summary.json").read_text())
    assert rows["batch_size"] == "64" and rows["seed"] == "4" and rows["lr_g"] == str(config["lr_g"])
    assert all(name in rows for name in config)
    assert rows["steps"] == "120" and rows["status"] == "completed"
    assert rows["exact W1"] == f"{summary['w1_exact']:.4g}" and rows["modes hit"] == str(summary["modes_covered"])
    assert rows["high quality"] == f"{summary['hq_fraction']:.1%}"  # a share, shown as a percentage
    assert rows["seconds"] == f"{summary['seconds']:.4g}"  # the run's wall time, not an evaluation's


def test_report_draws_each_live_chart_from_the_run_data(run_dir, page) -> None:
    figures = {key: json.loads(text) for key, text in FIGURE.findall(page)}
    groups = [g.key for g in CHART_GROUPS.values() if g.key in ("losses", "probabilities", "critic", "gradients")]
    assert set(figures) == {"samples", "histogram", *groups, "coverage", "heatmap"}
    with open(run_dir / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    losses = figures["losses"]
    d_loss = _trace(losses, "D loss")
    assert list(_array(d_loss["x"])) == list(range(1, 121))  # every logged step (120 < the downsampling cap)
    np.testing.assert_allclose(_array(d_loss["y"]), [float(r["loss_d"]) for r in rows], rtol=1e-4)
    np.testing.assert_allclose(_array(_trace(losses, "G loss")["y"]), [float(r["loss_g"]) for r in rows], rtol=1e-4)
    summary = json.loads((run_dir / "summary.json").read_text())
    histogram = figures["histogram"]
    assert histogram["layout"]["title"]["text"].endswith("(step 120)")  # the final evaluation, as in summary.json
    assert list(_array(histogram["data"][0]["y"])) == summary["class_histogram"]
    w1 = _trace(figures["critic"], "exact W1")
    assert list(_array(w1["x"])) == [0, 50, 100, 120]  # an evaluation at the start, every 50 steps, the end
    assert float(_array(w1["y"])[-1]) == pytest.approx(summary["w1_exact"], rel=1e-5)
    assert figures["samples"]["layout"]["title"]["text"] == "Samples at step 120"
    assert len(_array(_trace(figures["samples"], "fake G(z)")["x"])) == 512


def test_report_opens_offline(page) -> None:
    scripts = re.findall(r"<script[^>]*>", page)
    assert not [s for s in scripts if "src=" in s]  # nothing fetched: no CDN, no server
    assert "http" not in "".join(re.findall(r"<(?:link|img)[^>]*>", page))
    assert len(page) > 3_000_000 and "Plotly.newPlot" in page  # plotly.js itself is inline
