"""What every detector shares: the Diagnosis it returns, the windows of "sustained", and reading columns.

"Sustained" means: the condition held on a trailing stretch of at least SUSTAIN_ROWS logged rows, where
every trailing part of that stretch at least TOLERANCE_MIN_ROWS long missed it on at most MISS_TOLERANCE
of its rows (so one noisy mini-batch neither starts nor ends a diagnosis).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

# --- shared windows -------------------------------------------------------------------------------------
EARLY_ROWS = 20  # "early level" = median of the first 20 finite values: averages mini-batch noise, and
#                  is over long before a collapse (runs log hundreds to thousands of rows)
SUSTAIN_ROWS = 25  # a row-level condition must last >= 25 logged rows: several times any noise burst
MISS_TOLERANCE = 0.1  # up to 10% of rows may miss the condition (noisy mini-batches) without ending it
TOLERANCE_MIN_ROWS = 10  # the 10% is judged on trailing stretches of >= 10 rows: shorter ones are noise
RECENT_ROWS = 50  # divergence looks at the last 50 rows: the "now" of the dashboard


@dataclass(frozen=True)
class Diagnosis:
    kind: str  # "mode_collapse", "mode_hopping", "vanishing_gradients", "d_overpowering", "divergence",
    #            "explosion", "critic_stalled"
    severity: str  # "warning" or "error"
    title: str
    explanation: str
    suggestion: str
    since_step: int


def column(data: Mapping[str, np.ndarray], name: str) -> np.ndarray | None:
    """A column as a 1-D float64 array, or None when absent or not numeric."""
    if name not in data:
        return None
    try:
        a = np.asarray(data[name], dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return a.ravel() if a.ndim <= 1 else None


def table(data: Mapping[str, np.ndarray], names: tuple[str, ...]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Steps and the named columns cut to a common length (rows may be mid-append); absent columns: NaN."""
    present = {name: column(data, name) for name in ("step", *names)}
    lengths = [a.size for a in present.values() if a is not None]
    n = min(lengths) if lengths else 0
    steps = present["step"]
    steps = np.nan_to_num(steps[:n]) if steps is not None else np.arange(n, dtype=np.float64)
    cols = {name: (a[:n] if a is not None else np.full(n, np.nan)) for name, a in present.items() if name != "step"}
    return steps, cols


def trailing_true(cond: np.ndarray) -> int | None:
    """Start of the trailing run of True values (no tolerance), or None if the last value is False."""
    if cond.size == 0 or not cond[-1]:
        return None
    false = np.flatnonzero(~cond)
    return int(false[-1]) + 1 if false.size else 0


def sustained(cond: np.ndarray) -> int | None:
    """Start row of the trailing stretch where `cond` holds in the tolerant sense (module docstring), if it
    spans at least SUSTAIN_ROWS rows."""
    n = cond.size
    if n < SUSTAIN_ROWS:
        return None
    misses = np.cumsum((~cond)[::-1])[::-1]  # misses[i]: rows in cond[i:] where it fails
    length = n - np.arange(n)
    broken = np.flatnonzero((misses > MISS_TOLERANCE * length) & (length >= TOLERANCE_MIN_ROWS))
    start = int(broken[-1]) + 1 if broken.size else 0
    held = np.flatnonzero(cond[start:])
    if held.size == 0:
        return None
    start += int(held[0])  # a stretch begins where the condition first holds
    return start if n - start >= SUSTAIN_ROWS else None


def span(since: float, last: float) -> str:
    span = int(last) - int(since)
    return f"for the last {span} steps (since step {int(since)})" if span > 0 else f"at step {int(since)}"
