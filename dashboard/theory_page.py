"""The Theory tab: three interactive pictures of why GAN objectives behave as they do (figures: theory.py).
The one module of the view that names objectives: it is about them."""

from __future__ import annotations

import numpy as np
import streamlit as st

from . import theory
from .live import chart

def draw() -> None:
    """Three interactive pictures; a fragment, so moving a slider redraws this tab only."""
    st.fragment(_theory)()


def _theory() -> None:
    st.subheader("1 · Why the original generator loss stalls")
    controls, picture = st.columns([1, 3])
    with controls:
        at = st.slider("D(G(z)): how real D finds the fakes", 0.001, 0.999, 0.02, step=0.001, format="%.3f",
                       key="th_d")
        wrt = st.radio("Gradient with respect to", ["logit", "d"], key="th_wrt",
                       format_func={"logit": "D's logit (what reaches G)", "d": "D(G(z)) itself"}.get)
        values = theory.generator_losses(np.array([at]))
        rows = [f"| {theory.GEN_LOSSES[n][0].split('  ')[0]} | {abs(v[2][0] if wrt == 'logit' else v[1][0]):.3g} |"
                for n, v in values.items()]
        st.markdown("| loss | gradient |\n|---|---|\n" + "\n".join(rows))
        st.caption("Early in training D rejects the fakes (D(G(z)) ≈ 0). There the saturating loss passes "
                   "back a gradient ∝ D(G(z)) → 0, while −log D passes back ≈ 1: same fixed point, "
                   "very different learning signal.")
    with picture:
        chart(theory.generator_losses_figure(at, wrt), "theory-losses")

    st.subheader("2 · JS divergence vs Wasserstein-1 as Q slides away from P")
    controls, picture = st.columns([1, 3])
    with controls:
        shift = st.slider("Shift θ of Q", 0.0, 6.0, 2.0, step=0.1, key="th_shift")
        shape = st.radio("Shape", ["uniform", "gaussian"], key="th_shape", horizontal=True)
        p, q = theory.density(shape, 0.0), theory.density(shape, shift)
        st.metric("JS(P, Q)", f"{theory.js_divergence(p, q):.3f} nats", help="log 2 = 0.693")
        st.metric("W1(P, Q)", f"{theory.w1_distance(p, q):.3f}")
        st.caption("Once the supports stop overlapping, JS is stuck at log 2: moving Q closer does not change "
                   "it, so its gradient is zero. W1 keeps measuring the distance and tells G which way to go.")
    with picture:
        chart(theory.js_w1_figure(shift, shape), "theory-js-w1")

    st.subheader("3 · The optimal discriminator vs a WGAN critic")
    controls, picture = st.columns([1, 3])
    with controls:
        distance = st.slider("Distance between the Gaussians", 0.2, 6.0, 3.0, step=0.1, key="th_distance")
        sigma = st.slider("Std of each", 0.2, 2.0, 0.5, step=0.05, key="th_sigma")
        grads = theory.generator_gradients(distance, sigma)
        st.markdown("G's gradient at the fakes (x = distance):\n\n"
                    f"| from | \\|∂/∂x\\| |\n|---|---|\n| D* with log(1 − D) | {grads['saturating']:.2g} |\n"
                    f"| D* with −log D | {grads['nonsaturating']:.2g} |\n| WGAN critic | {grads['critic']:.2g} |")
        st.caption(f"D*(fake) = {grads['D*(fake)']:.2g}. The optimal D is a saturated step: flat where the "
                   "fakes are. The critic is a straight line of slope 1 whatever the distance.")
    with picture:
        chart(theory.optimal_d_figure(distance, sigma), "theory-optimal-d")
