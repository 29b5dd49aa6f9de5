"""Links and exports: the run's settings as URL parameters (a link reproduces the setup, seed included),
and the files a user keeps (metrics CSV, config JSON, a sample picture as PNG).

Pure functions: the page passes `st.query_params` in and out as plain dicts.
A link names a preset and only the settings that differ from it, so links stay short and readable
(`?preset=wgan-gp&lr_g=0.0002&seed=3`), and the values are parsed by the Config itself (one set of rules).
"""

from __future__ import annotations

import io
import math
from typing import Any, Mapping
from urllib.parse import urlencode

import numpy as np

from gancore.config import FIELDS, Config, ConfigError
from gancore.metrics import Snapshot
from gancore.records import Frame
from gancore.presets import DEFAULT_PRESET, PRESETS
from gancore.train import pick_device

CUSTOM = "custom"  # a link without a known preset: settings are relative to Config()'s defaults
RESERVED = ("run", "compare", "preset", "key", "ctl", "presenter")  # URL keys that are not settings
SERVER_ONLY = ("data_dir",)  # settings a link never carries: a path from a browser is never opened


def base_config(preset: str | None) -> Config:
    """The settings a link's values apply to: its preset's, or the plain defaults for "custom"."""
    if preset in PRESETS:
        return PRESETS[preset].config
    return Config()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # shortest round-trip form: 0.0002, 1e-05
    return str(value)


def config_to_params(config: Config, preset: str | None) -> dict[str, str]:
    """URL parameters: the preset, then every setting that differs from it, in field order."""
    preset = preset if preset in PRESETS else CUSTOM
    base = base_config(preset)
    params = {"preset": preset}
    for name in (f for f in FIELDS if f not in SERVER_ONLY):
        value = getattr(config, name)
        if value != getattr(base, name):
            params[name] = _text(value)
    return params


def params_to_config(params: Mapping[str, str]) -> tuple[Config, str, list[str]]:
    """(config, preset name, warnings) from URL parameters. No preset parameter means the default preset
    (the page opens on it); unknown names and bad values are dropped with a warning each, never fatal."""
    preset = params.get("preset", DEFAULT_PRESET)
    warnings: list[str] = []
    if preset not in PRESETS and preset != CUSTOM:
        warnings.append(f"unknown preset {preset!r} in the link: using the default settings")
        preset = CUSTOM
    base = base_config(preset)
    values = {k: v for k, v in params.items() if k not in RESERVED}
    for name in [k for k in values if k not in FIELDS]:
        warnings.append(f"ignored unknown setting {name!r} in the link")
        values.pop(name)
    for name in [k for k in values if k in SERVER_ONLY]:
        warnings.append(f"ignored {name} from the link: the data folder is the server's setting (GANCORE_DATA_DIR)")
        values.pop(name)
    while True:
        try:
            config = base.replace(**values)
            pick_device(config.device)  # a device this machine lacks is a bad value like any other
            return config, preset, warnings
        except ConfigError as exc:
            field = exc.field if exc.field in values else _clashing(base, values, exc)
            if field is None:  # no single setting of the link is to blame: keep none of them, and name them
                names = ", ".join(f"{k}={v!r}" for k, v in values.items())
                warnings.append(f"the link's settings do not fit together ({exc.message}): ignored {names}")
                return base, preset, warnings
            because = exc.message if field == exc.field else f"it does not fit the preset's {exc.field}: {exc.message}"
            warnings.append(f"ignored {field}={values.pop(field)!r} from the link: {because}")


def _clashing(base: Config, values: dict[str, str], error: ConfigError) -> str | None:
    """The link's setting whose removal ends `error` (a rule tying it to one of the preset's settings, e.g. a
    data set without labels for a conditional preset), the last one in the link first; None if none alone does."""
    for name in reversed(values):
        try:
            base.replace(**{k: v for k, v in values.items() if k != name})
            return name
        except ConfigError as other:
            if (other.field, other.message) != (error.field, error.message):
                return name
    return None


def link(base_url: str | None, params: Mapping[str, str]) -> str:
    """An absolute link when the page's address is known, else the query string alone."""
    query = urlencode(params)
    return f"{(base_url or '').rstrip('/')}/?{query}" if base_url else f"?{query}"


# --- exports ----------------------------------------------------------------------------------------------
INTEGER_COLUMNS = ("step", "d_updates", "g_updates")


def metrics_csv(snapshot: Snapshot) -> str:
    """Every column of the snapshot as CSV (empty cells for NaN). Steps older than the store's recent
    window are bucket averages; the command line's metrics.csv keeps full resolution."""
    names = list(snapshot.columns)
    table = np.stack([snapshot.columns[n] for n in names], axis=1) if names else np.empty((0, 0))
    out = io.StringIO()
    out.write(",".join(names) + "\n")
    integer = {i for i, n in enumerate(names) if n in INTEGER_COLUMNS}
    for row in table.tolist():
        cells = []
        for i, v in enumerate(row):
            if math.isnan(v):
                cells.append("")
            elif i in integer and float(v).is_integer():
                cells.append(str(int(v)))
            else:
                cells.append(f"{v:.6g}")
        out.write(",".join(cells) + "\n")
    return out.getvalue()


def events_csv(snapshot: Snapshot) -> str:
    out = io.StringIO()
    out.write("step,what,old,new,note\n")
    for e in snapshot.events:
        out.write(",".join(str(v).replace(",", ";") for v in (e.step, e.what, e.old, e.new, e.note)) + "\n")
    return out.getvalue()


def sample_png(frame: Frame | None) -> bytes | None:
    """The current samples as a PNG with a title, axes and a legend, drawn by the engine's renderer (the
    same picture as the command line's samples.png)."""
    if frame is None:
        return None
    from gancore.render import frame_png
    return frame_png(frame)
