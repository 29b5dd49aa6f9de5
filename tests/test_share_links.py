"""A link reproduces every setting: a property test over all Config fields through a real URL query, and
the fallback when a link names a setting that cannot be used."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dashboard import share
from gancore.config import FIELDS, Config, ConfigError
from gancore.presets import PRESETS

from properties import examples


def field_values(name: str) -> st.SearchStrategy:
    """Any valid value of one field, from its own metadata (choices, limits, optional or not)."""
    f = FIELDS[name]
    m, kind = f.metadata, str(f.type)
    if name in share.SERVER_ONLY:  # never taken from a link (tests/test_links.py)
        return st.none()
    if name == "device":  # the devices this machine has: a link to another one falls back (test_links.py)
        return st.sampled_from(["auto", "cpu"] + (["cuda"] if torch.cuda.is_available() else []))
    if m["choices"] is not None:
        values = st.sampled_from(m["choices"])
    elif kind.startswith("bool"):
        values = st.booleans()
    elif kind.startswith("int"):
        values = st.integers(int(m["low"]), int(m["high"]))
    elif kind.startswith("float"):
        values = st.floats(m["low"], m["high"], allow_nan=False, allow_infinity=False)
    else:
        values = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12)
    return st.none() | values if "None" in kind else values


@st.composite
def configs(draw) -> Config:
    values = {name: draw(field_values(name)) for name in FIELDS}
    try:
        return Config(**values)
    except ConfigError:
        assume(False)  # fields that do not fit together (dcgan on toy data): not a config a link can hold


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.filter_too_much,
                                                                    HealthCheck.too_slow])
@given(configs(), st.sampled_from([None, *PRESETS]))
def test_every_setting_survives_a_link(config: Config, preset: str | None) -> None:
    url = share.link("http://host:8501", share.config_to_params(config, preset))
    params = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    back, named, warnings = share.params_to_config(params)
    assert back == config and warnings == []
    assert named == (preset if preset in PRESETS else share.CUSTOM)


def test_a_link_naming_an_unusable_setting_falls_back_to_the_preset() -> None:
    # a data set this machine does not have, and one setting the preset's data set has no use for
    config, preset, warnings = share.params_to_config({"preset": "wgan-gp", "dataset": "cifar", "lr_g": "2e-4"})
    assert config == PRESETS["wgan-gp"].config.replace(lr_g=2e-4) and preset == "wgan-gp"
    assert len(warnings) == 1 and "dataset='cifar'" in warnings[0]
    config, _, warnings = share.params_to_config({"preset": share.CUSTOM, "arch": "dcgan"})  # dcgan on the ring
    assert config == Config() and len(warnings) == 1 and "arch" in warnings[0]

