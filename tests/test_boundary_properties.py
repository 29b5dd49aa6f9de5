"""Property tests over the boundaries a careless or hostile user reaches without the command line: URL
parameters, sidebar values and the Python API. Each input is either accepted or refused with a message that
names the field; nothing raises past the boundary. (The CLI's flags and files: tests/test_cli_properties.py.)"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dashboard import controls
from dashboard.share import RESERVED, SERVER_ONLY, base_config, params_to_config
from gancore.config import FIELDS, LIVE_FIELDS, Config, ConfigError, coerce
from gancore.presets import PRESETS
from gancore.run import Run

from properties import examples

FAST = settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
NAMES = sorted(FIELDS)


def _choices(name: str) -> list[str]:
    return [str(c) for c in FIELDS[name].metadata["choices"] or ()]


def _edges(name: str) -> list[str]:
    """Values just inside and outside a field's limits, as text: where off-by-one refusals hide."""
    m = FIELDS[name].metadata
    out = []
    for bound in (m["low"], m["high"]):
        if bound is not None:
            out += [repr(bound), repr(bound * 0.999), repr(bound * 1.001 + 1), repr(-bound)]
    return out


TEXT = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", " ", "None", "nan", "inf", "-inf", "1e999", "-0", "0x10", "true", "1.5", "٣",
                     "../../etc", "<script>", "1_000", "9" * 40]),
    st.integers(-10**12, 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


@st.composite
def url_value(draw, name: str) -> str:
    return draw(st.one_of(TEXT, st.sampled_from(_choices(name) + _edges(name) or [""])))


@st.composite
def url_params(draw) -> dict[str, str]:
    keys = draw(st.lists(st.one_of(st.sampled_from(NAMES + list(RESERVED)), st.text(max_size=8)),
                         max_size=6, unique=True))
    params = {k: draw(url_value(k)) if k in FIELDS else draw(TEXT) for k in keys}
    if draw(st.booleans()):
        params["preset"] = draw(st.sampled_from(list(PRESETS) + ["custom", "nope", ""]))
    return params


def _accepted(config: Config, name: str, value: str) -> bool:
    try:
        return getattr(config, name) == coerce(name, value)
    except ConfigError:
        return False


@FAST
@given(url_params())
def test_any_url_parameters_give_a_valid_config_and_name_what_they_dropped(params: dict[str, str]) -> None:
    config, preset, warnings = params_to_config(params)  # never raises
    assert isinstance(config, Config)
    assert preset in PRESETS or preset == "custom"
    if any("do not fit together" in w for w in warnings):
        assert config == base_config(preset)  # everything from the link dropped, each named
        assert all(f"{name}=" in warnings[-1] for name in params if name in FIELDS and name not in SERVER_ONLY)
        return
    for name, value in params.items():
        if name in RESERVED:
            continue
        if name in SERVER_ONLY or name not in FIELDS or not _accepted(config, name, value):
            assert any(repr(name) in w or f"{name}=" in w or f"ignored {name} " in w for w in warnings), \
                (name, value, warnings)


def test_a_setting_that_clashes_with_the_preset_is_named_and_the_rest_kept() -> None:
    # the gauss1d preset sets one mode; digits have classes, not modes: the data set goes, the learning rate stays
    config, _, warnings = params_to_config({"preset": "gauss1d", "lr_d": "3e-4", "dataset": "digits"})
    assert config.dataset == "gauss1d" and config.lr_d == 3e-4
    assert warnings == ["ignored dataset='digits' from the link: it does not fit the preset's modes: "
                        "data set 'digits' has no modes to set"]


def test_a_bad_url_value_is_named_in_its_warning() -> None:
    # the property above checks the naming; this pins one message so the property cannot pass vacuously
    config, _, warnings = params_to_config({"preset": "custom", "width": "1", "lr_d": "2e-4"})
    assert config.width == Config().width and config.lr_d == 2e-4
    assert warnings == ["ignored width='1' from the link: 1 is below the minimum 4"]


# --- sidebar: the path every widget's on_change takes -------------------------------------------------------
WIDGET_VALUE = st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
                         st.booleans(), TEXT, st.none())


@FAST
@given(name=st.sampled_from(NAMES), value=WIDGET_VALUE, base=st.sampled_from(sorted(PRESETS)))
def test_every_sidebar_value_is_applied_or_refused_under_its_field(name: str, value, base: str) -> None:
    config = PRESETS[base].config
    pending, errors = {name: value}, {}
    result = controls._validate_pending(config, pending, errors)
    if isinstance(result, ConfigError):
        assert result.field in FIELDS and errors == {result.field: result.message}
        assert controls.refusal(result).startswith(f"Reset refused: {controls.LABELS.get(result.field, result.field)}")
    else:
        assert isinstance(result, Config) and errors == {}
        expected = coerce(name, value)
        assert getattr(result, name) == expected or (isinstance(expected, float) and math.isnan(expected))


def test_every_sidebar_field_has_a_section_and_a_label() -> None:
    placed = [n for _, names, _ in controls.SECTIONS for n in names]
    assert sorted(placed) == sorted(set(FIELDS) - set(SERVER_ONLY))  # a refusal can always say where
    assert set(controls.LABELS) == set(placed)


# --- the Python API -----------------------------------------------------------------------------------------
EXTREMES = (10**400, -10**400, float("nan"), float("inf"), 1j, [1], {"a": 1}, b"\x00", object(), True, "")
ANY_VALUE = st.one_of(st.sampled_from(EXTREMES), WIDGET_VALUE, st.integers(), st.lists(st.integers(), max_size=2),
                      st.dictionaries(st.text(max_size=3), st.integers(), max_size=2), st.binary(max_size=4),
                      st.complex_numbers())


@FAST
@given(st.dictionaries(st.sampled_from(NAMES), ANY_VALUE, min_size=1, max_size=4))
@example({"width": 10**400}).via("an int too large for a float")
@example({"lr_d": float("nan")}).via("not a finite number")
def test_config_is_built_or_refused_naming_a_field_it_was_given(values: dict) -> None:
    try:
        config = Config(**values)
    except ConfigError as exc:
        assert exc.field in FIELDS and str(exc).startswith(f"{exc.field}: ")
        if len(values) == 1:
            assert exc.field in values or exc.field in ("modes", "radius", "std")  # dataset's own params
        return
    for name, value in values.items():
        assert getattr(config, name) == coerce(name, value)


@pytest.fixture(scope="module")
def idle_run():
    run = Run(Config(width=8, depth=1, batch_size=8, steps=10))
    yield run
    run.stop()


@FAST
@given(name=st.one_of(st.sampled_from(NAMES), st.text(max_size=6)), value=ANY_VALUE)
@example(name="batch_size", value=10**400).via("an int too large for a float")
def test_run_set_accepts_a_live_value_or_refuses_naming_the_field(idle_run: Run, name: str, value) -> None:
    before = idle_run.config
    try:
        after = idle_run.set(**{name: value})
    except ConfigError as exc:
        assert exc.field == name or (name in LIVE_FIELDS and exc.field in FIELDS)
        assert idle_run.config == before  # a refused change leaves the settings as they were
        return
    assert name in LIVE_FIELDS and getattr(after, name) == coerce(name, value)
    idle_run.set(**{name: getattr(before, name)})  # keep the run small for the next example
