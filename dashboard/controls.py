"""The sidebar, built from the Config's field metadata (defaults, limits, choices, help: one source).

How a change travels: every widget has `key=<field name>` and an `on_change` callback.
- Live fields (`metadata["live"]`) go straight to the engine's command queue with `run.set(...)`, which
  validates now (a bad value raises ConfigError: its message is shown under the widget and training goes
  on with the old value) and applies between steps (the change becomes an event, a marker on the charts).
- Other fields are collected as *pending*, validated together, and applied by Reset (a new run).
Widgets are initialised from the run's current settings, never the other way round, so a second tab
opened on a shared run cannot overwrite the instructor's settings with its defaults.
"""

from __future__ import annotations

import math
import os
from typing import Any

import streamlit as st

from gancore.config import FIELDS, LIVE_FIELDS, Config, ConfigError, unused
from gancore.data import DATASETS, DataError
from gancore.info import STEP_KINDS
from gancore.presets import PRESETS

from . import join, recording, share, watch
from .access import Binding, Refused
from .runs import Busy, Entry, registry, server_side

LABELS = {
    "dataset": "Data set", "modes": "Modes", "radius": "Radius / spacing", "std": "Std of each mode",
    "arch": "Architecture", "width": "Width", "depth": "Depth",
    "activation": "Activation", "latent_dim": "Latent size", "prior": "Latent prior",
    "conditional": "Conditional GAN", "cond_g": "Label into G", "cond_d": "Label into D",
    "loss": "Objective (loss)", "clip": "Weight clip c (WGAN)", "gp_lambda": "Penalty λ (WGAN-GP)",
    "n_critic": "D steps per iteration (n_critic)", "g_steps": "G steps per iteration (g_steps)",
    "optimizer_d": "D optimizer", "optimizer_g": "G optimizer", "lr_d": "D learning rate (lr_d)",
    "lr_g": "G learning rate (lr_g)", "beta1": "β1", "beta2": "β2", "batch_size": "Batch size",
    "steps": "Iterations (0: until stopped)", "seed": "Seed", "device": "Device",
    "eval_every": "Evaluate every N steps",
}
SECTIONS: list[tuple[str, tuple[str, ...], bool]] = [  # (title, fields, expanded)
    ("Objective", ("loss", "clip", "gp_lambda"), True),
    ("Learning", ("lr_d", "lr_g", "optimizer_d", "optimizer_g", "beta1", "beta2", "n_critic", "g_steps",
                  "batch_size"), True),
    ("Data", ("dataset", "modes", "radius", "std", "conditional"), False),  # data_dir: the server's
    ("Model", ("arch", "width", "depth", "activation", "latent_dim", "prior", "cond_g", "cond_d"), False),
    ("Run", ("seed", "device", "steps", "eval_every"), False),
]
FLOAT_STEPS = {"beta1": 0.05, "beta2": 0.001, "gp_lambda": 0.1, "radius": 0.1, "std": 0.01}
DATA_PARAMS = ("modes", "radius", "std")
REFRESH_CHOICES = (0.5, 1.0, 2.0, 5.0, 10.0)
NEEDS_RESET = " ↻"  # marks settings that need a new run
PICKER_CHARS = 27  # the sidebar's preset box at 1600x1000 cut "Mode collapse and mode hopping" after 29
TYPED = "__typed"  # key suffix of the number box beside a log slider: 3e-4 needs no steady hand


def default_refresh() -> float:
    """Seconds between live redraws: GANCORE_REFRESH (tests, slow laptops) or 1 s; never below 0.5 s."""
    try:
        value = float(os.environ.get("GANCORE_REFRESH", "1.0"))
    except ValueError:
        value = 1.0
    return max(value, 0.5) if math.isfinite(value) else 1.0


def log_grid(low: float, high: float) -> list[float]:
    """1-2-5 values per decade within [low, high]: the stops of a log-scale slider."""
    values = []
    for exponent in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1):
        for mantissa in (1, 2, 5):
            v = float(f"{mantissa}e{exponent}")
            if low <= v <= high:
                values.append(v)
    return values


def fmt_number(value: float) -> str:
    """`1e-4`, `5e-5`, `0.01`, `2`: short and readable from the back of a classroom."""
    if value == 0 or 1e-2 <= abs(value) < 1e3:
        return f"{value:g}"
    mantissa, exponent = f"{value:.2e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


# --- state ----------------------------------------------------------------------------------------------
def _state() -> tuple[dict[str, Any], dict[str, str]]:
    ss = st.session_state
    ss.setdefault("_pending", {})
    ss.setdefault("_errors", {})
    return ss["_pending"], ss["_errors"]


