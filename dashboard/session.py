"""Binding a browser session to its run: the URL token, the lease, and the settings kept in the URL.

A page opened without `?run=` (or with a token this server no longer knows) gets a new run built from
the link's settings (`?preset=...&lr_g=...`), or the default preset; its token then goes into the URL, so
a reload or a reconnect finds the same run. After every full script run the URL is rewritten to hold the
run's current settings, so copying the address bar is sharing the setup.
"""

from __future__ import annotations

import streamlit as st

from gancore.config import ConfigError
from gancore.data import DataError
from gancore.presets import DEFAULT_PRESET, PRESETS

from . import share
from .runs import Busy, Entry, lease, registry


def attach() -> Entry | None:
    """This session's run (created if needed) with a lease held on it; None (and a message) when every
    training slot is busy."""
    params = st.query_params.to_dict()
    reg = registry()
    entry = reg.get(params.get("run"))
    if entry is None:
        config, preset, warnings = share.params_to_config(params)
        try:
            try:
                entry = reg.create(config, preset=preset)
            except (ConfigError, DataError) as exc:  # e.g. a link naming a data folder this server lacks
                warnings.append(f"the link's settings could not start a run ({exc}): using the default preset")
                entry = reg.create(PRESETS[DEFAULT_PRESET].config, preset=DEFAULT_PRESET)
        except Busy as exc:
            st.error(f"**{exc}**", icon="⏳")
            return None
        st.session_state["_url_warnings"] = warnings
    lease(entry.token)
    st.session_state["_token"] = entry.token
    if "_compare" not in st.session_state:  # a reload keeps the comparison too (`?compare=a,b`)
        tokens = [t for t in params.get("compare", "").split(",") if t]
        held = [reg.get(t) for t in tokens]
        st.session_state["_compare"] = tokens if len(tokens) == 2 and all(held) else None
        for token in st.session_state["_compare"] or ():
            lease(token)
    for warning in st.session_state.get("_url_warnings", []):
        st.warning(warning)
    return entry


def url_params(entry: Entry) -> dict[str, str]:
    params = {"run": entry.token, **share.config_to_params(entry.run.config, entry.meta.get("preset"))}
    compare = st.session_state.get("_compare")
    if compare:
        params["compare"] = ",".join(compare)
    return params


def sync_url(entry: Entry) -> None:
    """Keep the address bar equal to the run's token and settings (only writes when they differ)."""
    params = url_params(entry)
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)
