"""What the status strip says, as pure functions of a snapshot: headline numbers, why a run stopped,
and the engine's diagnoses as banners. Kept apart from the page so the wording is unit-tested."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

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
    created = snapshot.state.get("created")
    if times is None or not len(times) or created is None:
        return ""
    stamp = created + float(times[-1])
    return time.strftime("%H:%M:%S", time.localtime(stamp)) + f".{int(stamp % 1 * 1000):03d}"


def headline(snapshot: Snapshot) -> dict[str, str]:
    """The status strip's numbers, formatted: step, speed, a distance to the data (exact W1 for toy data,
    the Fréchet distance of classifier features for images), coverage and quality."""
    evaluation = snapshot.state.get("evaluation") or {}
    total = evaluation.get("modes_total")
    speed = steps_per_second(snapshot) if snapshot.state.get("status") == "running" else math.nan
    out = {"step": str(snapshot.step), "speed": "–" if math.isnan(speed) else f"{speed:.0f}"}
    image = math.isnan(_number(evaluation.get("w1_exact"))) and not math.isnan(_number(evaluation.get("fd_features")))
    out["distance_label"] = "Fréchet distance (features)" if image else "Exact W1"
    distance = _number(evaluation.get("fd_features" if image else "w1_exact"))
    out["distance"] = "–" if math.isnan(distance) else f"{distance:.3g}" if image else f"{distance:.3f}"
    if total:
        out["coverage"] = f"{int(evaluation['modes_covered_strict'])} / {int(total)}"
        out["quality"] = f"{evaluation['hq_fraction']:.0%}"
    else:
        out["coverage"] = out["quality"] = "–"
    return out


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def run_banner(state: dict[str, Any]) -> Banner | None:
    """Why the run is not training (paused, finished, diverged, stopped, error), or None while it is."""
    status = state.get("status", "ready")
    reason = state.get("reason") or ""
    if status == "running":
        return None
    texts = {
        "ready": "Ready: press **Start** (or Step) to train.",
        "paused": "Paused" + (f": {reason}" if reason else ". Press **Resume** to go on, or **Step**."),
        "finished": "Finished" + (f": {reason}" if reason else "") + ". Raise *Iterations* to train on.",
        "diverged": "Diverged: " + (reason or "a value became non-finite."),
        "stopped": "Stopped" + (f": {reason}" if reason else "") + ". Reload the page for a new run.",
        "error": "The training thread failed: " + (reason or "see the details below."),
    }
    return Banner(LEVELS.get(status, "info"), texts.get(status, f"{status}: {reason}"))


def _get(obj: Any, name: str, default: Any = None) -> Any:
    return obj.get(name, default) if isinstance(obj, dict) else getattr(obj, name, default)


def diagnosis_banners(diagnoses: list[Any] | None) -> list[Banner]:
    """The engine's detectors as banners: title in bold, one-line explanation, a suggestion."""
    banners = []
    for d in diagnoses or []:
        severity = str(_get(d, "severity", "warning")).lower()
        level = "error" if severity in ("error", "critical", "severe", "high") else \
            "info" if severity in ("info", "note", "low") else "warning"
        text = f"**{_get(d, 'title', _get(d, 'kind', 'Diagnosis'))}**"
        explanation, suggestion = _get(d, "explanation"), _get(d, "suggestion")
        if explanation:
            text += f" — {explanation}"
        if suggestion:
            text += f"  \n**Try:** {suggestion}"
        banners.append(Banner(level, text))
    return banners