def _entry() -> Entry | None:
    """The run this session may command: None (with the refusal shown) for a viewer, whatever it clicked."""
    binding: Binding | None = st.session_state.get("_binding")
    if binding is None or registry().get(binding.entry.token) is None:
        return None
    try:
        binding.control()
    except Refused as exc:
        _state()[1]["_command"] = str(exc)
        return None
    return binding.entry


def display_value(name: str, config: Config) -> Any:
    """What a field's widget shows: data parameters resolved to the data set's defaults, no None."""
    if name in DATA_PARAMS:
        return dict(zip(DATA_PARAMS, config.data_params()))[name]
    value = getattr(config, name)
    return "" if value is None else value


def _from_widget(name: str, value: Any, dataset: str) -> Any:
    if name in DATA_PARAMS and value == getattr(DATASETS[dataset], name):
        return None  # the data set's default: keep links short and follow the data set
    return value


def sync(entry: Entry) -> None:
    """Point every widget at the run's current settings, except those with a pending edit or an error.
    Runs before the widgets are created (the only time their state may be written)."""
    ss = st.session_state
    pending, errors = _state()
    config = entry.run.config
    seen = ss.get("_seen") if ss.get("_seen_token") == entry.token else None
    current = {name: display_value(name, config) for name in FIELDS}
    for name, value in current.items():
        if name in pending or name in errors:
            continue
        if seen is None or name not in ss or seen.get(name) != value:
            _show(name, value)
    preset = entry.meta.get("preset", share.CUSTOM)
    if seen is None or ss.get("_seen_preset") != preset or "preset" not in ss:
        ss["preset"] = preset
    ss["_seen"], ss["_seen_token"], ss["_seen_preset"] = current, entry.token, preset
    if seen is None:
        pending.clear()
        errors.clear()


def _show(name: str, value: Any) -> None:
    """Put a value in a field's widget, and in the typed box beside it for a log slider."""
    st.session_state[name] = value
    if FIELDS[name].metadata["log"]:
        st.session_state[name + TYPED] = value


# --- callbacks (run before the next script run; they only post commands) --------------------------------
def _on_field(name: str, typed: bool = False) -> None:
    """A widget changed (`typed`: the number box beside a log slider): live fields go to the run, the
    others become pending. A refused value stays in its widget with the message under it; an accepted one
    changes the run's settings, which `sync` puts in both the slider and its box."""
    entry = _entry()
    if entry is None:
        return
    pending, errors = _state()
    run = entry.run
    current = entry.run.config
    dataset = pending.get("dataset", current.dataset)
    value = _from_widget(name, st.session_state[name + TYPED if typed else name], dataset)
    errors.pop(name, None)
    if name in LIVE_FIELDS:
        try:
            run.set(**{name: value})
        except ConfigError as exc:
            errors[exc.field if exc.field in FIELDS else name] = exc.message
        except RuntimeError as exc:  # the run was stopped under us
            errors[name] = str(exc)
        return
    pending[name] = value
    if name == "dataset":
        for param in DATA_PARAMS:  # a new data set brings its own defaults
            pending[param] = None
            errors.pop(param, None)
            default = getattr(DATASETS[value], param)
            if default is not None:
                st.session_state[param] = default
    for key in [k for k, v in pending.items() if v == getattr(current, k)]:
        pending.pop(key)
    _validate_pending(current, pending, errors)


def _validate_pending(config: Config, pending: dict[str, Any], errors: dict[str, str]) -> Config | ConfigError:
    """The new run's settings, or the refusal (also filed under its field, shown below its widget)."""
    for key in [k for k in errors if k in pending or k not in LIVE_FIELDS]:
        errors.pop(key)
    try:
        return config.replace(**pending)
    except ConfigError as exc:
        errors[exc.field] = exc.message
        return exc


def refusal(exc: ConfigError) -> str:
    """Why Reset did nothing, next to the button: the field's widget may sit in a collapsed section."""
    where = next((title for title, names, _ in SECTIONS if exc.field in names), None)
    field = LABELS.get(exc.field, exc.field)
    return f"Reset refused: {field}{f' (in {where})' if where else ''}: {exc.message}"


def _on_preset() -> None:
    entry = _entry()
    if entry is None:
        return
    pending, errors = _state()
    name = st.session_state["preset"]
    config = PRESETS[name].config if name in PRESETS else Config()
    try:
        entry.run.reset(server_side(config))
    except (ConfigError, DataError) as exc:
        errors["preset"] = str(exc)
        return
    entry.meta["preset"] = name
    entry.meta.pop(watch.BEFORE, None)
    pending.clear()
    errors.clear()
    for field in FIELDS:
        _show(field, display_value(field, config))
    st.session_state["_seen"] = {field: display_value(field, config) for field in FIELDS}


