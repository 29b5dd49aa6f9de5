"""What the status strip says, as pure functions of a snapshot: headline numbers, why a run stopped,
and the engine's diagnoses as banners. Kept apart from the page so the wording is unit-tested."""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

from gancore.evaluate.diagnosis import Diagnosis
from gancore.info import RunInfo
from gancore.measures import EVAL_MEASURES
from gancore.metrics import Snapshot

LEVELS = {"ready": "info", "running": "info", "paused": "info", "finished": "success", "diverged": "error",
          "stopped": "warning", "error": "error"}


@dataclass(frozen=True)
class Banner:
    level: str  # "info", "success", "warning" or "error" (st.info, st.success, ...)
    text: str


def steps_per_second(snapshot: Snapshot, window: float = 5.0) -> float:
    """Iterations per wall-clock second over the last `window` seconds of logged rows (NaN when idle)."""
    steps, times = snapshot.columns.get("step"), snapshot.columns.get("time")
    if steps is None or len(steps) < 2:
        return math.nan
    recent = times >= times[-1] - window
    first = int(np.argmax(recent))
    elapsed = float(times[-1] - times[first])
    return float(steps[-1] - steps[first]) / elapsed if elapsed > 0 else math.nan


def logged_at(snapshot: Snapshot) -> str:
    """Wall-clock time (server clock, ms) at which the last shown step was logged: says the view is live,
    and lets the latency benchmark compare it with the moment the browser shows it."""
    times = snapshot.columns.get("time")
    created = snapshot.created
    if times is None or not len(times) or not created:
        return ""
    stamp = created + float(times[-1])
    return time.strftime("%H:%M:%S", time.localtime(stamp)) + f".{int(stamp % 1 * 1000):03d}"


def headline(snapshot: Snapshot) -> dict[str, str]:
    """The status strip's numbers, formatted: step, speed, a distance to the data (exact W1 for toy data,
    the Fréchet distance of classifier features for images), coverage and quality. Coverage is both numbers
    of the coverage chart: modes hit (what the presets and banners speak of) and modes with a fair share."""
    evaluation = snapshot.evaluation.values if snapshot.evaluation is not None else {}
    total = evaluation.get("modes_total")
    speed = steps_per_second(snapshot) if snapshot.status == "running" else math.nan
    out = {"step": str(snapshot.step), "speed": "–" if math.isnan(speed) else f"{speed:.0f}"}
    image = snapshot.info is not None and snapshot.info.is_image
    distance_name = "fd_features" if image else "w1_exact"
    out["distance_label"] = _label(distance_name, snapshot.info)
    distance = _number(evaluation.get(distance_name))
    out["distance"] = "–" if math.isnan(distance) else f"{distance:.3g}" if image else f"{distance:.3f}"
    out["hit_label"] = _label("modes_covered", snapshot.info)
    units = snapshot.info.units if snapshot.info else "modes"
    out["coverage_label"] = f"{units.capitalize()} {EVAL_MEASURES['modes_covered_strict'].label_for(snapshot.info)}"
    if total:
        out["hit"], out["coverage"] = (_of(evaluation.get(name), total)
                                       for name in ("modes_covered", "modes_covered_strict"))
        quality = _number(evaluation.get("hq_fraction"))
        out["quality"] = "–" if math.isnan(quality) else f"{quality:.0%}"
    else:
        out["hit"] = out["coverage"] = out["quality"] = "–"
    return out


def _of(count: Any, total: float) -> str:
    count = _number(count)
    return "–" if math.isnan(count) else f"{int(count)} / {int(total)}"


def _label(name: str, info: RunInfo | None) -> str:
    """A measurement's label from the registry, capitalised for a metric's caption (the charts' words)."""
    label = EVAL_MEASURES[name].label_for(info).format(units=info.units if info else "modes")
    return label[0].upper() + label[1:]


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def run_banner(snapshot: Snapshot) -> Banner | None:
    """Why the run is not training (paused, finished, diverged, stopped, error), or None while it is."""
    status, reason = snapshot.status, snapshot.reason
    if status == "running":
        return None
    texts = {
        "ready": "Ready: press **Start** (or Step) to train.",
        "paused": "Paused" + (f": {reason}" if reason else ". Press **Resume** to go on, or **Step**."),
        "finished": "Finished" + (f": {reason.split(': raise')[0]}" if reason else "") + ". Raise *Iterations* to "
                    "train on.",  # the engine's "raise 'steps'" is the sidebar's Iterations: said once
        "diverged": "Diverged: " + (reason or "a value became non-finite."),
        "stopped": "Stopped" + (f": {reason}" if reason else "") + ". Reload the page for a new run.",
        "error": "The training thread failed: " + (reason or "see the details below."),
    }
    return Banner(LEVELS.get(status, "info"), texts.get(status, f"{status}: {reason}"))


def diagnosis_banners(diagnoses: Iterable[Diagnosis], info: RunInfo | None = None, *,
                      brief: bool = False) -> list[Banner]:
    """The engine's detectors as banners: title in bold, one-line explanation, a suggestion (`brief`: the
    title alone, for a projector); in the run's word for a mode (a digit is a class)."""
    banners = []
    for d in diagnoses:
        level = "error" if d.severity == "error" else "warning"
        title, explanation, suggestion = (in_units(t, info) for t in (d.title, d.explanation, d.suggestion))
        text = f"**{title}**"
        if explanation and not brief:
            text += f" — {explanation}"
        if suggestion and not brief:
            text += f"  \n**Try:** {suggestion}"
        banners.append(Banner(level, text))
    return banners


_MODE_WORD = re.compile(r"\bmode(s?)\b")  # lower case only: "Mode collapse" names the phenomenon


def in_units(text: str, info: RunInfo | None) -> str:
    """The detectors speak of modes; on data whose modes are classes, the text says classes."""
    if info is None or info.unit == "mode":
        return text
    return _MODE_WORD.sub(lambda m: info.units if m.group(1) else info.unit, text)
