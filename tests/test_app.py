"""The dashboard's wiring, with Streamlit's AppTest (no browser): widgets reach the engine, presets fill
the sidebar, errors show next to their widget while training goes on, links and slots behave.

Notes (streamlit-live.md): all AppTest instances share one session id, so `st.cache_resource` is cleared
after each test (that also fires `on_release`, which stops every run); fragments run once per `at.run()`;
importing torch needs a longer timeout than AppTest's default 3 s.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.local_script_runner import LocalScriptRunner

from dashboard import controls
from dashboard.runs import Busy, Registry, registry
from gancore.config import Config
from gancore.presets import DEFAULT_PRESET, PRESETS
from gancore.records import ImageFrame
from gancore.run import Run

from run_support import wait_for

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")
TIMEOUT = 60


@pytest.fixture
def app(monkeypatch):
    monkeypatch.setenv("GANCORE_REFRESH", "2")
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    yield at
    st.cache_resource.clear()  # stops every run this test started (the registry's on_release)


def open_page(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def the_run(at: AppTest) -> Run:
    entry = registry().get(at.query_params["run"])
    assert entry is not None
    return entry.run


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def sidebar_errors(at: AppTest) -> list[str]:
    return [e.value for e in at.sidebar.error]


# --- opening ---------------------------------------------------------------------------------------------
def test_page_opens_on_the_default_preset_ready_to_start(app: AppTest) -> None:
    open_page(app)
    preset = PRESETS[DEFAULT_PRESET]
    assert app.selectbox(key="preset").value == DEFAULT_PRESET
    assert app.selectbox(key="loss").value == preset.config.loss
    assert app.select_slider(key="lr_d").value == preset.config.lr_d
    assert app.select_slider(key="lr_g").value == preset.config.lr_g
    assert app.number_input(key="batch_size").value == preset.config.batch_size
    assert metric(app, "Step") == "0" and "ready" in metric(app, "Status")
    run = the_run(app)
    assert run.status == "ready" and run.config == preset.config
    assert app.query_params["preset"] == DEFAULT_PRESET  # the address bar reproduces the setup
    assert any(preset.explanation[:40] in m.value for m in app.sidebar.markdown)
    keys = {b.key for b in app.button}
    assert {"start", "pause", "step", "reset"} <= keys
    assert len(app.get("plotly_chart")) == 8  # the Live tab's charts (other tabs run when opened)


def test_start_trains_and_the_step_counter_advances(app: AppTest) -> None:
    open_page(app)
    app.button(key="start").click().run()
    run = the_run(app)
    wait_for(lambda: run.snapshot().step >= 20)
    app.run()
    assert int(metric(app, "Step")) >= 20 and "running" in metric(app, "Status")
    assert app.button(key="start").disabled  # a lit Start on a training run read as "not started"
    losses = json.loads(next(c for c in app.get("plotly_chart") if "Losses" in c.proto.spec).proto.spec)
    assert losses["data"][0]["name"] == "D loss"
    app.button(key="pause").click().run()
    run.wait(10)
    assert run.status == "paused"
    app.run()
    assert any("Paused" in i.value for i in app.info)
    assert app.button(key="start").label == "Resume" and not app.button(key="start").disabled


# --- live and non-live settings ----------------------------------------------------------------------------
def test_live_learning_rate_change_reaches_the_engine_as_an_event(app: AppTest) -> None:
    open_page(app)
    app.button(key="start").click().run()
    run = the_run(app)
    wait_for(lambda: run.snapshot().step >= 10)
    app.select_slider(key="lr_d").set_value(2e-4).run()
    app.selectbox(key="loss").set_value("wgan-gp").run()
    assert (run.config.lr_d, run.config.loss) == (2e-4, "wgan-gp")
    wait_for(lambda: len(run.snapshot().events) == 2)  # applied between steps, each an event
    events = [(e.what, e.new) for e in run.snapshot().events]
    assert events == [("lr_d", 2e-4), ("loss", "wgan-gp")]
    after = run.snapshot().step
    wait_for(lambda: run.snapshot().step > after + 5)  # no restart: training went on
    assert run.status == "running"
    app.run()
    assert app.query_params["lr_d"] == "0.0002"  # the link follows live changes


def test_bad_value_shows_a_message_next_to_it_and_training_continues(app: AppTest) -> None:
    open_page(app)
    app.button(key="start").click().run()
    run = the_run(app)
    wait_for(lambda: run.snapshot().step >= 5)
    app.number_input(key="batch_size").set_value(0).run()
    assert any("below the minimum" in e for e in sidebar_errors(app))
    assert run.config.batch_size == 256
    before = run.snapshot().step
    wait_for(lambda: run.snapshot().step > before + 10)
    assert run.status == "running" and not app.exception
    app.number_input(key="batch_size").set_value(128).run()  # fixing it clears the message
    assert not sidebar_errors(app)
    wait_for(lambda: run.config.batch_size == 128)


def test_preset_fills_the_sidebar_and_resets_the_run(app: AppTest) -> None:
    open_page(app)
    app.button(key="start").click().run()
    run = the_run(app)
    wait_for(lambda: run.snapshot().step >= 5)
    app.selectbox(key="preset").set_value("wgan-gp").run()
    config = PRESETS["wgan-gp"].config
    assert app.selectbox(key="loss").value == "wgan-gp"
    assert app.select_slider(key="lr_d").value == config.lr_d
    assert app.select_slider(key="lr_g").value == config.lr_g
    assert app.number_input(key="n_critic").value == config.n_critic
    assert app.number_input(key="gp_lambda").value == pytest.approx(config.gp_lambda)
    wait_for(lambda: run.config == config and run.snapshot().step == 0)
    app.run()
    assert app.query_params["preset"] == "wgan-gp" and "lr_d" not in app.query_params
    assert any("Wasserstein" in m.value for m in app.sidebar.markdown)


def test_preset_action_button_trains_d_alone() -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["preset"] = "vanishing-frozen-g"
    at.query_params["width"] = "32"  # small nets: the 1,000 D steps take a moment
    try:
        open_page(at)
        assert at.button(key="action").label == "Train D only × 1000"
        at.button(key="action").click().run()
        run = the_run(at)
        wait_for(lambda: run.status == "paused" and run.snapshot().step == 1000, timeout=60)
        snap = run.snapshot()
        assert snap.columns["d_updates"][-1] == 1000 and snap.columns["g_updates"][-1] == 0
    finally:
        st.cache_resource.clear()


def test_image_presets_show_a_grid_with_a_row_per_class(app: AppTest) -> None:
    app.query_params["preset"] = "cgan-digits"
    open_page(app)  # no training needed: a new run is primed with a first frame
    wait_for(lambda: isinstance(the_run(app).snapshot().frame, ImageFrame), timeout=30)
    app.run()
    assert len(app.image) == 1 and "one row per class" in app.image[0].proto.imgs[0].caption
    assert any(m.label == "Classes with a fair share" for m in app.metric)


def test_settings_that_need_a_new_run_wait_for_reset(app: AppTest) -> None:
    open_page(app)
    run = the_run(app)
    app.selectbox(key="dataset").set_value("grid").run()
    assert any("Needs a new run" in w.value for w in app.sidebar.warning)
    assert run.config.dataset == "ring"
    assert app.number_input(key="modes").value == 5  # the grid's own default side
    app.button(key="reset").click().run()
    wait_for(lambda: run.config.dataset == "grid")
    app.run()
    assert not any("Needs a new run" in w.value for w in app.sidebar.warning)
    assert app.query_params["dataset"] == "grid"


def test_incompatible_pending_settings_are_refused_by_reset(app: AppTest) -> None:
    open_page(app)
    run = the_run(app)
    app.toggle(key="conditional").set_value(True).run()
    app.selectbox(key="dataset").set_value("swissroll").run()
    assert any("no labels" in e for e in sidebar_errors(app))
    app.button(key="reset").click().run()
    assert run.config.dataset == "ring"  # nothing applied
    assert any("no labels" in e for e in sidebar_errors(app))


def test_reset_says_why_it_refuses_a_value_in_a_collapsed_section(app: AppTest) -> None:
    open_page(app)
    run = the_run(app)
    app.number_input(key="width").set_value(1).run()  # in "Model", collapsed by default
    assert not any(title == "Model" and expanded for title, _, expanded in controls.SECTIONS)
    app.button(key="reset").click().run()
    assert run.config.width == 128  # nothing applied
    assert "Reset refused: Width (in Model): 1 is below the minimum 4" in sidebar_errors(app)
    opened = {e.label: e.proto.expanded for e in app.sidebar.expander}
    assert opened["Model"] and not opened["Run"]  # the section with the refused value opens to show it
    app.number_input(key="width").set_value(64).run()  # mended: the refusal goes, Reset is not pressed
    assert not any("Reset refused" in e for e in sidebar_errors(app)) and run.config.width == 128


def test_step_buttons_of_each_granularity(app: AppTest) -> None:
    open_page(app)
    app.selectbox(key="step_kind").set_value("d").run()
    app.number_input(key="step_n").set_value(25).run()
    app.button(key="step").click().run()
    run = the_run(app)
    wait_for(lambda: run.status == "paused" and run.snapshot().step == 25)
    snap = run.snapshot()
    assert snap.columns["d_updates"][-1] == 25 and snap.columns["g_updates"][-1] == 0
    app.selectbox(key="step_kind").set_value("g").run()
    app.number_input(key="step_n").set_value(2).run()
    app.button(key="step").click().run()
    wait_for(lambda: run.snapshot().step == 27)
    app.run()
    assert metric(app, "Step") == "27"


def test_a_diverged_run_says_why(app: AppTest) -> None:
    open_page(app)
    run = the_run(app)
    run.set(loss="lsgan", optimizer_d="sgd", optimizer_g="sgd", lr_d=10.0, lr_g=10.0)  # overflows in 2 steps
    run.start()
    wait_for(lambda: run.status == "diverged")
    app.run()
    assert any("became non-finite at step" in e.value and "weights restored to step 0" in e.value for e in app.error)


def test_a_crashed_run_says_why(app: AppTest) -> None:
    open_page(app)
    run = the_run(app)
    run._hooks.append(lambda r, trainer: 1 / 0)  # a bug in the training thread, raised for real
    run.step("iteration")
    wait_for(lambda: run.status == "error")
    app.run()
    assert any("ZeroDivisionError: division by zero" in e.value for e in app.error)
    assert any("Traceback" in c.value and "ZeroDivisionError" in c.value for c in app.code)


# --- links, reloads, slots --------------------------------------------------------------------------------------
def test_a_link_reproduces_the_setup_and_bad_values_are_reported(app: AppTest) -> None:
    app.query_params.update({"preset": "wgan-gp", "lr_g": "0.0002", "seed": "3", "lr_d": "fast"})
    open_page(app)
    run = the_run(app)
    assert run.config == PRESETS["wgan-gp"].config.replace(lr_g=2e-4, seed=3)
    assert app.select_slider(key="lr_g").value == 2e-4 and app.number_input(key="seed").value == 3
    assert any("lr_d" in w.value for w in app.warning)


def test_a_reload_finds_the_same_run(app: AppTest) -> None:
    open_page(app)
    token = app.query_params["run"]
    app.number_input(key="step_n").set_value(7).run()
    app.button(key="step").click().run()
    run = the_run(app)
    wait_for(lambda: run.status == "paused" and run.snapshot().step == 7)
    reload = AppTest.from_file(APP, default_timeout=TIMEOUT)
    reload.query_params.update(app.query_params)
    open_page(reload)
    assert reload.query_params["run"] == token and registry().in_use() == 1 and the_run(reload) is run
    assert metric(reload, "Step") == "7" and reload.selectbox(key="preset").value == DEFAULT_PRESET


def test_a_second_viewer_follows_changes_and_never_overwrites_them(app: AppTest) -> None:
    open_page(app)
    run = the_run(app)
    run.set(lr_g=5e-4, n_critic=3)  # the instructor, in another tab
    wait_for(lambda: run.config.lr_g == 5e-4 and run.config.n_critic == 3)
    app.run()
    assert app.select_slider(key="lr_g").value == 5e-4 and app.number_input(key="n_critic").value == 3
    viewer = AppTest.from_file(APP, default_timeout=TIMEOUT)  # the owner's second tab: the address bar copied
    viewer.query_params.update({"run": app.query_params["run"], "ctl": app.query_params["ctl"]})
    open_page(viewer)
    assert viewer.select_slider(key="lr_g").value == 5e-4
    assert run.config.lr_g == 5e-4 and run.config.n_critic == 3  # its defaults did not travel back


def test_past_the_capacity_a_clear_busy_message(monkeypatch) -> None:
    monkeypatch.setenv("GANCORE_MAX_RUNS", "1")
    st.cache_resource.clear()
    try:
        first = open_page(AppTest.from_file(APP, default_timeout=TIMEOUT))
        second = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
        assert any("All training slots are busy" in e.value for e in second.error)
        assert second.get("plotly_chart")  # the Theory still works without a slot
        assert registry().in_use() == 1 and first.query_params["run"] != second.query_params.get("run")
    finally:
        st.cache_resource.clear()


# --- other tabs --------------------------------------------------------------------------------------------------
def test_only_the_open_tab_runs(app: AppTest) -> None:
    open_page(app)
    assert [t.label for t in app.tabs] == ["Live", "Theory", "Compare", "Share & export", "Sweep"]
    assert any(m.label == "Step" for m in app.metric) and not any(m.label == "W1(P, Q)" for m in app.metric)


def test_theory_needs_no_training_and_follows_its_sliders(app: AppTest) -> None:
    app.session_state["tab"] = "Theory"
    open_page(app)
    specs = [json.loads(c.proto.spec) for c in app.get("plotly_chart")]
    assert any(t.get("name") == "JS(P, Q)" for s in specs for t in s["data"])
    before = next(m.value for m in app.metric if m.label == "W1(P, Q)")
    app.slider(key="th_shift").set_value(4.0).run()
    after = next(m.value for m in app.metric if m.label == "W1(P, Q)")
    assert before == "2.000" and after == "4.000"
    assert the_run(app).snapshot().step == 0


def test_compare_makes_two_runs_on_the_same_data_and_seed(app: AppTest) -> None:
    app.query_params.update({"width": "32", "seed": "4"})
    app.session_state["tab"] = "Compare"
    open_page(app)
    app.button(key="cmp_create").click().run()
    tokens = app.session_state["_compare"]
    a, b = (registry().get(t).run for t in tokens)
    assert a.config.seed == b.config.seed == 4 and a.config.dataset == b.config.dataset
    assert (a.config.loss, b.config.loss) == ("nonsaturating", "wgan-gp")
    app.button(key="cmp_start").click().run()
    wait_for(lambda: a.snapshot().step > 3 and b.snapshot().step > 3)
    app.run()
    specs = [json.loads(c.proto.spec) for c in app.get("plotly_chart")]
    overlaid = [s for s in specs if s["layout"].get("title", {}).get("text") == "G gradient norm"]
    assert overlaid and [t["name"] for t in overlaid[0]["data"]] == ["A: nonsaturating", "B: wgan-gp"]
    assert app.query_params["compare"] == ",".join(tokens)
    reload = AppTest.from_file(APP, default_timeout=TIMEOUT)
    reload.query_params.update(app.query_params)
    reload.session_state["tab"] = "Compare"
    open_page(reload)
    assert reload.session_state["_compare"] == tokens and registry().in_use() == 3
    app.button(key="cmp_remove").click().run()
    assert registry().get(tokens[0]) is None and registry().in_use() == 1


def test_compare_gives_back_run_a_when_the_second_slot_is_busy(app: AppTest, monkeypatch) -> None:
    monkeypatch.setenv("GANCORE_MAX_RUNS", "2")  # the page's run and Compare's A fill the machine
    app.session_state["tab"] = "Compare"
    open_page(app)
    main = app.query_params["run"]
    assert registry().capacity == 2 and registry().in_use() == 1
    app.button(key="cmp_create").click().run()
    assert any("All training slots are busy (2 of 2" in e.value for e in app.error)
    assert registry().in_use() == 1 and registry().get(main) is not None  # A was rolled back, main kept
    assert app.session_state["_compare"] is None and not app.exception  # no half pair to show


def test_share_tab_offers_links_and_downloads(app: AppTest) -> None:
    app.session_state["tab"] = "Share & export"
    open_page(app)
    token = app.query_params["run"]
    codes = [c.value for c in app.code]
    assert any("preset=mode-hopping" in c and "run=" not in c for c in codes)
    assert any(f"run={token}" in c for c in codes)
    downloads = {d.proto.label for d in app.get("download_button")}
    assert {"Metrics (CSV)", "Settings (JSON)", "Sample picture (PNG)", "Checkpoint (.pt)"} <= downloads


@pytest.fixture
def timers(monkeypatch) -> list[list[float]]:
    """The fragment timers (auto-rerun intervals) each script run sent to the browser, one list per run."""
    sent: list[list[float]] = []
    original = LocalScriptRunner.forward_msgs

    def spy(self):
        messages = original(self)
        sent.append([m.auto_rerun.interval for m in messages if m.HasField("auto_rerun")])
        return messages

    monkeypatch.setattr(LocalScriptRunner, "forward_msgs", spy)
    return sent


def test_pause_live_view_stops_the_timers(app: AppTest, timers: list[list[float]]) -> None:
    open_page(app)
    assert timers[-1] and min(timers[-1]) == 2.0  # GANCORE_REFRESH: the live strip ticks every 2 s
    app.toggle(key="freeze").set_value(True).run()
    assert timers[-1] == [] and not app.exception  # nothing redraws while paused
    app.toggle(key="freeze").set_value(False).run()
    app.select_slider(key="refresh").set_value(5.0).run()
    assert timers[-1] and min(timers[-1]) == 5.0


# --- the registry itself -------------------------------------------------------------------------------------------
def small_run(config: Config) -> Run:
    return Run(config)


@pytest.fixture
def reg():
    r = Registry(capacity=2, grace=60, factory=small_run, reap_every=None)
    yield r
    r.stop_all()


def test_registry_capacity_and_leases(reg: Registry, small: Config) -> None:
    a = reg.create(small)
    b = reg.create(small)
    with pytest.raises(Busy, match="All training slots are busy"):
        reg.create(small)
    reg.acquire(a.token)
    reg.acquire(a.token)  # two tabs watch one run
    reg.release(a.token)
    assert a.leases == 1 and a.orphaned_since is None
    now = time.monotonic()
    assert reg.reap(now + 61) == [b.token]  # b was never watched: orphaned, reaped after the grace
    assert not b.run.alive and reg.get(b.token) is None
    reg.release(a.token)
    assert reg.reap(now + 30) == []  # within the grace period (a reload, a Wi-Fi blip) it survives
    reg.acquire(a.token)
    assert reg.reap(time.monotonic() + 1000) == []
    reg.create(small)  # a slot was freed


def test_registry_forgets_dead_runs_and_stops_all(reg: Registry, small: Config) -> None:
    a = reg.create(small)
    a.run.stop()
    assert reg.get(a.token) is None and reg.reap() == [a.token]
    b = reg.create(small)
    reg.stop_all()
    assert not b.run.alive and reg.in_use() == 0


def test_log_grid_and_number_format() -> None:
    grid = controls.log_grid(1e-7, 10)
    assert grid[0] == 1e-7 and grid[-1] == 10 and 2e-4 in grid and 5e-5 in grid
    assert [controls.fmt_number(v) for v in (1e-4, 5e-5, 0.01, 2.0, 2e-4)] == ["1e-4", "5e-5", "0.01", "2", "2e-4"]
