"""Recorded runs on the page, with Streamlit's AppTest: `?dir=` opens a run directory of the log directory
read-only (no training run is made), refuses names that lead outside it, and scrubs to an earlier step."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard.runs import registry

from test_logdir import synthetic

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")


@pytest.fixture
def logdir(tmp_path, monkeypatch):
    root = tmp_path / "logs"
    root.mkdir()
    synthetic(root / "a").close()
    (root / "a" / "summary.json").write_text('{"status": "completed", "reason": "reached 5 steps"}')
    synthetic(tmp_path / "secret", steps=2).close()
    (root / "grid").mkdir()  # a sweep folder: its runs lie one level down
    (root / "grid" / "sweep.json").write_text("{}")
    synthetic(root / "grid" / "cell-0", steps=2).close()
    monkeypatch.setenv("GANCORE_LOGDIR", str(root))
    monkeypatch.setenv("GANCORE_REFRESH", "2")
    st.cache_resource.clear()
    yield root
    st.cache_resource.clear()


def _open(name: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["dir"] = name
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_a_recorded_run_opens_read_only_at_its_last_step(logdir):
    at = _open("a")
    assert _metric(at, "Step") == "5" and _metric(at, "Status") == "finished"
    assert any(m.value == "50" for m in at.metric)  # fd_features of the step-5 evaluation: 5 * 10
    assert registry().in_use() == 0  # no training run was made for this page
    assert not any(b.label in ("Start", "Reset", "Step") for b in at.button)  # no controls: nothing to train
    assert [b.label for b in at.sidebar.button if b.label.startswith("a ·")] == ["a · finished · step 5"]
    assert [b.label for b in at.sidebar.button if "grid" in b.label] == ["grid/ · sweep"]  # not its cells
    next(s for s in at.select_slider if s.label == "Step").set_value(3).run()
    assert _metric(at, "Step") == "3" and any(m.value == "30" for m in at.metric)
    next(b for b in at.sidebar.button if b.label == "grid/ · sweep").click().run()
    assert at.query_params["sweep"] == "grid" and not at.exception  # the sweep's map opens


@pytest.mark.parametrize("name", ["../secret", "/etc", "a/../../secret", "missing"])
def test_a_name_outside_the_log_directory_is_refused(logdir, name):
    at = _open(name)
    assert any("cannot be opened" in e.value for e in at.error), [e.value for e in at.error]
    assert not at.metric  # nothing of the other directory is shown
