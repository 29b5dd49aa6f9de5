"""What the charts show on a projector, read from the figure objects: y-ranges robust to a few huge outliers,
x-axes that end at the data, legends that cannot reach the title, event labels that do not overlap, and
axes that keep room for their tick labels. Snapshots come from tests/snapshot_support.py."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard import charts, figure, pictures
from gancore.metrics import Event
from gancore.records import LineFrame, PlaneFrame
from snapshot_support import make_evals, make_snapshot, traces

pytestmark = pytest.mark.usefixtures("validated")


def spiked(n: int = 400, at=(100, 101, 102), value: float = 3000.0):
    """Losses uniform in [0, 1) (the random columns of make_snapshot) with a 3,000x spike on 3 steps."""
    snap = make_snapshot(n)
    snap.columns["loss_d"][list(at)] = value
    return snap


def test_a_few_huge_outliers_do_not_flatten_the_loss_chart() -> None:
    fig = charts.losses(spiked())
    bottom, top = fig.layout.yaxis.range
    # the 1st and 99th percentiles of 800 uniform [0, 1) values are ~0.01 and ~0.99; padded by 10% of that span
    assert -0.2 < bottom < 0.0 and 1.0 < top < 1.2
    off = traces(fig, "D loss off-scale")[0]
    assert list(off.x) == [101, 102, 103] and np.allclose(off.y, top)  # steps 101-103: triangles at the top edge
    assert off.marker.symbol == "triangle-up" and np.allclose(off.customdata, 3000)
    assert any("3 points off-scale (to 3e+03)" in a.text for a in fig.layout.annotations)


def test_evaluation_points_stay_on_the_scale_that_clips_a_spike() -> None:
    evals = make_evals(6)  # exact W1 from 2.0 down to 0.5: above the [0, 1) bulk of the critic's estimate
    snap = make_snapshot(600, evals=evals)
    snap.columns["w_estimate"][300] = 500.0
    fig = charts.critic(snap)
    bottom, top = fig.layout.yaxis.range
    assert 2.0 < top < 2.3 and bottom < 0  # W1's 2.0 and the bulk padded by 10% of its ~1.0 span
    assert list(traces(fig, "D logit gap off-scale")[0].x) == [301]
    assert not traces(fig, "exact W1 off-scale")


def test_the_starting_transient_is_drawn_whole() -> None:
    snap = make_snapshot(1000)  # D trained alone: its loss falls from 1.4 to ~0 in the first 20 steps
    snap.columns["loss_d"][:] = np.where(np.arange(1000) < 20, 1.4, 0.001 * snap.columns["loss_d"])
    snap.columns["loss_g"][:] = snap.columns["loss_d"]
    snap.columns["loss_d"][500] = 50.0  # ... and one spike later on
    fig = charts.losses(snap)
    bottom, top = fig.layout.yaxis.range
    assert 1.4 < top < 1.5 and bottom < 0  # the first 10% of the steps: all of it on the scale
    assert list(traces(fig, "D loss off-scale")[0].x) == [501]
    assert any("1 point off-scale (to 50)" in a.text for a in fig.layout.annotations)


def test_a_curve_without_outliers_keeps_plotly_autorange() -> None:
    fig = charts.losses(spiked(value=1.5))  # 1.5 lies within two spans of the [0, 1) bulk: nothing is hidden
    assert fig.layout.yaxis.range is None and not traces(fig, "D loss off-scale")
    assert not any("off-scale" in a.text for a in fig.layout.annotations or ())


def test_a_low_outlier_is_marked_at_the_bottom_and_log_axes_are_left_alone() -> None:
    fig = charts.losses(spiked(at=(50,), value=-5000.0))
    bottom, top = fig.layout.yaxis.range
    assert -0.2 < bottom < 0.0 and traces(fig, "D loss off-scale")[0].marker.symbol == "triangle-down"
    snap = make_snapshot(400)
    snap.columns["grad_norm_g"][100] = 1e6  # a log axis shows six orders of magnitude as they are
    assert charts.gradients(snap).layout.yaxis.range is None


def test_x_axes_end_at_the_data_even_with_a_late_labelled_change() -> None:
    events = [Event(550, "loss", "nonsaturating", "wgan-gp")]
    snap = make_snapshot(600, events=events, evals=make_evals(6))  # steps 1..600, evaluations at 0..500
    figures = charts.time_charts(snap)
    assert list(figures["losses"].layout.xaxis.range) == [1, 600]
    assert list(figures["coverage"].layout.xaxis.range) == [0, 550]  # the last evaluation, then the change
    assert list(figures["heatmap"].layout.xaxis.range) == [0, 550]  # edges of the 100-step cells, from step 0
    label = next(a for a in figures["losses"].layout.annotations if "wgan-gp" in a.text)
    assert label.xanchor == "right"  # in the right half: the label ends at its line, inside the plot


def test_one_evaluation_at_step_0_draws_no_negative_steps() -> None:
    """A fresh run (or one just reset) has one evaluation, at step 0: Plotly's autorange put it mid-way
    on an axis from -1 to 1."""
    one = make_evals(1)
    fig = charts.time_charts(make_snapshot(0, evals=one))["coverage"]
    assert list(fig.layout.xaxis.range) == [0, 1]


def test_legends_sit_below_the_plot_away_from_the_title() -> None:
    frame = PlaneFrame(step=3, labels=None, real=np.zeros((4, 2)), fake=np.ones((4, 2)), probabilities=True,
                       bounds=np.array([[-3, 3], [-3, 3]]), xs=np.arange(3), ys=np.arange(3), scores=np.eye(3),
                       arrows=np.ones((4, 2)))
    snap = make_snapshot(300, evals=make_evals())
    figures = [*charts.time_charts(snap, per_layer=True).values(), pictures.samples(frame),
               charts.compare([("A", snap), ("B", snap)], "w1_exact")]
    for fig in figures:
        legend, title = fig.layout.legend, fig.layout.title
        assert (legend.yref, legend.y, legend.yanchor) == ("container", 0, "bottom"), title.text
        assert (title.yref, title.y, title.yanchor) == ("container", 1, "top"), title.text


def test_close_changes_get_labels_that_do_not_overlap() -> None:
    events = [Event(s, "lr_g", 1e-3, 2e-3) for s in (100, 110, 120, 130, 140, 150)]
    fig = charts.losses(make_snapshot(1000, events=events))
    labels = [a for a in fig.layout.annotations if "lr_g" in a.text]
    width = (len(labels[0].text) * figure.LABEL_CHAR_PX + 8) / figure.LABEL_PLOT_PX * (1000 - 1)
    assert len(labels) == figure.LABEL_ROWS  # one per row: a fifth would overlap, so it is left out
    assert len({a.y for a in labels}) == len(labels)
    assert max(a.x for a in labels) == 150  # the newest changes are the labelled ones
    far = charts.losses(make_snapshot(1000, events=[Event(100, "lr_g", 1e-3, 2e-3), Event(900, "lr_g", 2e-3, 1e-3)]))
    a, b = [x for x in far.layout.annotations if "lr_g" in x.text]
    assert a.y == b.y and abs(a.x - b.x) > width  # far apart: both in the top row
    assert len(event_lines := [s for s in fig.layout.shapes if s.name == "event:lr_g"]) == 6
    assert [s.x0 for s in event_lines] == [100, 110, 120, 130, 140, 150]


def test_right_hand_axes_keep_room_for_their_tick_labels() -> None:
    grid = np.linspace(-4, 4, 50, dtype=np.float32)
    frame = LineFrame(step=5, labels=None, grid=grid, p_data=np.exp(-grid ** 2), p_g=np.exp(-(grid - 1) ** 2),
                      scores=grid, d_prob=1 / (1 + np.exp(-grid)), d_optimal=np.full(50, 0.5, np.float32),
                      real=np.zeros((4, 1)), fake=np.ones((4, 1)), bounds=np.array([[-4, 4]]), probabilities=True)
    assert pictures.samples(frame).layout.yaxis2.automargin is True
    assert charts.coverage(make_snapshot(600, evals=make_evals())).layout.yaxis2.automargin is True


def test_a_chart_with_only_a_note_draws_no_axes() -> None:
    """An empty axis (Plotly's default -1 to 6) reads as data; a chart with data keeps its axes."""
    critic_run = make_snapshot(100, loss="wgan-gp")
    empty = [charts.probabilities(critic_run), charts.losses(make_snapshot(0)), charts.class_histogram(critic_run)]
    for fig in empty:
        assert fig.data == () and fig.layout.xaxis.visible is False and fig.layout.yaxis.visible is False
    assert charts.losses(critic_run).layout.xaxis.visible is None
