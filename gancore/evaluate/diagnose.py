"""Rule-based diagnoses of a training run that a student can read and check by hand.

Inputs are the logged columns: `metrics` (one row per logged step: "step", loss_d, loss_g, d_real, d_fake,
critic_real, critic_fake, w_estimate, gp, grad_norm_d, grad_norm_g, clip_frac; NaN where a column does
not apply) and `evals` (one row per evaluation: "step", modes_covered, modes_total, hq_fraction,
kl_uniform, histogram (E, K)). Each detector is one small function with its thresholds as named constants;
each returns a `Diagnosis` or None and never raises on empty, short or NaN-filled histories. The detectors
live in detect_evaluations.py and detect_training.py, what they share (the Diagnosis, the meaning of
"sustained") in diagnosis.py; this module runs them all.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .detect_evaluations import detect_mode_collapse, detect_mode_hopping
from .detect_training import (detect_critic_stalled, detect_d_overpowering, detect_divergence, detect_explosion,
                              detect_vanishing_gradients)
from .diagnosis import Diagnosis


def diagnose(metrics: Mapping[str, np.ndarray], evals: Mapping[str, np.ndarray] | None, loss: str, *,
             clip: float | None = None) -> list[Diagnosis]:
    """Run every detector; errors first, then by the step they began. `clip`: WGAN clip bound c, if known."""
    evals = evals or {}
    divergence = detect_divergence(metrics)
    found = [
        divergence,
        None if divergence else detect_explosion(metrics),  # a divergence already says it blew up
        detect_vanishing_gradients(metrics, loss),
        detect_d_overpowering(metrics),
        detect_critic_stalled(metrics, evals, loss, clip=clip),
        detect_mode_collapse(evals),
        detect_mode_hopping(evals),
    ]
    return sorted((d for d in found if d is not None), key=lambda d: (d.severity != "error", d.since_step))


def diagnose_snapshot(snapshot: Any, clip: float | None = None) -> tuple[Diagnosis, ...]:
    """Every detector on a run's Snapshot: what the page's banners say, and what the presets check."""
    loss = snapshot.info.objective if snapshot.info is not None else ""
    return tuple(diagnose(snapshot.columns, snapshot.evaluations.table(), loss, clip=clip))
