"""The Theory, Compare and Share tabs (the Live tab is in live.py). Layout and widgets only: the figures
come from theory.py and charts.py, the links and files from share.py."""

from __future__ import annotations

import json

import numpy as np
import streamlit as st

from gancore import checkpoint
from gancore.config import LOSSES, Config, ConfigError
from gancore.data import DataError
from gancore.presets import PRESETS

from . import charts, share, theory
from .controls import interval
from .live import chart, snapshot
from .runs import Busy, Entry, lease, registry

# --- Theory ------------------------------------------------------------------------------------------------


def theory_tab() -> None:
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


# --- Compare ----------------------------------------------------------------------------------------------
CURRENT = "(current settings)"
SAME = "(as the base)"
COMPARE_CHARTS = ("w1_exact", "modes_covered_strict", "grad_norm_g", "w_estimate")


def compare_configs(a: Config, base_b: Config, loss_a: str | None, loss_b: str | None) -> tuple[Config, Config]:
    """A and B share A's data, data parameters, conditioning and seed; each may switch its objective."""
    shared = {k: getattr(a, k) for k in ("dataset", "modes", "radius", "std", "data_dir", "seed", "device")}
    config_a = a.replace(loss=loss_a) if loss_a else a
    config_b = base_b.replace(**shared, **({"loss": loss_b} if loss_b else {}))
    return config_a, config_b


def compare_tab(entry: Entry) -> None:
    st.fragment(_compare)(entry.token)


def _compare_entries() -> list[Entry] | None:
    tokens = st.session_state.get("_compare")
    if not tokens:
        return None
    entries = [registry().get(t) for t in tokens]
    if any(e is None for e in entries):
        st.session_state["_compare"] = None
        return None
    for e in entries:
        lease(e.token)
    return entries  # type: ignore[return-value]


def _compare(token: str) -> None:
    main = registry().get(token)
    if main is None:
        return
    entries = _compare_entries()
    if entries is None:
        _compare_setup(main)
        return
    buttons = st.columns(5)
    if buttons[0].button("Start both", key="cmp_start", type="primary", width="stretch"):
        for e in entries:
            e.run.start()
    if buttons[1].button("Pause both", key="cmp_pause", width="stretch"):
        for e in entries:
            e.run.pause()
    if buttons[2].button("Reset both", key="cmp_reset", width="stretch"):
        for e in entries:
            e.run.reset()
    if buttons[3].button("Remove", key="cmp_remove", width="stretch", help="Stop both runs and free their slots"):
        for e in entries:
            registry().discard(e.token)
        st.session_state["_compare"] = None
        st.rerun()
    buttons[4].radio("x axis", ["step", "time"], key="cmp_x", horizontal=True, label_visibility="collapsed",
                     format_func={"step": "by step", "time": "by seconds"}.get)
    st.fragment(run_every=interval())(_compare_live)([e.token for e in entries])


def _compare_setup(main: Entry) -> None:
    st.markdown("Two runs side by side on **the same data and seed**, curves overlaid. Each side starts from "
                "your current settings or a preset, and may switch its objective.")
    options = [CURRENT] + list(PRESETS)
    losses = [SAME] + list(LOSSES)
    cols = st.columns(2)
    choice = {}
    for col, side, base, loss in ((cols[0], "a", CURRENT, SAME), (cols[1], "b", "wgan-gp", SAME)):
        with col:
            st.markdown(f"**Run {side.upper()}**")
            choice[side] = (
                st.selectbox("Start from", options, index=options.index(base), key=f"cmp_{side}_base",
                             format_func=lambda n: PRESETS[n].title if n in PRESETS else n),
                st.selectbox("Objective", losses, index=losses.index(loss), key=f"cmp_{side}_loss"),
            )
    free = registry().capacity - registry().in_use()
    st.caption(f"Uses two training slots ({free} free). Run A's data set, data parameters and seed are used "
               "for both.")
    if st.button("Create the two runs", key="cmp_create", type="primary"):
        def pick(side: str) -> tuple[Config, str | None]:
            base, loss = choice[side]
            return (main.run.config if base == CURRENT else PRESETS[base].config), (None if loss == SAME else loss)
        (a, loss_a), (b, loss_b) = pick("a"), pick("b")
        try:
            config_a, config_b = compare_configs(a, b, loss_a, loss_b)
            made = [registry().create(config_a, label=f"A: {config_a.loss}"),
                    ]
            try:
                made.append(registry().create(config_b, label=f"B: {config_b.loss}"))
            except Exception:
                registry().discard(made[0].token)
                raise
        except (ConfigError, DataError, Busy) as exc:
            st.error(str(exc), icon="⚠️")
            return
        st.session_state["_compare"] = [e.token for e in made]
        for e in made:
            lease(e.token)
        st.rerun()


