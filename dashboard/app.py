"""gancore's live dashboard: `streamlit run dashboard/app.py`. Page layout only.

The page attaches to a run (session.py), draws the sidebar from the Config (controls.py) and five tabs:
Live (live.py), Theory (theory_page.py), Compare and Share (views.py), Sweep (sweep_launch.py;
`?sweep=NAME` is a sweep's map, sweeps.py). Training happens in the engine's thread; this
script only reads snapshots and posts commands.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run dashboard/app.py` puts dashboard/, not the repo, on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard import controls, live, recorded, session, sweep_launch, sweeps, theory_page, views  # noqa: E402

st.set_page_config(page_title="gancore · watch GANs train", page_icon="🎛️", layout="wide",
                   initial_sidebar_state="expanded")


def main() -> None:
    """The page. It returns rather than calling st.stop(): Streamlit forgets the fragments a run did not
    draw (the Live tab's, once the presenter view is on) only when the script ends normally; after a
    st.stop() the old fragment stayed registered, and a tick of it in flight wrote into blocks the new
    layout no longer had ("'setIn' cannot be called on an ElementNode": a blank page)."""
    if "sweep" in st.query_params:  # a sweep's map (sweeps.py): read-only too
        sweeps.page(st.query_params["sweep"])
        return
    if "dir" in st.query_params:  # a recorded run (recorded.py): read-only, so no run is made for this page
        sweeps.back_button(st.query_params["dir"])
        recorded.page(st.query_params["dir"])
        return
    binding = session.attach()
    if binding is None:  # every training slot is busy, or a class waits for its instructor: the theory needs none
        theory_page.draw()
        return
    entry = binding.entry
    st.session_state.setdefault("presenter", session.presenter_default(binding))  # before the URL is rewritten

    controls.sidebar(binding)
    recorded.sidebar_list()
    sweeps.sidebar_list()
    session.sync_url(binding)

    head, present, toggle = st.columns([3, 1, 1], vertical_alignment="center")
    head.markdown("#### gancore · watch a GAN train")
    present.toggle("Presenter view", key="presenter",
                   help="For a projector: no sidebar, the preset's charts large, big fonts.")
    toggle.toggle("Pause live view", key="freeze", help="Stop redrawing (training goes on) to zoom or hover a chart.")
    if st.session_state["presenter"]:
        live.presenter(entry)
        return

    # Only the open tab runs (on_change="rerun"): hidden live charts would still redraw every second.
    live_tab, theory_tab, compare_tab, share_tab, sweep_tab = st.tabs(
        ["Live", "Theory", "Compare", "Share & export", "Sweep"], key="tab", on_change="rerun")
    if live_tab.open:
        with live_tab:
            live.live_tab(entry)
    if theory_tab.open:
        with theory_tab:
            theory_page.draw()
    if compare_tab.open:
        with compare_tab:
            views.compare_tab(binding)
    if share_tab.open:
        with share_tab:
            views.share_tab(binding)
    if sweep_tab.open:
        with sweep_tab:
            sweep_launch.sweep_tab(binding)


main()
