"""A preset's check and the status strip read the same number, so the banner never says "showing" beside a
headline that says otherwise."""

from __future__ import annotations

from dashboard.status import headline
from gancore.measures import EVAL_MEASURES
from gancore.metrics import Snapshot
from gancore.presets import PRESETS
from gancore.records import Evaluation, Evaluations


def _at(step: int, w1: float) -> Evaluation:
    return Evaluation(step=step, values={**{name: float("nan") for name in EVAL_MEASURES}, "w1_exact": w1})


def _snapshot(w1s: list[float]) -> Snapshot:
    evaluations = [_at(100 * (i + 1), w1) for i, w1 in enumerate(w1s)]
    return Snapshot(1, {}, [], evaluation=evaluations[-1], evaluations=Evaluations.of(evaluations))


def test_gauss1d_check_reads_the_median_w1_of_the_last_five_evaluations() -> None:
    """Fitted, then drifted off for good: the lowest W1 ever reached said "showing" beside the strip's 0.47.
    Fitted with one evaluation's blip (a fitted 1-D G's W1 jumps up to ~0.5): still showing."""
    check = PRESETS["gauss1d"].check
    assert check(_snapshot([0.05, 0.04, 0.06, 0.47, 0.45, 0.47, 0.5])) is False  # median of the last 5: 0.47
    blip = _snapshot([0.04, 0.06, 0.05, 0.03, 0.497])
    assert check(blip) is True and headline(blip)["distance"] == "0.497"  # the strip shows the latest
    assert check(_snapshot([0.05, 0.04, 0.06, 0.03])) is False  # four evaluations are too few to judge
