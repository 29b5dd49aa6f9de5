"""What to watch: the preset's explanation, its one-click fix, and the banner that says the fix worked.

A fix is the live change the preset's text suggests (`gancore.presets.Fix`); applying it keeps the run
going, so a class sees the phenomenon undone on the same charts. The run as it was when the fix was
applied is kept in the entry, so every page watching the run judges the recovery against the same moment.
"""

from __future__ import annotations

from typing import Callable

import streamlit as st

from gancore.metrics import Snapshot
from gancore.presets import PRESETS, Preset

from .runs import Entry

BEFORE = "fix_before"  # Entry.meta: the snapshot as the fix was applied


def preset_of(entry: Entry) -> Preset | None:
    return PRESETS.get(entry.meta.get("preset", ""))


def explanation(entry: Entry, on_fix: Callable[[], None] | None) -> None:
    """The preset's words; for a page that may control the run (`on_fix`), its fix as a button."""
    preset = preset_of(entry)
    config = entry.run.config
    if preset is None:
        return
    if preset.fixed(config):
        st.caption(f"**Fix applied** to *{preset.title}*: {preset.fix.label.lower()}. It worked once "
                   f"{preset.fix.criterion}.")
    elif not preset.matches(config):
        st.caption(f"**Custom settings**, started from *{preset.title}*: what that preset shows may not apply.")
    else:
        with st.expander("What to watch", expanded=True):
            st.markdown(f"**{preset.title}.** {preset.explanation}")
            st.caption(f"Shows it when: {preset.criterion}.")
            if preset.fix is not None and on_fix is not None:
                changes = ", ".join(f"{name} to {value}" for name, value in preset.fix.changes)
                st.button(f"Try the fix: {preset.fix.label}", key="fix", on_click=on_fix, width="stretch",
                          help=f"Changes {changes} live, on this run: the charts show what it undoes.")


def apply_fix(entry: Entry) -> None:
    """The preset's fix on its run (`Fix.apply`), remembering the run as it was for the banner."""
    preset = preset_of(entry)
    if preset is not None and preset.fix is not None and preset.matches(entry.run.config):
        entry.meta[BEFORE] = preset.fix.apply(entry.run)


def fix_banner(entry: Entry, snap: Snapshot) -> str | None:
    """"The fix worked: ..." once the run, with the fix applied, meets the fix's criterion."""
    preset = preset_of(entry)
    before: Snapshot | None = entry.meta.get(BEFORE)
    if preset is None or before is None or not preset.fixed(entry.run.config) or snap.step < before.step:
        return None
    if preset.fix.recovered(before, snap):
        return f"**The fix worked:** {preset.fix.criterion}."
    return None
