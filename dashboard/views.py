"""The Compare and Share tabs (Live is in live.py, Theory in theory_page.py). Layout and widgets only: the
figures come from charts.py, the links and files from share.py."""

from __future__ import annotations

import json

import streamlit as st

from gancore import checkpoint
from gancore.config import FIELDS, Config, ConfigError
from gancore.data import DataError
from gancore.presets import CONTRAST_PRESET, PRESETS
from gancore.records import ImageFrame

from . import charts, pictures, share
from .controls import interval
from .live import chart, snapshot
from .access import Binding
from .runs import Busy, Entry, lease, registry

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


def compare_tab(binding: Binding) -> None:
    if not binding.may_control:  # comparing starts two runs: a watcher makes a copy of their own first
        st.info("Comparing starts two runs of your own: press **Make my own copy** first.", icon="👀")
        return
    st.fragment(_compare)(binding.entry.token)


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
    losses = [SAME] + list(FIELDS["loss"].metadata["choices"])
    cols = st.columns(2)
    choice = {}
    for col, side, base, loss in ((cols[0], "a", CURRENT, SAME), (cols[1], "b", CONTRAST_PRESET, SAME)):
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
            st.markdown(f"**{label}** — {snap.status}, step {snap.step}")
            frame = snap.frame
            if isinstance(frame, ImageFrame):
                st.image(pictures.image_grid(frame), width="stretch")
            else:
                chart(pictures.samples(frame, height=420), f"cmp-samples-{label[0]}")
    for row in range(0, len(COMPARE_CHARTS), 2):
        cols = st.columns(2)
        for col, metric in zip(cols, COMPARE_CHARTS[row: row + 2]):
            with col:
                chart(charts.compare(snaps, metric, x), f"cmp-{metric}")


# --- Share and keep ------------------------------------------------------------------------------------------


def share_tab(binding: Binding) -> None:
    entry = binding.entry
    config = entry.run.config
    params = share.config_to_params(config, entry.meta.get("preset"))
    base = st.context.url
    left, right = st.columns(2)
    with left:
        st.markdown("**Reproduce this setup** — a fresh run with these settings, seed included:")
        st.code(share.link(base, params), language=None, wrap_lines=True)
        st.markdown("**Watch this run live** — the same run on this server, read-only (a second screen, or "
                    "students on the classroom network):")
        st.code(share.link(base, {"run": entry.token, **params}), language=None, wrap_lines=True)
        if binding.role == "owner":
            st.markdown("**Control this run** — keep this link to yourself: whoever holds it can pause, "
                        "retune and reset the run:")
            st.code(share.link(base, {"run": entry.token, "ctl": entry.control_key}), language=None,
                    wrap_lines=True)
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
        st.download_button("Sample picture (PNG)", lambda: share.sample_png(snapshot(entry).frame) or b"",
                           f"{name}-samples.png", "image/png", key="dl_png", on_click="ignore", width="stretch",
                           disabled=snap.frame is None, help="The current samples with a title, axes and a "
                           "legend (the picture `gancore train` saves as samples.png), drawn when clicked.")
        st.download_button("Checkpoint (.pt)", lambda: entry.run.call(checkpoint.to_bytes).result(timeout=60),
                           f"{name}.pt", "application/octet-stream", key="dl_checkpoint", on_click="ignore",
                           width="stretch", help="Weights, optimizer state, settings and step: "
                                                 "`gancore train --resume <file>` continues it.")
        with st.expander("Settings as JSON"):
            st.code(json.dumps(config.to_dict(), indent=2), language="json")
