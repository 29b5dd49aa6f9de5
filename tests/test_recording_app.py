""""Record this run" on the page (Streamlit's AppTest): the owner's run writes a run directory into the log
directory (made when missing, and said), which opens as a recorded run; a viewer is refused on the server."""

from __future__ import annotations

import json

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard import recording
from dashboard.access import VIEWER_REFUSAL, Refused, bind
from dashboard.runs import Entry, registry
from gancore.logdir import list_runs
from gancore.logreader import RunReader

from test_roles import _FakeRun, page as _page


@pytest.fixture
def logdir(tmp_path, monkeypatch):
    root = tmp_path / "logs"  # missing: recording makes it
    monkeypatch.setenv("GANCORE_LOGDIR", str(root))
    monkeypatch.setenv("GANCORE_REFRESH", "2")
    st.cache_resource.clear()
    yield root
    st.cache_resource.clear()


def _captions(at: AppTest) -> str:
    return " ".join(c.value for c in at.sidebar.caption)


@pytest.mark.slow  # builds a real run and its evaluation protocol
def test_the_owner_records_the_run_and_it_opens_as_a_recorded_run(logdir):
    at = _page(preset="mode-hopping")
    at.button(key="record").click().run()
    assert not at.exception, [e.value for e in at.exception]
    (path,) = [p for p in logdir.iterdir()]
    assert path.name.startswith("mode-hopping-")
    assert f"Recording into {logdir}/{path.name}" in _captions(at) and "did not exist: made it" in _captions(at)
    assert at.button(key="record").label == "Stop recording"
    assert [r.name for r in list_runs(logdir)] == [path.name]  # the sidebar's Recorded runs lists it
    assert any(b.label.startswith(f"{path.name} ·") for b in at.sidebar.button)
    at.button(key="start").click().run()
    entry = registry().get(at.query_params["run"])
    entry.run.pause()
    assert entry.run.wait(30)
    at.button(key="record").click().run()
    assert "Recording stopped" in _captions(at) and at.button(key="record").label == "Record this run"
    summary = json.loads((path / "summary.json").read_text())
    snap = RunReader(path).snapshot()
    assert summary["status"] == "stopped" and snap.step == entry.run.snapshot().step == summary["steps"]
    recorded = _page(dir=path.name)  # and it replays as a command-line run does
    assert next(m.value for m in recorded.metric if m.label == "Step") == str(snap.step)


def test_a_viewer_asking_to_record_is_refused_and_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("GANCORE_LOGDIR", str(tmp_path / "logs"))
    viewer = bind(Entry("tok", _FakeRun()), {"run": "tok"})  # type: ignore[arg-type]
    with pytest.raises(Refused, match="only its owner"):
        recording.toggle(viewer)
    assert str(Refused(VIEWER_REFUSAL)) == VIEWER_REFUSAL
    assert not (tmp_path / "logs").exists()


@pytest.mark.slow
def test_a_watch_link_has_no_record_button(logdir):
    owner = _page()
    watcher = _page(run=owner.query_params["run"])  # no control key: read-only
    assert not [b for b in watcher.button if b.key == "record"]
