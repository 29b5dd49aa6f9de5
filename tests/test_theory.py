"""The Theory tab's figures: the curves of the course's formulas, checked against derivatives, limits and
the numbers their captions quote."""

from __future__ import annotations

import math

import numpy as np
import plotly.io as pio
import pytest
from scipy import stats

from dashboard import theory

pytestmark = pytest.mark.usefixtures("validated")


def test_generator_loss_derivatives_match_finite_differences() -> None:
    d = np.array([0.01, 0.3, 0.7, 0.95])
    h = 1e-6
    curves, up = theory.generator_losses(d), theory.generator_losses(d + h)
    s = np.log(d / (1 - d))
    up_logit = theory.generator_losses(1 / (1 + np.exp(-(s + h))))
    for name, (loss, d_dd, d_ds) in curves.items():
        assert np.allclose((up[name][0] - loss) / h, d_dd, rtol=1e-3), name
        assert np.allclose((up_logit[name][0] - loss) / h, d_ds, rtol=1e-3, atol=1e-6), name
    # where D rejects the fakes, the saturating loss gives almost nothing back, the others about 1
    tiny = theory.generator_losses(np.array([1e-4]))
    assert abs(tiny["saturating"][2][0]) < 1e-3 and abs(tiny["nonsaturating"][2][0]) > 0.99


def test_js_is_flat_at_log2_once_disjoint_while_w1_keeps_growing() -> None:
    shifts = np.array([0.0, 0.5, 1.5, 3.0, 5.0])
    js, w1 = theory.js_w1_curves(shifts, "uniform", width=1.0)
    assert js[0] == pytest.approx(0, abs=1e-9)
    assert js[1] == pytest.approx(0.5 * math.log(2), abs=0.01)
    assert np.allclose(js[2:], math.log(2), atol=1e-9)  # disjoint: no gradient left
    assert np.allclose(w1, shifts, atol=0.01)  # W1 is the distance moved
    gjs, gw1 = theory.js_w1_curves(np.array([0.0, 2.0, 4.0]), "gaussian")
    assert gjs[0] < 1e-9 < gjs[1] < gjs[2] <= math.log(2) + 1e-9 and np.allclose(gw1, [0, 2, 4], atol=0.01)


def test_optimal_discriminator_saturates_while_the_critic_keeps_its_slope() -> None:
    x = np.linspace(-3, 6, 50)
    c = theory.optimal_d_and_critic(x, 3.0, 0.5)
    p_r, p_g = stats.norm.pdf(x, 0.0, 0.5), stats.norm.pdf(x, 3.0, 0.5)  # the densities, from scipy
    np.testing.assert_allclose(c["p_r"], p_r) and np.testing.assert_allclose(c["p_g"], p_g)
    np.testing.assert_allclose(c["d_opt"], p_r / (p_r + p_g), atol=1e-12)
    at = theory.optimal_d_and_critic(np.array([0.0, 1.5, 3.0]), 3.0, 0.5)["d_opt"]
    # on paper: D*(1.5) = 1/2 (halfway), D*(0) = sigmoid(9 / 0.5) = sigmoid(18), D*(3) = sigmoid(-18)
    np.testing.assert_allclose(at, [1 / (1 + math.exp(-18)), 0.5, 1 / (1 + math.exp(18))], rtol=1e-9)
    assert np.allclose(np.diff(c["critic"]) / np.diff(x), -1)
    far, near = theory.generator_gradients(5.0, 0.5), theory.generator_gradients(0.5, 0.5)
    assert far["saturating"] < 1e-10 < near["saturating"] and far["nonsaturating"] > near["nonsaturating"]
    assert far["critic"] == 1.0


def test_theory_figures_build() -> None:
    for fig in (theory.generator_losses_figure(0.02, "logit"), theory.generator_losses_figure(0.5, "d"),
                theory.js_w1_figure(2.0, "uniform"), theory.js_w1_figure(0.5, "gaussian"), theory.optimal_d_figure()):
        assert fig.data and all(not t.type.endswith("gl") for t in fig.data)
        assert "NaN" not in pio.to_json(fig, validate=False)
    assert theory.generator_losses_figure(0.02, "logit").layout.yaxis2.type == "log"


def test_theory_figures_show_the_numbers_of_their_captions() -> None:
    """JS saturates at log 2 once uniform P and Q (width 1) are disjoint at shift 2, W1 = 2 there; D* is
    1/2 halfway between the Gaussians; the gradient panel marks -d/dlogit at D = 0.02 for each loss."""
    js_w1 = theory.js_w1_figure(2.0, "uniform")
    by_name = {t.name: t for t in js_w1.data if t.name}
    assert list(by_name) == ["P (data)", "Q (generator)", "JS(P, Q)", "W1(P, Q)"]
    marker = next(t for t in js_w1.data if not t.name)
    np.testing.assert_allclose(marker.y, [math.log(2), 2.0])  # the current shift on both curves
    w1 = by_name["W1(P, Q)"]
    np.testing.assert_allclose(w1.y, np.abs(w1.x), atol=1e-9)  # equal shapes: W1 is the shift
    js = by_name["JS(P, Q)"]
    assert np.all(np.asarray(js.y)[np.asarray(js.x) > 1.01] == pytest.approx(math.log(2)))  # disjoint
    optimal = {t.name: t for t in theory.optimal_d_figure(3.0, 0.5).data}
    assert list(optimal) == ["p_data", "p_g", "optimal D*(x)", "WGAN critic f(x)"]
    x, d = np.asarray(optimal["optimal D*(x)"].x), np.asarray(optimal["optimal D*(x)"].y)
    assert np.interp(1.5, x, d) == pytest.approx(0.5, abs=0.01) and d[0] > 0.99 and d[-1] < 0.01
    assert max(optimal["p_data"].y) == pytest.approx(1 / (0.5 * math.sqrt(2 * math.pi)), rel=1e-3)
    losses = theory.generator_losses_figure(0.02, "logit")
    markers = [float(t.y[0]) for t in losses.data if not t.name]
    # |d loss / d logit| at D = 0.02: minimax D = 0.02, non-saturating 1 - D = 0.98, KL 1
    np.testing.assert_allclose(markers, [0.02, 0.98, 1.0], rtol=1e-6)
