"""Configuration validation: every bad value is refused with a message naming its field."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gancore.config import FIELDS, LIVE_FIELDS, Config, ConfigError, from_dict

from properties import examples


def test_defaults_are_valid_and_resolve_the_data_set() -> None:
    c = Config()
    assert (c.dataset, c.loss) == ("ring", "nonsaturating")
    assert c.data_params() == (8, 2.0, 0.02)
    assert Config(dataset="grid").data_params() == (5, 2.0, 0.05)


@pytest.mark.parametrize("changes, field, words", [
    ({"lr_d": "abc"}, "lr_d", "expected a float"),
    ({"lr_g": -1}, "lr_g", "below the minimum"),
    ({"lr_d": math.nan}, "lr_d", "not a finite number"),
    ({"batch_size": 2.5}, "batch_size", "expected an int"),
    ({"batch_size": 0}, "batch_size", "below the minimum"),
    ({"steps": True}, "steps", "expected an int"),
    ({"loss": "wasserstein"}, "loss", "not one of"),
    ({"arch": "dcgan"}, "arch", "needs 28x28 images"),
    ({"dataset": "swissroll", "conditional": True}, "conditional", "no labels"),
    ({"dataset": "blob", "modes": 3}, "modes", "has no modes"),
    ({"dataset": "grid", "modes": 11}, "modes", "above the maximum"),
    ({"colour": "red"}, "colour", "unknown setting"),
    ({"conditional": "maybe"}, "conditional", "expected a bool"),
    ({"data_dir": "/tmp"}, "data_dir", "reads no folder"),
])
def test_bad_values_name_their_field(changes: dict, field: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        Config().replace(**changes)
    assert info.value.field == field
    assert words in info.value.message


def test_plain_strings_are_converted() -> None:
    c = from_dict({"lr_d": "2e-4", "batch_size": "64", "conditional": "true", "modes": ""})
    assert (c.lr_d, c.batch_size, c.conditional, c.modes) == (2e-4, 64, True, None)


def test_live_fields_are_the_documented_ones() -> None:
    assert {"lr_d", "lr_g", "loss", "n_critic", "g_steps", "clip", "gp_lambda", "batch_size"} <= LIVE_FIELDS
    assert not {"dataset", "arch", "width", "latent_dim", "seed", "device"} & LIVE_FIELDS


def _valid_value(name: str):
    m = FIELDS[name].metadata
    if m["choices"]:
        return st.sampled_from(m["choices"])
    kind = str(FIELDS[name].type)
    if kind.startswith("bool"):
        return st.booleans()
    if kind.startswith("int"):
        return st.integers(int(m["low"]), int(min(m["high"], 10**6)))
    return st.floats(m["low"], m["high"], allow_nan=False)


LIVE_NUMBERS = sorted(n for n in LIVE_FIELDS if FIELDS[n].metadata["choices"] is None)


@settings(max_examples=examples(200), deadline=None)
@given(st.data())
def test_any_value_within_limits_is_accepted(data) -> None:
    name = data.draw(st.sampled_from(LIVE_NUMBERS))
    value = data.draw(_valid_value(name))
    assert getattr(Config().replace(**{name: value}), name) == value


@settings(max_examples=examples(200), deadline=None)
@given(st.data())
def test_any_value_outside_limits_is_refused(data) -> None:
    name = data.draw(st.sampled_from(LIVE_NUMBERS))
    m = FIELDS[name].metadata
    below = data.draw(st.floats(-1e9, m["low"], exclude_max=True, allow_nan=False))
    above = data.draw(st.floats(m["high"], 1e12, exclude_min=True, allow_nan=False))
    for value in (below, above):
        if str(FIELDS[name].type).startswith("int"):
            value = math.floor(value) if value < m["low"] else math.ceil(value)
        with pytest.raises(ConfigError) as info:
            Config().replace(**{name: value})
        assert info.value.field == name


@settings(max_examples=examples(100), deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(FIELDS)), st.text(max_size=8), max_size=4))
def test_arbitrary_strings_never_crash(values: dict) -> None:
    """Whatever a URL or a form sends, the result is a Config or a ConfigError, nothing else."""
    try:
        c = from_dict(values)
    except ConfigError as exc:
        assert exc.field in FIELDS
    else:
        assert from_dict(c.to_dict()) == c


def test_round_trip_through_json_values() -> None:
    c = Config(dataset="digits", arch="dcgan", conditional=True, loss="wgan-gp", lr_d=3e-4)
    assert from_dict(c.to_dict()) == c


def test_unused_names_what_each_objective_and_optimizer_ignores() -> None:
    from gancore.config import unused
    assert set(unused(Config(loss="nonsaturating"))) == {"clip", "gp_lambda", "cond_g", "cond_d"}
    assert set(unused(Config(loss="wgan"))) == {"gp_lambda", "cond_g", "cond_d"}
    assert set(unused(Config(loss="wgan-gp", conditional=True, dataset="ring"))) == {"clip"}
    sgd = unused(Config(optimizer_d="sgd", optimizer_g="rmsprop"))
    assert sgd["beta1"] == "only Adam uses it; D runs sgd and G rmsprop" and "beta2" in sgd
    assert "beta1" not in unused(Config(optimizer_d="sgd"))  # G still runs Adam
