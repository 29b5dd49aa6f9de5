"""Binding a browser session to its run: the URL token, the role (access.py), the lease, and the settings
kept in the URL.

A page opened without `?run=` (or with a token this server no longer knows) gets a new run built from
the link's settings (`?preset=...&lr_g=...`), or the default preset, and controls it: its token and its
control key go into the URL, so a reload or a reconnect finds the same run with the same rights. In
classroom mode a page without the instructor key never makes a run: it watches the featured one (or
waits for it). After every full script run the URL is rewritten to hold the run's current settings.
"""

from __future__ import annotations

import os

import streamlit as st

from gancore.config import ConfigError
from gancore.data import DataError
from gancore.presets import DEFAULT_PRESET, PRESETS

from . import share
from .access import Binding, bind, classroom, is_instructor
from .runs import Busy, lease, registry


def attach() -> Binding | None:
    """This session's run (created if needed) and its role, with a lease held on the run; None (and a
    message) when every training slot is busy or, for a class, while the instructor has started nothing."""
    params = st.query_params.to_dict()
    reg = registry()
    entry = reg.get(params.get("run"))
    created = False
    if entry is None and is_instructor(params):  # a second instructor tab shows the same run
        entry = reg.featured_entry()
    if entry is None and classroom() and not is_instructor(params):
        entry = reg.featured_entry()
        if entry is None:
            waiting()
            return None
    elif entry is None:
        created = True
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
    binding = bind(entry, params, created=created)
    if binding.role == "instructor":
        reg.feature(entry.token)
    lease(entry.token)
    st.session_state["_token"] = entry.token
    st.session_state["_binding"] = binding
    st.session_state["_follows"] = "run" not in params and binding.role == "viewer"  # the featured run
    if "_compare" not in st.session_state:  # a reload keeps the comparison too (`?compare=a,b`)
        tokens = [t for t in params.get("compare", "").split(",") if t]
        held = [reg.get(t) for t in tokens]
        st.session_state["_compare"] = tokens if len(tokens) == 2 and all(held) else None
        for token in st.session_state["_compare"] or ():
            lease(token)
    for warning in st.session_state.get("_url_warnings", []):
        st.warning(warning)
    return binding


def presenter_default(binding: Binding) -> bool:
    """A link may open in the presenter view (`?presenter=1`); in a class, GANCORE_PRESENTER=1 makes it the
    instructor's default."""
    if st.query_params.get("presenter") in ("1", "true"):
        return True
    return binding.role == "instructor" and os.environ.get("GANCORE_PRESENTER", "") in ("1", "true")


def waiting() -> None:
    """A classroom page before the instructor has started a run: it turns live by itself."""
    st.info("**Waiting for the instructor** to start a run. This page turns live by itself.", icon="⏳")

    @st.fragment(run_every=2.0)
    def poll() -> None:
        if registry().featured_entry() is not None:
            st.rerun(scope="app")
    poll()


def url_params(binding: Binding) -> dict[str, str]:
    """What the address bar holds: the run and the secret that gives this session its role (the viewer of a
    class's featured run keeps a plain address, so it follows the instructor), then the settings."""
    entry = binding.entry
    if st.session_state.get("_follows"):
        return {}
    secret = {"instructor": {"key": st.query_params.get("key", "")}, "owner": {"ctl": entry.control_key}}
    params = {"run": entry.token, **secret.get(binding.role, {}),
              **share.config_to_params(entry.run.config, entry.meta.get("preset"))}
    compare = st.session_state.get("_compare")
    if compare:
        params["compare"] = ",".join(compare)
    return params


def sync_url(binding: Binding) -> None:
    """Keep the address bar equal to the run's token and settings (only writes when they differ)."""
    params = url_params(binding)
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)
