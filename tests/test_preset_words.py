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


def test_gauss1d_check_reads_the_w1_the_strip_shows() -> None:
    """Fitted at step 100 (W1 0.05), drifted by step 200 (0.47): the lowest W1 ever reached said "showing"
    beside the strip's 0.47; the latest one agrees with it."""
    evaluations = [_at(100, 0.05), _at(200, 0.47)]
    drifted = Snapshot(1, {}, [], evaluation=evaluations[-1], evaluations=Evaluations.of(evaluations))
    assert headline(drifted)["distance"] == "0.470" and PRESETS["gauss1d"].check(drifted) is False
    fitted = Snapshot(1, {}, [], evaluation=evaluations[0], evaluations=Evaluations.of(evaluations[:1]))
    assert headline(fitted)["distance"] == "0.050" and PRESETS["gauss1d"].check(fitted) is True