def _compare_live(tokens: list[str]) -> None:
    entries = [registry().get(t) for t in tokens]
    if any(e is None for e in entries):
        st.warning("A compared run was stopped. Create the runs again.")
        return
    snaps = [(e.meta.get("label", e.token), snapshot(e)) for e in entries]
    x = st.session_state.get("cmp_x", "step")
    cols = st.columns(2)
    for col, (label, snap) in zip(cols, snaps):
        with col:
            st.markdown(f"**{label}** — {snap.state.get('status', '')}, step {snap.step}")
            frame = snap.state.get("frame")
            if frame is not None and frame.get("kind") == "image":
                st.image(charts.image_grid(frame), width="stretch")
            else:
                chart(charts.samples(frame, height=420), f"cmp-samples-{label[0]}")
    for row in range(0, len(COMPARE_CHARTS), 2):
        cols = st.columns(2)
        for col, metric in zip(cols, COMPARE_CHARTS[row: row + 2]):
            with col:
                chart(charts.compare(snaps, metric, x), f"cmp-{metric}")


# --- Share and keep ------------------------------------------------------------------------------------------


def share_tab(entry: Entry) -> None:
    config = entry.run.config
    params = share.config_to_params(config, entry.meta.get("preset"))
    base = st.context.url
    left, right = st.columns(2)
    with left:
        st.markdown("**Reproduce this setup** — a fresh run with these settings, seed included:")
        st.code(share.link(base, params), language=None, wrap_lines=True)
        st.markdown("**Watch this run live** — the same run on this server (a second screen, or students on "
                    "the classroom network):")
        st.code(share.link(base, {"run": entry.token, **params}), language=None, wrap_lines=True)
        with st.expander("Serving the dashboard to a class on the local network"):
            st.markdown(
                "On the instructor's machine:\n\n"
                "```\nstreamlit run dashboard/app.py --server.address 0.0.0.0 --server.port 8501\n```\n"
                "Students open `http://<instructor-ip>:8501` (find the address with `hostname -I` on Linux, "
                "`ipconfig` on Windows); send them the *Watch this run live* link to follow your run. "
                f"At most {registry().capacity} runs train at once (`GANCORE_MAX_RUNS`); a run nobody watches "
                f"stops after {registry().grace:.0f} s (`GANCORE_GRACE`).")
    with right:
        snap = snapshot(entry)
        name = f"gancore-{config.dataset}-{config.loss}-seed{config.seed}-step{snap.step}"
        st.download_button("Metrics (CSV)", lambda: share.metrics_csv(snapshot(entry)), f"{name}-metrics.csv",
                           "text/csv", key="dl_metrics", on_click="ignore", width="stretch",
                           help="Every logged column; steps before the last 4,096 are bucket averages.")
        st.download_button("Live changes (CSV)", lambda: share.events_csv(snapshot(entry)), f"{name}-events.csv",
                           "text/csv", key="dl_events", on_click="ignore", width="stretch")
        st.download_button("Settings (JSON)", config.to_json() + "\n", f"{name}-config.json", "application/json",
                           key="dl_config", on_click="ignore", width="stretch",
                           help="`gancore train --config <file>` reproduces the run from the command line.")
        png = share.sample_png(snap.state.get("frame"))
        st.download_button("Sample picture (PNG)", png or b"", f"{name}-samples.png", "image/png", key="dl_png",
                           on_click="ignore", width="stretch", disabled=png is None)
        st.download_button("Checkpoint (.pt)", lambda: entry.run.call(checkpoint.to_bytes).result(timeout=60),
                           f"{name}.pt", "application/octet-stream", key="dl_checkpoint", on_click="ignore",
                           width="stretch", help="Weights, optimizer state, settings and step: "
                                                 "`gancore train --resume <file>` continues it.")
        with st.expander("Settings as JSON"):
            st.code(json.dumps(config.to_dict(), indent=2), language="json")