def _command(what: str) -> None:
    entry = _entry()
    if entry is None:
        return
    pending, errors = _state()
    run = entry.run
    errors.pop("_command", None)
    try:
        if what == "start":
            run.start()
        elif what == "pause":
            run.pause()
        elif what == "step":
            run.step(st.session_state.get("step_kind", "iteration"), int(st.session_state.get("step_n") or 1))
        elif what == "action":
            preset = PRESETS.get(entry.meta.get("preset", ""))
            if preset is not None and preset.action:
                run.step(*preset.action)
        elif what == "fix":
            watch.apply_fix(entry)
        elif what == "reset":
            config = _validate_pending(entry.run.config, pending, errors)
            if isinstance(config, ConfigError):
                errors["_command"] = refusal(config)
                return
            run.reset(server_side(config))
            entry.meta.pop(watch.BEFORE, None)
            pending.clear()
    except (ConfigError, DataError, ValueError, RuntimeError) as exc:
        errors["_command"] = str(exc)


# --- the sidebar ------------------------------------------------------------------------------------------
def sidebar(binding: Binding) -> None:
    """Preset, run buttons, pending changes, every setting by group, and the view options; a viewer gets
    what to watch, a copy button and the view options, and no control at all."""
    entry = binding.entry
    st.session_state["_drawn_status"] = entry.run.status  # read once: the live view reruns the page if it moves
    if not binding.may_control:
        with st.sidebar:
            _viewer(binding)
            watch.explanation(entry, None)
            _view_options()
        return
    sync(entry)
    pending, errors = _state()
    config = entry.run.config
    with st.sidebar:
        if binding.role == "instructor":
            _join_code()
        _preset_picker(entry, errors)
        _buttons(entry, errors, st.session_state["_drawn_status"])
        recording.control(binding)
        watch.explanation(entry, lambda: _command("fix"))
        if pending:
            changes = ", ".join(f"{k} {display_value(k, config)} → {'default' if v is None else v}"
                                for k, v in pending.items())
            st.warning(f"**Needs a new run** — press **Reset** to apply: {changes}", icon="🔄")
        st.caption("Settings without ↻ change live, while it trains; ↻ needs Reset.")
        ignored = _ignored(config, pending)
        effective_dataset = pending.get("dataset", config.dataset)
        for title, names, expanded in SECTIONS:  # a section holding a refused value opens to show it
            with st.expander(title, expanded=expanded or any(name in errors for name in names)):
                for name in names:
                    _field(name, effective_dataset, errors, ignored.get(name))
        _view_options()


def _ignored(config: Config, pending: dict[str, Any]) -> dict[str, str]:
    """What the settings about to apply ignore (a pending Conditional GAN enables its label fields)."""
    try:
        return unused(config.replace(**pending))
    except ConfigError:  # the pending error is shown under its field; judge by the run's settings
        return unused(config)


def _join_code() -> None:
    """The address students open, as text and as a QR code, on the instructor's page only."""
    address, note = join.viewers_address(st.get_option("server.address"), int(st.get_option("server.port")))
    with st.expander("Join code: students open", expanded=True):
        st.code(address, language=None)
        st.image(join.qr_png(address), width=180)
        if note:
            st.caption(note)


def _viewer(binding: Binding) -> None:
    st.info("**You are watching** this run live. Only its owner (in a class: the instructor) can change it.",
            icon="👀")
    st.button("Make my own copy", key="copy", on_click=_copy, args=(binding.entry.token,), width="stretch",
              help="A new run of your own from these settings, seed included, if the server has a free slot.")
    errors = _state()[1]
    for key in ("_copy", "_command"):
        if key in errors:
            st.error(errors[key], icon="⏳" if key == "_copy" else "🔒")


def _copy(token: str) -> None:
    """A viewer's own run from the watched run's settings; its control key goes into this session's URL."""
    source = registry().get(token)
    if source is None:
        return
    try:
        mine = registry().create(source.run.config, preset=source.meta.get("preset", share.CUSTOM))
    except Busy as exc:
        _state()[1]["_copy"] = str(exc)
        return
    st.query_params.from_dict({"run": mine.token, "ctl": mine.control_key})


def preset_label(name: str) -> str:
    """A preset's name in the picker: its short name, since a title would be cut (at most PICKER_CHARS)."""
    return PRESETS[name].short or PRESETS[name].title if name in PRESETS else "Custom settings"


def _preset_picker(entry: Entry, errors: dict[str, str]) -> None:
    options = list(PRESETS) + [share.CUSTOM]
    st.selectbox("Preset", options, key="preset", on_change=_on_preset,
                 format_func=preset_label,
                 help="Loads a setup that shows one phenomenon, and resets the run to step 0.")
    if "preset" in errors:
        st.error(errors["preset"], icon="⚠️")


