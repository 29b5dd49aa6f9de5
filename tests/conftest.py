"""Shared test settings: small, fast configurations on the CPU."""

from __future__ import annotations

import pytest
import torch

from gancore.config import Config

import properties

torch.set_num_threads(1)  # tests run beside other work on 2 cores; one thread keeps timings sane


def pytest_configure(config: pytest.Config) -> None:
    """The fast suite (its marker expression leaves out the slow tests) draws fewer property examples."""
    properties.QUICK = "not slow" in (config.getoption("markexpr") or "")


@pytest.fixture
def validated(monkeypatch):
    """The page builds figures unvalidated (fast); the figure tests have Plotly validate every property."""
    from dashboard import figure
    monkeypatch.setattr(figure, "VALIDATE", True)


@pytest.fixture
def small() -> Config:
    """A ring run with small nets: real training steps in milliseconds."""
    return Config(dataset="ring", width=32, depth=2, latent_dim=4, batch_size=64, steps=0, device="cpu")


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright, one per test module (tests/browser_support.py has the flags)."""
    from browser_support import CHROMIUM_ARGS, chromium

    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        yield launched
        launched.close()
