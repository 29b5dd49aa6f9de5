"""The sidebar's fields: learning rates can be typed in the box beside their log slider (3e-4 needs no steady
hand), validated like every field, the box and the slider showing the same value (AppTest); preset names
that fit their picker."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from dashboard.controls import PICKER_CHARS, TYPED, preset_label
from gancore.presets import DEFAULT_PRESET, PRESETS

from run_support import wait_for
from test_app import app, open_page, sidebar_errors, the_run  # noqa: F401 (app: the fixture)


def test_typed_rate_is_applied_live_and_moves_the_slider(app: AppTest) -> None:
    open_page(app)
    run = the_run(app)
    app.number_input(key="lr_g" + TYPED).set_value(3e-4).run()
    assert not sidebar_errors(app)
    wait_for(lambda: run.config.lr_g == 3e-4)
    slider = app.select_slider(key="lr_g")
    assert slider.value == 3e-4 and "3e-4" in slider.options  # off the 1-2-5 grid, so added to it
    app.select_slider(key="lr_d").set_value(2e-4).run()  # and the other way round
    wait_for(lambda: run.config.lr_d == 2e-4)
    assert app.number_input(key="lr_d" + TYPED).value == 2e-4


def test_typed_rate_out_of_range_is_refused_next_to_it(app: AppTest) -> None:
    open_page(app)
    run = the_run(app)
    default = PRESETS[DEFAULT_PRESET].config.lr_g
    app.number_input(key="lr_g" + TYPED).set_value(50.0).run()
    assert sidebar_errors(app) == ["50.0 is above the maximum 10"]
    assert run.config.lr_g == default and app.select_slider(key="lr_g").value == default  # not applied
    assert app.number_input(key="lr_g" + TYPED).value == 50.0  # the refused value stays where it was typed
    app.number_input(key="lr_g" + TYPED).set_value(5e-4).run()  # a good value clears the message
    assert not sidebar_errors(app)
    wait_for(lambda: run.config.lr_g == 5e-4)


def test_a_change_from_elsewhere_reaches_the_box(app: AppTest) -> None:
    open_page(app)
    run = the_run(app)
    run.set(lr_g=7e-4)  # the instructor, in another tab
    wait_for(lambda: run.config.lr_g == 7e-4)
    app.run()
    assert app.number_input(key="lr_g" + TYPED).value == 7e-4 and app.select_slider(key="lr_g").value == 7e-4


def test_every_preset_name_fits_the_picker() -> None:
    labels = [preset_label(name) for name in PRESETS] + [preset_label("custom")]
    assert max(len(label) for label in labels) <= PICKER_CHARS, labels
    assert preset_label("gauss1d") == "1-D densities and D(x)" and preset_label("custom") == "Custom settings"


def test_settings_the_run_ignores_are_disabled_with_the_reason(app: AppTest) -> None:
    """The default preset (non-saturating, Adam, unconditional) ignores clip, lambda and the label fields;
    switching the loss to WGAN turns the clip bound (slider and typed box) on, SGD for both nets the betas off."""
    def disabled(name: str) -> bool:
        if name == "clip":  # a log slider and its typed box
            return app.select_slider(key=name).disabled and app.number_input(key=name + TYPED).disabled
        return (app.selectbox(key=name) if name.startswith("cond") else app.number_input(key=name)).disabled

    names = ("clip", "gp_lambda", "beta1", "beta2", "cond_g", "cond_d")
    open_page(app)
    run = the_run(app)
    assert {name for name in names if disabled(name)} == {"clip", "gp_lambda", "cond_g", "cond_d"}
    assert "Not used: only weight clipping uses it (loss wgan); nonsaturating has none." in \
        [c.value for c in app.sidebar.caption]
    app.selectbox(key="loss").set_value("wgan").run()
    wait_for(lambda: run.config.loss == "wgan")
    app.run()
    assert {name for name in names if disabled(name)} == {"gp_lambda", "cond_g", "cond_d"}
    for net in ("optimizer_d", "optimizer_g"):
        app.selectbox(key=net).set_value("sgd").run()
    wait_for(lambda: run.config.optimizer_g == "sgd")
    app.run()
    assert {name for name in names if disabled(name)} == {"gp_lambda", "beta1", "beta2", "cond_g", "cond_d"}
