"""The preset's fix as one button (AppTest): it makes the live change the text suggests, the run goes on,
and the page says when the measurement has recovered; a viewer's page has no such button."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from dashboard.runs import registry
from gancore.presets import PRESETS

from run_support import wait_for
from test_app import APP, app, open_page, the_run  # noqa: F401 (app: the fixture)

PRESET = PRESETS["unbalanced-lr"]


def _success(at: AppTest) -> list[str]:
    return [s.value for s in at.success]


def test_the_fix_button_undoes_the_phenomenon_and_says_so(app: AppTest) -> None:
    app.query_params["preset"] = PRESET.name
    open_page(app)
    run = the_run(app)
    assert app.button(key="fix").label == "Try the fix: Raise lr_g to 1e-3"
    app.button(key="start").click().run()
    wait_for(lambda: PRESET.shows(run.snapshot()), timeout=60)
    app.run()
    assert any("phenomenon is showing" in s for s in _success(app))
    at_fix = run.snapshot().step
    app.button(key="fix").click().run()
    assert run.config.lr_g == 1e-3 and run.status == "running"  # live: the same run trains on
    entry = registry().get(app.query_params["run"])
    before = entry.meta["fix_before"]
    assert at_fix <= before.step and before.config["lr_g"] == PRESET.config.lr_g
    wait_for(lambda: PRESET.fix.recovered(before, run.snapshot()), timeout=60)
    app.run()
    assert f"**The fix worked:** {PRESET.fix.criterion}." in _success(app)
    assert not any("phenomenon is showing" in s for s in _success(app))  # it no longer has the preset's settings
    assert any("Fix applied" in c.value for c in app.sidebar.caption)
    assert not [b for b in app.button if b.key == "fix"]  # applied once


def test_a_viewer_has_no_fix_button(app: AppTest) -> None:
    app.query_params["preset"] = PRESET.name
    open_page(app)
    token = app.query_params["run"]
    viewer = AppTest.from_file(APP, default_timeout=60)
    viewer.query_params["run"] = token  # the watch link: no control key
    open_page(viewer)
    assert "fix" not in {b.key for b in viewer.button} and "start" not in {b.key for b in viewer.button}
    assert any(PRESET.explanation[:40] in m.value for m in viewer.sidebar.markdown)
