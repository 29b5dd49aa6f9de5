"""Memory estimates before a run is built: exact parameter counts, hand-counted activations, refusals."""

from __future__ import annotations

import os
import re

import pytest

from gancore.__main__ import main
from gancore.budget import (BudgetError, activation_floats, check_budget, data_shape, estimate_bytes, free_bytes,
                            n_classes, parameter_counts)
from gancore.config import Config
from gancore.models import build_models


@pytest.mark.parametrize("config", [
    Config(width=32, depth=2, latent_dim=4),
    Config(),
    Config(dataset="gauss1d", depth=5, activation="tanh"),
    Config(dataset="grid", conditional=True, cond_g="embedding", cond_d="projection"),
    Config(dataset="ring", conditional=True),
    Config(dataset="digits", width=64),
    Config(dataset="digits", arch="dcgan", width=16),
    Config(dataset="digits", arch="dcgan", width=16, conditional=True, cond_d="projection"),
    Config(dataset="digits", arch="dcgan", width=8, conditional=True, cond_g="embedding"),
], ids=repr)
def test_parameter_counts_are_those_of_the_built_networks(config: Config) -> None:
    shape = data_shape(config)
    k = n_classes(config)
    g, d = build_models(config, shape, k or 0)
    assert parameter_counts(config, shape) == (sum(p.numel() for p in g.parameters()),
                                               sum(p.numel() for p in d.parameters()))


def test_the_small_ring_run_by_hand() -> None:
    """2-D ring, width 32, depth 2, latent 4, batch 64, Adam on both nets, non-saturating loss."""
    c = Config(width=32, depth=2, latent_dim=4, batch_size=64)
    g = (4 * 32 + 32) + (32 * 32 + 32) + (32 * 2 + 2)  # 1282
    d = (2 * 32 + 32) + (32 * 32 + 32) + (32 + 1)  # 1185
    assert parameter_counts(c, (2,)) == (1282, 1185) == (g, d)
    assert activation_floats(c, (2,)) == (32 + 32 + 2, 2 + 32 + 32 + 1)
    weights = (1282 + 1185) * 4 * (3 + 2 * 2)  # weights, grads, rollback copy; 2 Adam moments, copied too
    activations = 64 * (66 + 2 * 67) * 2 * 4  # G on a batch, D on real + fake, x2 for backward
    assert estimate_bytes(c) == weights + activations == 171_476


def test_a_small_dcgan_by_hand() -> None:
    """Width 8, batch 4: feature maps 16x7x7 and 8x14x14 in G, 8x14x14 and 16x7x7 in D."""
    c = Config(dataset="digits", arch="dcgan", width=8, batch_size=4)
    g_maps = 2 * 784 + 2 * 1568 + 2 * 784  # linear + batch norm, deconv + batch norm, deconv + tanh
    d_maps = 784 + 1568 + 784 + 1  # image, conv1, conv2, score
    assert activation_floats(c, (1, 28, 28)) == (g_maps, d_maps) == (6272, 3137)
    g, d = parameter_counts(c, (1, 28, 28))
    unfolded = 8 * 16 * 49  # conv2's im2col buffer per sample: 8 channels x 4x4 kernel x 7x7 positions
    expected = ((g + d) * 7 + 4 * ((6272 + 2 * 3137) * 2 + 2 * unfolded) + 5000 * 784) * 4
    assert estimate_bytes(c) == expected


def test_wgan_gp_counts_a_third_d_pass() -> None:
    c = Config(width=32, depth=2, latent_dim=4, batch_size=64)
    assert estimate_bytes(c.replace(loss="wgan-gp")) - estimate_bytes(c) == 64 * 67 * 2 * 4


def test_the_link_that_took_a_server_down_is_refused() -> None:
    huge = Config(dataset="digits", arch="dcgan", width=2048, batch_size=8192)
    assert estimate_bytes(huge) > 30e9  # 4.8 MB of feature maps per sample, times 8192
    with pytest.raises(BudgetError, match=r"run needs about \d+\.\d\d GB \(limit 8\.00 GB\): lower width"):
        check_budget(huge, None, 8e9)
    assert check_budget(Config(), None, 8e9) == estimate_bytes(Config())


def test_the_command_line_refuses_a_run_above_free_memory(tmp_path, capsys) -> None:
    code = main(["train", "--dataset", "digits", "--arch", "dcgan", "--width", "2048", "--batch-size", "8192",
                 "--device", "cpu", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert re.match(r"gancore: error: --batch-size: run needs about \d+\.\d\d GB \(limit \d+\.\d\d GB\)", err)
    assert not (tmp_path / "run").exists()


def test_free_memory_lies_between_the_free_and_the_total_ram() -> None:
    """MemAvailable counts free pages plus what the kernel can reclaim: at least the free, at most the total."""
    page = os.sysconf("SC_PAGE_SIZE")
    free, total = os.sysconf("SC_AVPHYS_PAGES") * page, os.sysconf("SC_PHYS_PAGES") * page
    assert 0.9 * free <= free_bytes("cpu") <= total  # read a moment apart: others allocate meanwhile
