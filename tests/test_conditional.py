"""Conditional G and D use the label: the same noise or the same point with another label gives another
output, for every way of joining the label (and the unconditional nets take none)."""

from __future__ import annotations

import pytest
import torch

from gancore.config import Config
from gancore.models import build_models


@pytest.mark.parametrize("arch, shape", [("mlp", (2,)), ("dcgan", (1, 28, 28))])
@pytest.mark.parametrize("cond_g, cond_d", [("onehot", "concat"), ("embedding", "projection")])
def test_changing_the_label_changes_g_and_d(arch: str, shape: tuple[int, ...], cond_g: str, cond_d: str) -> None:
    config = Config(dataset="ring" if arch == "mlp" else "digits", arch=arch, conditional=True, cond_g=cond_g,
                    cond_d=cond_d, width=8, depth=1, latent_dim=4)
    torch.manual_seed(0)
    g, d = build_models(config, shape, 4)
    z = torch.randn(1, 4).repeat(4, 1)  # one noise vector, four labels
    labels = torch.arange(4)
    with torch.no_grad():
        fakes = g(z, labels)
        same_label = g(z, torch.zeros(4, dtype=torch.long))
        x = torch.randn(1, *shape).repeat(4, *([1] * len(shape)))
        scores = d(x, labels)
    assert torch.allclose(same_label[0], same_label[3])  # same noise, same label: same sample
    for a in range(4):
        for b in range(a + 1, 4):
            assert not torch.allclose(fakes[a], fakes[b], atol=1e-6), (a, b)
            assert not torch.isclose(scores[a], scores[b], atol=1e-7), (a, b)


def test_an_unconditional_pair_has_no_label_input() -> None:
    g, d = build_models(Config(width=8, depth=1, latent_dim=4), (2,), 8)
    assert g.body.layers[0].in_features == 4 and d.features.layers[0].in_features == 2