def _buttons(entry: Entry, errors: dict[str, str], status: str) -> None:
    start, pause, reset = st.columns([4, 3, 3])  # "Resume" is the longest label: its column is widest
    start.button({"paused": "Resume"}.get(status, "Start"),
                 key="start", on_click=_command, args=("start",), type="primary", width="stretch",
                 disabled=status == "running",  # a lit Start on a training run reads as "not started"
                 help="Train until paused, finished or diverged.")
    pause.button("Pause", key="pause", on_click=_command, args=("pause",), width="stretch")
    reset.button("Reset", key="reset", on_click=_command, args=("reset",), width="stretch",
                 help="Start over at step 0, applying the settings marked ↻.")
    kind, n, step = st.columns([5, 3, 3], vertical_alignment="bottom")
    kind.selectbox("Step", list(STEP_KINDS), key="step_kind", format_func=STEP_KINDS.get,
                   help="iteration: n_critic D steps then g_steps G steps. D only: G frozen (its gradient is "
                        "still measured). G only: D frozen.")
    n.number_input("× N", min_value=1, max_value=100000, value=1, step=1, key="step_n")
    step.button("Step", key="step", on_click=_command, args=("step",), width="stretch")
    preset = PRESETS.get(entry.meta.get("preset", ""))
    if preset is not None and preset.action:
        kind_name, count = preset.action
        st.button(f"Train {STEP_KINDS[kind_name]} × {count}", key="action", on_click=_command, args=("action",),
                  type="primary", width="stretch", help="This preset's experiment: press instead of Start.")
    if "_command" in errors:
        st.error(errors["_command"], icon="⚠️")


def _field(name: str, dataset: str, errors: dict[str, str], ignored: str | None = None) -> None:
    """One setting's widget, typed from its metadata, with its error message right under it; disabled,
    with the reason under it, where the other settings ignore it (`gancore.config.unused`)."""
    f = FIELDS[name]
    meta = f.metadata
    if name in DATA_PARAMS and getattr(DATASETS[dataset], name) is None:
        return  # this data set has no such parameter
    live = name in LIVE_FIELDS
    label = LABELS.get(name, name) + ("" if live else NEEDS_RESET)
    help_text = meta["help"] + (" — changes live." if live else " — needs a new run (Reset).")
    common = dict(key=name, on_change=_on_field, args=(name,), help=help_text, disabled=ignored is not None)
    kind = str(f.type)
    if name not in st.session_state:  # hidden before (another data set): start from its default
        st.session_state[name] = display_value(name, Config(dataset=dataset))
    if meta["choices"] is not None:
        st.selectbox(label, list(meta["choices"]), **common)
    elif kind.startswith("bool"):
        st.toggle(label, **common)
    elif meta["log"]:
        grid = log_grid(meta["low"], meta["high"])
        current = st.session_state[name]
        if isinstance(current, (int, float)) and current not in grid:
            grid = sorted(grid + [float(current)])
        slider, box = st.columns([3, 2], vertical_alignment="bottom")
        slider.select_slider(label, options=grid, format_func=fmt_number, **common)
        st.session_state.setdefault(name + TYPED, current)
        box.number_input(f"{label}, typed", key=name + TYPED, on_change=_on_field, args=(name, True),
                         step=None, format="%g", label_visibility="collapsed", disabled=ignored is not None,
                         help=f"Type a value ({fmt_number(meta['low'])} to {fmt_number(meta['high'])}), "
                              "e.g. 3e-4, then press Enter.")
    elif kind.startswith("int"):
        st.number_input(label, step=1, format="%d", **common)
    elif kind.startswith("float"):
        st.number_input(label, step=FLOAT_STEPS.get(name, 0.01), format="%g", **common)
    else:
        st.text_input(label, **common)
    if ignored is not None:
        st.caption(f"Not used: {ignored}.")
    if name in errors:
        st.error(errors[name], icon="⚠️")


def _view_options() -> None:
    with st.expander("View", expanded=False):
        choices = sorted(set(REFRESH_CHOICES) | {default_refresh()})
        st.session_state.setdefault("refresh", default_refresh())
        st.select_slider("Refresh every (s)", choices, key="refresh",
                         help="How often the live charts redraw. Pictures redraw at most every 2 s.")
        st.toggle("Per-layer G gradient norms", key="per_layer")


def interval() -> float | None:
    """The live charts' refresh interval in seconds; None while the live view is paused."""
    if st.session_state.get("freeze"):
        return None
    return max(float(st.session_state.get("refresh", default_refresh())), 0.5)
