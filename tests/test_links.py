"""Links are untrusted input: every URL parameter falls back with a warning, and a path never comes from one."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
import torch
from streamlit.testing.v1 import AppTest

from dashboard import share
from dashboard.runs import registry, server_side
from gancore.config import Config

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")
NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")


@NO_CUDA
@pytest.mark.parametrize("device", ["cuda", "mps"])
def test_a_device_this_machine_lacks_falls_back_with_a_warning(device: str) -> None:
    if device == "mps" and torch.backends.mps.is_available():
        pytest.skip("this machine has MPS")
    config, preset, warnings = share.params_to_config({"preset": "gauss1d", "device": device, "seed": "4"})
    assert config.device == "auto" and config.seed == 4 and preset == "gauss1d"
    assert len(warnings) == 1 and f"device={device!r}" in warnings[0] and "available" in warnings[0]


def test_a_data_folder_in_a_link_is_never_used() -> None:
    config, _, warnings = share.params_to_config({"preset": "custom", "dataset": "mnist", "data_dir": "/etc"})
    assert config.dataset == "mnist" and config.data_dir is None
    assert any("data_dir" in w and "server" in w for w in warnings)
    assert "data_dir" not in share.config_to_params(Config(dataset="mnist", data_dir="/srv/mnist"), None)


def test_the_data_folder_is_the_servers_setting(monkeypatch) -> None:
    monkeypatch.setenv("GANCORE_DATA_DIR", "/srv/data/mnist")
    assert server_side(Config(dataset="mnist", data_dir="/etc")).data_dir == "/srv/data/mnist"
    assert server_side(Config(dataset="ring")).data_dir is None
    monkeypatch.delenv("GANCORE_DATA_DIR")
    assert server_side(Config(dataset="fashion", data_dir="/etc")).data_dir is None  # the user cache


@NO_CUDA
def test_a_page_opened_with_a_missing_device_trains_on_the_cpu_and_says_why(monkeypatch) -> None:
    monkeypatch.setenv("GANCORE_REFRESH", "2")
    st.cache_resource.clear()
    try:
        at = AppTest.from_file(APP, default_timeout=60)
        at.query_params.update({"preset": "gauss1d", "device": "cuda"})
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert any("device='cuda'" in w.value for w in at.warning)
        entry = registry().get(at.query_params["run"])
        assert entry is not None and entry.run.config.device == "auto" and entry.run.status == "ready"
        assert "device" not in at.query_params  # the address bar no longer carries the unusable value
    finally:
        st.cache_resource.clear()


def test_the_role_secrets_in_a_link_are_not_settings() -> None:
    _, _, warnings = share.params_to_config({"preset": "gauss1d", "key": "k", "ctl": "c", "presenter": "1"})
    assert warnings == []


def test_a_link_too_big_for_the_servers_memory_is_refused_before_anything_is_built(monkeypatch) -> None:
    """The issue's link (a DCGAN of width 2048 and batch 8192 on digits) needs hundreds of GB: the page falls
    back to the default preset with the estimate and the limit in its warning."""
    from gancore.budget import BudgetError
    big = Config(dataset="digits", arch="dcgan", width=2048, batch_size=8192)
    monkeypatch.setenv("GANCORE_MEMORY_BUDGET", "8")
    with pytest.raises(BudgetError, match=r"run needs about \d+.*GB \(limit 2.00 GB\)"):
        server_side(big)
    assert server_side(Config(dataset="ring")).dataset == "ring"
    monkeypatch.setenv("GANCORE_REFRESH", "2")
    st.cache_resource.clear()
    try:
        at = AppTest.from_file(APP, default_timeout=60)
        at.query_params.update({"preset": "custom", "dataset": "digits", "arch": "dcgan", "width": "2048",
                                "batch_size": "8192"})
        at.run()
        assert not at.exception
        assert any("run needs about" in w.value and "limit" in w.value for w in at.warning)
        entry = registry().get(at.query_params["run"])
        assert entry.run.config.arch == "mlp" and registry().in_use() == 1
    finally:
        st.cache_resource.clear()
