"""Viewers share one snapshot and one set of figures per run and version (the classroom's cost model)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard.runs import Entry
from dashboard.shared import SHARED, Shared
from gancore import Config, Evaluator, Run
from gancore.metrics import Event

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")


def test_one_snapshot_copy_and_one_figure_per_version_whoever_asks() -> None:
    run = Run(Config(dataset="ring", width=8, depth=1, latent_dim=2, batch_size=8, device="cpu"),
              hooks=[Evaluator(frames=False)])
    try:
        run.wait(10)
        shared, entry = Shared(limit=3), Entry("t", run)
        first = shared.snapshot(entry)
        assert shared.snapshot(entry) is first  # nothing changed: no copy
        built = []
        for _ in range(5):  # five viewers on one tick
            shared.figure(("losses", "t", first.version), lambda: built.append(1) or object())
        assert len(built) == 1 and shared.builds == 1
        run.step("iteration", 3)
        run.wait(10)
        second = shared.snapshot(entry)
        assert second.version > first.version and second.step == 3
        for key in range(4):  # a bounded cache: the oldest entry goes first
            shared.figure(("x", key), object)
        assert shared.builds == 5
        shared.figure(("x", 0), object)
        assert shared.builds == 6  # ("x", 0) had been evicted
    finally:
        run.stop()


def test_a_watcher_page_builds_no_figure_the_owner_page_built(monkeypatch) -> None:
    monkeypatch.setenv("GANCORE_REFRESH", "2")
    st.cache_resource.clear()
    try:
        owner = AppTest.from_file(APP, default_timeout=60)
        owner.run()
        from dashboard.runs import registry
        run = registry().get(owner.query_params["run"]).run
        deadline = time.monotonic() + 30
        while run.snapshot().evaluation is None or run.snapshot().frame is None:  # the pre-Start hooks ran
            assert time.monotonic() < deadline
            time.sleep(0.05)
        owner.run()
        before = SHARED.builds
        watcher = AppTest.from_file(APP, default_timeout=60)
        watcher.query_params["run"] = owner.query_params["run"]
        owner.run()  # the same version as its first run: cached
        assert SHARED.builds == before
        watcher.run()
        assert not watcher.exception and SHARED.builds == before
        assert len(watcher.get("plotly_chart")) == len(owner.get("plotly_chart"))
    finally:
        st.cache_resource.clear()


def test_a_shared_figure_is_encoded_for_the_browser_once_as_plotly_would() -> None:
    """`st.plotly_chart` calls `to_dict()` per draw; a chart's figure encodes its plain dicts at the first
    draw, without building Plotly's object tree, and hands the same dict to every later viewer. Once read
    (which builds the tree) Plotly's own `to_dict()` gives the same JSON: every array kind the charts send
    (float32 lines, an int64 axis Plotly narrows, a 2-D heatmap, an empty trace, a range left as a list)."""
    import plotly.graph_objects as go
    import plotly.io as pio
    import plotly.tools

    from dashboard import charts, figure
    from snapshot_support import make_snapshot

    chart = figure.Chart("t", "y")
    chart.line(np.arange(5.0), np.arange(5.0) ** 2, "a", "#000")
    chart.add("heatmap", x=np.arange(3, dtype=np.float32), y=np.arange(2), z=np.eye(2, 3, dtype=np.float32))
    chart.add("scatter", x=np.empty(0, np.float32), y=np.empty(0, np.float32))
    chart.layout["yaxis"]["range"] = np.array([0.0, 20.0])
    chart.events([Event(2, "lr_d", 0.001, 0.0002)])
    for fig in (charts.losses(make_snapshot(300)), chart.figure()):
        first = plotly.tools.return_figure_from_figure_or_data(fig, validate_figure=True)
        assert plotly.tools.return_figure_from_figure_or_data(fig, validate_figure=True) is first
        assert "_data_objs" not in vars(fig)  # drawing did not build Plotly's objects
        assert fig.data[0].name in ("D loss", "a")  # reading does
        assert json.loads(pio.to_json(first, validate=False)) == json.loads(
            pio.to_json(go.Figure.to_dict(fig), validate=False))
    assert first["data"][1]["y"] == {"dtype": "i1", "bdata": "AAE="} and first["data"][1]["z"]["shape"] == "2, 3"


def test_a_viewer_takes_the_held_copy_while_it_is_younger_than_asked_so_a_class_meets_on_one_version() -> None:
    """Training moves the version every few ms: out-of-phase viewers each asking the engine would each
    build their own figures. Within `fresh_within` of the last ask the held copy comes back unasked; after
    it, or for a session that controls the run (0), the engine's newest."""
    run = Run(Config(dataset="ring", width=8, depth=1, latent_dim=2, batch_size=8, device="cpu"),
              hooks=[Evaluator(frames=False)])
    try:
        run.wait(10)
        shared, entry = Shared(), Entry("t", run)
        first = shared.snapshot(entry)
        run.step("iteration", 2)
        run.wait(10)
        assert run.snapshot().version > first.version
        assert shared.snapshot(entry, fresh_within=60.0) is first  # asked a moment ago: the held copy
        newest = shared.snapshot(entry)  # a controlling session always asks
        assert newest.version > first.version and newest.step == 2
        run.step("iteration", 1)
        run.wait(10)
        time.sleep(0.06)
        assert shared.snapshot(entry, fresh_within=0.05).step == 3  # the held copy is older than asked
    finally:
        run.stop()
