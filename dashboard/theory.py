"""The Theory tab: three interactive pictures that need no training, as pure numpy + Plotly functions.

1. The three generator losses against D(G(z)), and the gradient each passes back, showing where the
   original (saturating) loss goes flat: when D rejects the fakes, exactly where G most needs to learn.
2. JS divergence against W1 while one distribution slides away from another: JS stops at log 2 once the
   supports no longer overlap (no gradient), W1 keeps growing with the distance.
3. The optimal discriminator against a WGAN critic on two 1-D Gaussians: a saturating step against a
   straight line whose slope never vanishes.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .figure import COLORS, style

LOG2 = math.log(2.0)
GEN_LOSSES = {  # name: (formula shown, colour)
    "saturating": ("log(1 − D)  (minimax, minimised)", "#d62728"),
    "nonsaturating": ("−log D  (non-saturating)", "#1f5fbf"),
    "kl": ("−log(D / (1 − D))  (KL / logit)", "#2ca02c"),
}


# --- 1. generator losses -------------------------------------------------------------------------------
def generator_losses(d: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """For D(G(z)) = d in (0, 1): each generator loss, its derivative with respect to d, and its derivative
    with respect to D's logit s (d = sigmoid(s)), which is what backpropagation hands to G.

    saturating  log(1-d):      dL/dd = -1/(1-d),     dL/ds = -d        -> 0 as d -> 0 (vanishes)
    nonsaturating -log d:      dL/dd = -1/d,         dL/ds = -(1-d)    -> -1 as d -> 0 (strong)
    kl          -log(d/(1-d)): dL/dd = -1/(d(1-d)),  dL/ds = -1        (constant)
    """
    d = np.asarray(d, np.float64)
    return {
        "saturating": (np.log1p(-d), -1.0 / (1.0 - d), -d),
        "nonsaturating": (-np.log(d), -1.0 / d, -(1.0 - d)),
        "kl": (-np.log(d) + np.log1p(-d), -1.0 / (d * (1.0 - d)), -np.ones_like(d)),
    }


def generator_losses_figure(at: float = 0.05, wrt: str = "logit", height: int = 440) -> go.Figure:
    """Left: the losses against D(G(z)); right: |gradient| on a log axis (w.r.t. D's logit or D itself),
    with the value at `at` marked. Early in training D(G(z)) is near 0: the left end is what matters."""
    d = np.concatenate([np.logspace(-4, -1, 120), np.linspace(0.1, 0.9999, 200)[1:]])
    curves = generator_losses(d)
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12,
                        subplot_titles=("Generator loss", "|gradient| w.r.t. " + ("D's logit" if wrt == "logit"
                                                                                   else "D(G(z))")))
    for name, (loss, d_dd, d_ds) in curves.items():
        label, colour = GEN_LOSSES[name]
        grad = np.abs(d_ds if wrt == "logit" else d_dd)
        fig.add_trace(go.Scatter(x=d, y=loss, name=label, mode="lines", line=dict(color=colour, width=3),
                                 legendgroup=name), row=1, col=1)
        fig.add_trace(go.Scatter(x=d, y=grad, name=label, mode="lines", line=dict(color=colour, width=3),
                                 legendgroup=name, showlegend=False), row=1, col=2)
        at_values = generator_losses(np.array([at]))[name]
        fig.add_trace(go.Scatter(x=[at], y=[abs(at_values[2 if wrt == "logit" else 1][0])], mode="markers",
                                 marker=dict(color=colour, size=12, line=dict(color="white", width=1)),
                                 showlegend=False, hovertemplate=f"{name}: %{{y:.3g}}<extra></extra>"),
                      row=1, col=2)
    style(fig, "", "", x_title="D(G(z))", height=height)
    fig.update_layout(hovermode="x unified", margin=dict(t=90),
                      legend=dict(orientation="h", y=1.12, x=0.0, yanchor="bottom"))
    fig.update_xaxes(title_text="D(G(z))  (0: D rejects the fake)")
    fig.update_yaxes(title_text="loss G minimises", range=[-6, 6], row=1, col=1)
    fig.update_yaxes(type="log", exponentformat="power", dtick=1, title_text="|gradient| (log)", row=1, col=2)
    fig.add_vline(x=at, line=dict(color="#555", dash="dot"), row=1, col=2)
    fig.add_vrect(x0=0, x1=0.1, fillcolor="#d62728", opacity=0.07, line_width=0, row=1, col=2)
    fig.add_annotation(x=0.05, y=0.02, xref="x2", yref="y2 domain", text="G is losing:<br>saturating loss is flat",
                       showarrow=False, font=dict(size=13, color="#a01010"), xanchor="left", yanchor="bottom")
    return fig


# --- 2. JS vs W1 -----------------------------------------------------------------------------------------
GRID = np.linspace(-3.0, 11.0, 2801)  # 0.005 wide cells


def density(shape: str, shift: float, width: float = 1.0, grid: np.ndarray = GRID) -> np.ndarray:
    """Cell masses (summing to 1) of a uniform on [shift, shift + width] or a Gaussian centred at
    shift + width/2 with std width/4, computed from the CDF so edges are exact."""
    edges = np.concatenate([[grid[0] - (grid[1] - grid[0]) / 2], (grid[1:] + grid[:-1]) / 2,
                            [grid[-1] + (grid[-1] - grid[-2]) / 2]])
    if shape == "uniform":
        cdf = np.clip((edges - shift) / width, 0.0, 1.0)
    else:
        from scipy.special import ndtr
        cdf = ndtr((edges - (shift + width / 2)) / (width / 4))
    mass = np.diff(cdf)
    return mass / mass.sum()


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """JS(P, Q) in nats between two histograms on the same cells (0 log 0 = 0); at most log 2."""
    m = 0.5 * (p + q)

    def kl(a: np.ndarray) -> float:
        nz = a > 0
        return float(np.sum(a[nz] * np.log(a[nz] / m[nz])))

    return 0.5 * kl(p) + 0.5 * kl(q)


def w1_distance(p: np.ndarray, q: np.ndarray, grid: np.ndarray = GRID) -> float:
    """W1 between two histograms on a 1-D grid: the area between their CDFs."""
    step = float(grid[1] - grid[0])
    return float(np.sum(np.abs(np.cumsum(p - q))) * step)


def js_w1_curves(shifts: np.ndarray, shape: str = "uniform", width: float = 1.0
                 ) -> tuple[np.ndarray, np.ndarray]:
    """JS and W1 between P (at 0) and Q (P shifted by each value of `shifts`)."""
    p = density(shape, 0.0, width)
    js = np.array([js_divergence(p, density(shape, s, width)) for s in shifts])
    w1 = np.array([w1_distance(p, density(shape, s, width)) for s in shifts])
    return js, w1


def js_w1_figure(shift: float = 2.0, shape: str = "uniform", width: float = 1.0, height: int = 440) -> go.Figure:
    """Left: P and the shifted Q; right: JS and W1 against the shift, the current one marked."""
    shifts = np.linspace(0.0, 6.0, 121)
    js, w1 = js_w1_curves(shifts, shape, width)
    p, q = density(shape, 0.0, width), density(shape, shift, width)
    cell = float(GRID[1] - GRID[0])
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12,
                        subplot_titles=(f"P and Q, shifted by θ = {shift:g}", "Divergence against the shift θ"))
    for mass, name, colour in ((p, "P (data)", "#555555"), (q, "Q (generator)", COLORS["g"])):
        fig.add_trace(go.Scatter(x=GRID, y=mass / cell, name=name, mode="lines", fill="tozeroy",
                                 line=dict(color=colour, width=2)), row=1, col=1)
    fig.add_trace(go.Scatter(x=shifts, y=js, name="JS(P, Q)", mode="lines", line=dict(color=COLORS["d"], width=3)),
                  row=1, col=2)
    fig.add_trace(go.Scatter(x=shifts, y=w1, name="W1(P, Q)", mode="lines", line=dict(color=COLORS["w1"], width=3)),
                  row=1, col=2)
    js_now, w1_now = js_divergence(p, q), w1_distance(p, q)
    fig.add_trace(go.Scatter(x=[shift, shift], y=[js_now, w1_now], mode="markers", showlegend=False,
                             marker=dict(size=12, color=[COLORS["d"], COLORS["w1"]]),
                             hovertemplate="%{y:.3f}<extra></extra>"), row=1, col=2)
    fig.add_hline(y=LOG2, line=dict(color=COLORS["d"], dash="dot"), row=1, col=2, annotation_text="log 2",
                  annotation_position="bottom right")
    style(fig, "", "", x_title="", height=height)
    fig.update_layout(hovermode="x unified", margin=dict(t=90),
                      legend=dict(orientation="h", y=1.12, x=0.0, yanchor="bottom"))
    fig.update_xaxes(title_text="x", range=[-1.5, 8.5], row=1, col=1)
    fig.update_xaxes(title_text="shift θ", row=1, col=2)
    fig.update_yaxes(title_text="density", row=1, col=1)
    fig.update_yaxes(title_text="nats / distance", row=1, col=2)
    return fig


# --- 3. optimal D vs WGAN critic ---------------------------------------------------------------------------
def optimal_d_and_critic(x: np.ndarray, distance: float, sigma: float) -> dict[str, np.ndarray]:
    """p_r = N(0, sigma^2), p_g = N(distance, sigma^2). The optimal discriminator D*(x) = p_r/(p_r+p_g)
    = sigmoid(s(x)) with logit s(x) = (distance^2 - 2 x distance) / (2 sigma^2); the optimal WGAN critic
    for two equal-width Gaussians is the 1-Lipschitz line f(x) = -x sign(distance) (up to a constant)."""
    from scipy.special import expit
    x = np.asarray(x, np.float64)
    pr = np.exp(-0.5 * (x / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
    pg = np.exp(-0.5 * ((x - distance) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
    logit = (distance ** 2 - 2 * x * distance) / (2 * sigma ** 2)
    return {"p_r": pr, "p_g": pg, "d_opt": expit(logit), "critic": -x * np.sign(distance or 1.0)}


def generator_gradients(distance: float, sigma: float) -> dict[str, float]:
    """|d/dx| of each generator loss at the fake distribution's centre x = distance, against D* and the
    critic: what G would learn from a perfect discriminator. Saturating: D*(x) |s'(x)|; non-saturating:
    (1 - D*(x)) |s'(x)|; critic: 1 (its slope)."""
    from scipy.special import expit
    slope = abs(distance) / sigma ** 2
    d_at_fake = float(expit(-distance ** 2 / (2 * sigma ** 2)))
    return {"D*(fake)": d_at_fake, "saturating": d_at_fake * slope, "nonsaturating": (1 - d_at_fake) * slope,
            "critic": 1.0}


def optimal_d_figure(distance: float = 3.0, sigma: float = 0.5, height: int = 480) -> go.Figure:
    """Top: the two densities; bottom: D*(x) (left axis) and the critic f(x) (right axis)."""
    x = np.linspace(-3.0 - 3 * sigma, max(distance, 0) + 3.0 + 3 * sigma, 600)
    curves = optimal_d_and_critic(x, distance, sigma)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.4, 0.6],
                        specs=[[{}], [{"secondary_y": True}]])
    fig.add_trace(go.Scatter(x=x, y=curves["p_r"], name="p_data", fill="tozeroy", mode="lines",
                             line=dict(color="#555", width=2)), row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=curves["p_g"], name="p_g", fill="tozeroy", mode="lines",
                             line=dict(color=COLORS["g"], width=2)), row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=curves["d_opt"], name="optimal D*(x)", mode="lines",
                             line=dict(color=COLORS["d"], width=3)), row=2, col=1, secondary_y=False)
    fig.add_trace(go.Scatter(x=x, y=curves["critic"], name="WGAN critic f(x)", mode="lines",
                             line=dict(color=COLORS["estimate"], width=3, dash="dash")), row=2, col=1,
                  secondary_y=True)
    style(fig, "", "", x_title="", height=height)
    fig.update_layout(hovermode="x unified", margin=dict(t=50),
                      legend=dict(orientation="h", y=1.02, x=0.0, yanchor="bottom"))
    fig.update_yaxes(title_text="density", row=1, col=1)
    fig.update_yaxes(title_text="D*(x)", range=[-0.02, 1.02], row=2, col=1, secondary_y=False)
    fig.update_yaxes(title_text="f(x)", row=2, col=1, secondary_y=True, showgrid=False)
    fig.update_xaxes(title_text="x", row=2, col=1)
    return fig
