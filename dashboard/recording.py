"""The log directory, and "Record this run": the dashboard's own run writes a run directory into it.

`GANCORE_LOGDIR` names the log directory (default: `runs/` in the working directory). The page reads the
run directories under it (recorded.py) and, when the owner or the instructor presses "Record this run",
the run writes one there from that moment on, its history so far first (gancore.recorder), so a demo
trained live today replays tomorrow. Recording makes the log directory if it is missing (and says so);
its place is the server's setting, never the browser's. Who may record is decided here, on the server, by
the session's binding (a viewer is refused with a message, whatever the page drew); a reset goes on into a
new directory (the engine's recorder does that), and the recording ends with the run.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import streamlit as st

from gancore.presets import PRESETS
from gancore.recorder import Recorder

from .access import Binding, Refused

LOGDIR_ENV = "GANCORE_LOGDIR"
DEFAULT_LOGDIR = "runs"  # in the working directory: read when it exists, made when a run is recorded
_LOCK = threading.Lock()  # two tabs of one owner pressing at once start one recording


def logdir_path() -> Path:
    """Where the log directory is (whether or not it exists yet)."""
    return Path(os.environ.get(LOGDIR_ENV, "") or DEFAULT_LOGDIR)


def logdir() -> Path | None:
    """The log directory this server reads, or None when there is none (yet)."""
    path = logdir_path()
    return path if path.is_dir() else None


def recorder_of(binding: Binding) -> Recorder | None:
    return binding.entry.meta.get("recorder")


def toggle(binding: Binding) -> str:
    """Start or stop recording the session's run; returns what to tell the user. Refused for a viewer."""
    run = binding.control()
    entry = binding.entry
    with _LOCK:
        recorder = entry.meta.pop("recorder", None)
        if recorder is not None:  # detached whether it records or stopped on a failed write
            recording = recorder.path is not None
            try:
                recorder.stop()
            except RuntimeError:  # the run ended meanwhile: its end closed the recording already
                pass
            if recording:
                return f"Recording stopped: {recorder.paths[-1].name} is complete in {recorder.logdir}."
        root = logdir_path()
        made = not root.is_dir()
        preset = entry.meta.get("preset")
        recorder = Recorder(run, root, preset if preset in PRESETS else run.config.dataset)
        try:
            path = recorder.start()
        except (OSError, RuntimeError) as exc:  # an unwritable log directory; a run that has ended
            return f"Cannot record this run: {exc}"
        entry.meta["recorder"] = recorder
    note = f" ({root} did not exist: made it; set {LOGDIR_ENV} to record elsewhere)" if made else ""
    return f"Recording into {root}/{path.name}{note}."


def _on_toggle() -> None:
    binding: Binding | None = st.session_state.get("_binding")
    if binding is None:
        return
    try:
        st.session_state["_record_note"] = toggle(binding)
    except Refused as exc:
        st.session_state["_record_note"] = str(exc)


def control(binding: Binding) -> None:
    """The sidebar's record button and what is being recorded (drawn for those who may control the run)."""
    recorder = recorder_of(binding)
    on = recorder is not None and recorder.path is not None
    # Streamlit's own icon font: a "⏺" label was a missing-glyph box on a Chromium without an emoji font
    st.button("Stop recording" if on else "Record this run", key="record", on_click=_on_toggle, width="stretch",
              icon=":material/stop:" if on else ":material/fiber_manual_record:",
              help=f"Writes this run into the log directory ({logdir_path()}/, the server's {LOGDIR_ENV}): its "
                   "history so far, then as it trains; a reset goes on in a new directory. 'Recorded runs' "
                   "replays it, here or on another machine.")
    if on:
        st.caption(f":material/fiber_manual_record: Recording into `{recorder.path.name}` (open it from "
                   "Recorded runs)")
    note = st.session_state.pop("_record_note", None)
    if note:
        (st.error if note.startswith(("Cannot", "You are")) else st.caption)(note)
    for problem in recorder.problems if recorder is not None else ():
        st.warning(problem)
