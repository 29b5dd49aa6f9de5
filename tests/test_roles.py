"""Who may control a run is decided on the server: viewers are refused in the binding, not only undrawn."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard import access
from dashboard.access import VIEWER_REFUSAL, Binding, Refused, bind
from dashboard.runs import Entry, registry

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")
CONTROLS = ("start", "pause", "step", "reset", "lr_g", "lr_d", "loss", "preset")


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("GANCORE_REFRESH", "2")
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


@pytest.fixture
def classroom(server, monkeypatch):
    monkeypatch.setenv("GANCORE_CLASSROOM", "1")
    monkeypatch.setattr(access, "INSTRUCTOR_KEY", "secret-key")


def page(**params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(params)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def widgets(at: AppTest) -> set[str]:
    return {w.key for kind in ("button", "selectbox", "select_slider", "number_input") for w in at.get(kind)
            if getattr(w, "key", None)}


class _FakeRun:
    """Stands in for a Run only to show that a refused binding never reaches it."""
    alive = True

    def __getattr__(self, name):
        raise AssertionError(f"a viewer's command reached the run: {name}")


def test_a_viewer_binding_refuses_every_command_with_a_clear_message() -> None:
    entry = Entry("tok", _FakeRun())  # type: ignore[arg-type]
    viewer = bind(entry, {"run": "tok"})
    assert viewer.role == "viewer" and not viewer.may_control
    with pytest.raises(Refused, match="only its owner"):
        viewer.control()
    assert str(Refused(VIEWER_REFUSAL)).startswith("You are watching")
    assert bind(entry, {"run": "tok", "ctl": "wrong"}).role == "viewer"
    assert bind(entry, {"run": "tok", "ctl": entry.control_key}).role == "owner"
    assert bind(entry, {}, created=True).role == "owner"
    assert bind(entry, {"key": access.INSTRUCTOR_KEY}).role == "viewer"  # no key outside a classroom


def test_outside_a_class_a_watch_link_is_read_only_and_shows_no_control_link(server) -> None:
    owner = page()
    token = owner.query_params["run"]
    assert set(CONTROLS) <= widgets(owner) and owner.query_params["ctl"]
    watcher = page(run=token)
    assert not (set(CONTROLS) & widgets(watcher)) and "copy" in widgets(watcher)
    assert "ctl" not in watcher.query_params
    binding: Binding = watcher.session_state["_binding"]
    assert binding.entry.token == token and binding.role == "viewer"
    watcher.tabs[3].run()
    codes = " ".join(c.value for c in watcher.code)
    assert owner.query_params["ctl"] not in codes  # the control key never reaches a watcher's page


def test_a_class_waits_for_its_instructor_then_watches_the_featured_run(classroom) -> None:
    student = page()
    assert any("Waiting for the instructor" in i.value for i in student.info)
    assert registry().in_use() == 0  # students opening the address use no training slot
    instructor = page(key="secret-key")
    token = instructor.query_params["run"]
    assert set(CONTROLS) <= widgets(instructor) and registry().featured == token
    student.run()
    assert student.session_state["_binding"].entry.token == token
    assert not (set(CONTROLS) & widgets(student)) and "run" not in student.query_params
    crafted = page(run=token)  # a student who typed the run's token still only watches
    assert crafted.session_state["_binding"].role == "viewer" and not (set(CONTROLS) & widgets(crafted))
    second = page(key="secret-key")  # the instructor's projector tab: the same run, in control
    assert second.query_params["run"] == token and set(CONTROLS) <= widgets(second)
    assert registry().in_use() == 1


def test_a_student_copy_is_their_own_run_within_the_capacity(classroom, monkeypatch) -> None:
    monkeypatch.setenv("GANCORE_MAX_RUNS", "2")
    instructor = page(key="secret-key")
    featured = registry().get(instructor.query_params["run"])
    featured.run.set(lr_g=3e-4)
    student = page()
    student.button(key="copy").click().run()
    mine = registry().get(student.query_params["run"])
    assert mine is not None and mine.token != featured.token
    assert mine.run.config == featured.run.config  # seed included
    assert student.session_state["_binding"].role == "owner" and set(CONTROLS) <= widgets(student)
    other = page()
    other.button(key="copy").click().run()
    assert any("All training slots are busy" in e.value for e in other.sidebar.error)
    assert registry().in_use() == 2


def test_the_instructor_sees_the_join_code_and_students_do_not(classroom) -> None:
    instructor = page(key="secret-key")
    assert any(c.value.startswith("http://") for c in instructor.sidebar.code)
    assert instructor.sidebar.get("image")  # the QR code
    student = page()
    assert not student.sidebar.code and not student.sidebar.get("image")


def test_the_presenter_view_shows_the_presets_charts_and_no_tabs(server) -> None:
    from gancore.presets import DEFAULT_PRESET, PRESETS
    at = page(presenter="1")
    assert at.toggle(key="presenter").value is True and not at.tabs
    assert len(at.get("plotly_chart")) == len(PRESETS[DEFAULT_PRESET].charts)
    at.toggle(key="presenter").set_value(False).run()
    assert [t.label for t in at.tabs][0] == "Live" and len(at.get("plotly_chart")) > 4


def test_a_run_that_died_says_why_instead_of_nobody_watched_it(server) -> None:
    from gancore import Config, Run
    from gancore.train import Trainer

    class Failing(Trainer):
        def train_step(self, kind: str = "iteration") -> None:
            raise RuntimeError("DefaultCPUAllocator: can't allocate memory")

    reg = registry()
    run = Run(Config(dataset="ring", width=8, depth=1, latent_dim=2, batch_size=8, device="cpu"), factory=Failing)
    reg._entries["dead"] = Entry("dead", run)
    run.start()
    assert run.wait(10) and run.status == "error"
    assert "can't allocate memory" in reg.why_gone("dead") and reg.get("dead").run is run  # shown, not replaced
    assert "nobody watched it" in reg.why_gone("never-there")
