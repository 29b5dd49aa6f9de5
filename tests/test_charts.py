"""The dashboard's pure parts: chart builders, links and exports (theory figures: test_theory.py; status
wording: test_status_words.py).

Snapshots are built by hand (exact control over NaN, events, length) or taken from a few real training
steps (the shapes the engine really publishes). Assertions are on the figure's data: traces, marker
shapes, axis types, point counts."""

from __future__ import annotations

import json
import math

import numpy as np
import plotly.io as pio
import pytest

from dashboard import charts, figure, pictures, share
from gancore.config import Config
from gancore.metrics import Event, Snapshot
from gancore.presets import DEFAULT_PRESET, PRESETS
from gancore.evaluate.evaluator import Evaluator
from gancore.records import ImageFrame, PlaneFrame
from gancore.train import Trainer

from snapshot_support import event_shapes, make_evals, make_snapshot, traces

TIME_CHARTS = ("losses", "probabilities", "critic", "gradients", "coverage", "heatmap")

pytestmark = pytest.mark.usefixtures("validated")


# --- downsampling -------------------------------------------------------------------------------------------
def test_downsample_keeps_short_series_and_caps_long_ones() -> None:
    x = np.arange(500, dtype=np.float32)
    assert figure.downsample(x, x)[0] is not None and len(figure.downsample(x, x)[0]) == 500
    n = 100_000
    x = np.arange(n, dtype=np.float32)
    y = np.sin(x / 1000).astype(np.float32)
    y[54_321] = 50.0  # one spike: a stride would drop it, min-max keeps it
    y[77_777] = -50.0
    xs, ys = figure.downsample(x, y)
    assert len(xs) <= figure.MAX_POINTS and xs.dtype == np.float32 and ys.dtype == np.float32
    assert xs[0] == 0 and xs[-1] == n - 1  # the latest value is always drawn
    assert ys.max() == 50.0 and ys.min() == -50.0
    assert np.all(np.diff(xs) > 0)  # still in step order


def test_downsample_treats_nan_as_gaps_not_extremes() -> None:
    n = 10_000
    y = np.full(n, np.nan, np.float32)
    y[::2] = 1.0
    xs, ys = figure.downsample(np.arange(n), y, max_points=100)
    assert len(xs) <= 100 and np.nanmax(ys) == 1.0 and np.isfinite(ys).sum() >= 40
    xs, ys = figure.downsample(np.arange(n), np.full(n, np.nan, np.float32), max_points=100)
    assert len(xs) <= 100 and np.isnan(ys).all()


# --- time charts ---------------------------------------------------------------------------------------------
def test_losses_has_d_and_g_traces_as_float32_svg() -> None:
    fig = charts.losses(make_snapshot(300))
    assert [t.name for t in fig.data] == ["D loss", "G loss"]
    assert all(t.type == "scatter" for t in fig.data)
    spec = json.loads(pio.to_json(fig, validate=False))
    assert spec["data"][0]["x"]["dtype"] == "f4"  # sent base64-encoded float32, not as a list
    assert len(pio.to_json(fig, validate=False)) < 12_000  # no template bloat


def test_unvalidated_figures_equal_validated_ones(monkeypatch) -> None:
    snap = make_snapshot(300, events=[Event(50, "lr_d", 0.001, 0.0002)], evals=make_evals())
    frame = PlaneFrame(step=3, labels=None, real=np.zeros((4, 2)), fake=np.ones((4, 2)), probabilities=True,
                       bounds=np.array([[-3, 3], [-3, 3]]), xs=np.arange(3), ys=np.arange(3), scores=np.eye(3),
                       arrows=np.ones((4, 2)))

    def build() -> dict[str, dict]:
        figures = {**charts.time_charts(snap, per_layer=True), "samples": pictures.samples(frame),
                   "compare": charts.compare([("A", snap)], "w1_exact")}
        specs = {k: json.loads(pio.to_json(f, validate=False)) for k, f in figures.items()}
        for spec in specs.values():
            spec["layout"].pop("template")  # validation adds an empty default trace style there
        return specs

    checked = build()
    monkeypatch.setattr(figure, "VALIDATE", False)
    assert build() == checked  # no Python-only shortcut (title_font, ...) reaches plotly.js unexpanded


def test_no_webgl_traces_in_any_live_chart() -> None:
    snap = make_snapshot(5000, evals=make_evals(), evaluation={"histogram": np.ones(8), "step": 500})
    for fig in list(charts.time_charts(snap, per_layer=True).values()) + [charts.class_histogram(snap)]:
        assert all(not t.type.endswith("gl") for t in fig.data)


def test_every_time_chart_marks_every_event_with_a_line_and_a_label() -> None:
    events = [Event(50, "lr_d", 0.001, 0.0002), Event(120, "loss", "nonsaturating", "wgan-gp"),
              Event(150, "diverged", "loss_d", "nan/inf", "restored step 140")]
    snap = make_snapshot(200, events=events, evals=make_evals())
    for name, fig in charts.time_charts(snap).items():
        shapes = event_shapes(fig)
        assert [s.x0 for s in shapes] == [50, 120, 150], name
        assert all(s.x0 == s.x1 and s.yref == "paper" for s in shapes)
        texts = [a.text for a in fig.layout.annotations]
        assert any("lr_d 0.001→0.0002" in t for t in texts), name
        assert any("loss nonsaturating→wgan-gp" in t for t in texts), name
    assert event_shapes(charts.losses(snap))[2].line.color == figure.COLORS["diverged"]


def test_event_markers_are_capped_and_only_recent_ones_labelled() -> None:
    events = [Event(i, "lr_g", 1e-3, 2e-3) for i in range(1, 301)]
    fig = charts.losses(make_snapshot(400, events=events))
    assert len(event_shapes(fig)) == figure.MAX_MARKERS
    assert event_shapes(fig)[-1].x0 == 300
    labelled = [a.x for a in fig.layout.annotations if "lr_g" in a.text]
    assert 0 < len(labelled) <= figure.MAX_LABELS and max(labelled) == 300  # the newest change is labelled


def test_gradient_norms_use_a_log_axis_and_hide_non_positive_values() -> None:
    snap = make_snapshot(100)
    snap.columns["grad_norm_g"][:10] = 0.0
    snap.columns["grad_norm_g"][10] = -1.0
    fig = charts.gradients(snap)
    assert fig.layout.yaxis.type == "log"
    g = traces(fig, "G")[0]
    assert np.isnan(np.asarray(g.y[:11])).all() and np.isfinite(np.asarray(g.y[11:])).all()
    assert len(fig.data) == 2
    per_layer = charts.gradients(snap, per_layer=True)
    assert {t.name for t in per_layer.data} == {"D", "G", "G linear1", "G linear2"}


def test_nan_only_series_are_left_out_with_an_explanation() -> None:
    snap = make_snapshot(100, loss="wgan-gp")
    fig = charts.probabilities(snap)
    assert fig.data == ()
    assert any("critic" in a.text for a in fig.layout.annotations)
    assert "NaN" not in pio.to_json(fig, validate=False)  # NaN-only data never reaches the JSON
    assert traces(charts.critic(snap), "critic E f(real) − E f(fake)")


def test_charts_of_an_empty_run_say_what_to_do() -> None:
    snap = make_snapshot(0)
    figures = charts.time_charts(snap)
    assert {"losses", "probabilities", "critic", "gradients", "coverage", "heatmap"} <= set(figures)
    for name, fig in figures.items():
        assert fig.data == (), name  # no empty traces pretending to be data
        hints = [a.text for a in fig.layout.annotations]
        waiting = "waiting for the first evaluation" if name in ("coverage", "heatmap") else "press Start"
        assert any(waiting in h for h in hints), (name, hints)
        assert fig.layout.title.text, name


def test_hour_long_run_stays_within_the_point_budget() -> None:
    n = 8192  # the store's bound: 4,096 recent rows + 4,096 averaged buckets
    snap = make_snapshot(n, events=[Event(i * 100, "lr_d", 1e-3, 1e-4) for i in range(80)], evals=make_evals(1000))
    for name, fig in charts.time_charts(snap, per_layer=True).items():
        for t in fig.data:
            if t.type == "scatter":
                assert len(t.x) <= figure.MAX_POINTS, name
        assert len(pio.to_json(fig, validate=False)) < 150_000, name
    heat = charts.class_heatmap(snap)
    assert len(heat.data[0].x) <= charts.MAX_HEATMAP_COLUMNS


def test_critic_chart_overlays_the_exact_w1_and_flags_clipping() -> None:
    evals = make_evals()
    fig = charts.critic(make_snapshot(600, loss="wgan", evals=evals))
    w1 = traces(fig, "exact W1")[0]
    assert list(w1.x) == list(evals["step"]) and w1.mode == "lines+markers"
    assert "unknown K" in fig.layout.title.subtitle.text  # under the title, never over the curves
    assert fig.layout.margin.t == charts.critic(make_snapshot(600, evals=evals)).layout.margin.t + figure.SUBTITLE_PX
    assert traces(charts.critic(make_snapshot(100)), "D logit gap")  # a sigmoid D: not a W estimate
    raw = traces(fig, "E f(real)")[0]
    assert raw.visible == "legendonly" and len(raw.x) <= figure.MAX_POINTS // 4


def test_coverage_counts_modes_and_quality_on_two_axes() -> None:
    fig = charts.coverage(make_snapshot(600, evals=make_evals()))
    names = [t.name for t in fig.data]
    assert names == ["modes hit", "with a fair share", "high quality %"]
    assert traces(fig, "high quality %")[0].yaxis == "y2"
    assert np.allclose(traces(fig, "high quality %")[0].y, 90)
    assert fig.layout.yaxis.range[1] > 8
    waiting = charts.coverage(make_snapshot(10))
    assert any("first evaluation" in a.text for a in waiting.layout.annotations)


def test_histogram_bars_colour_modes_without_a_fair_share() -> None:
    evaluation = {"step": 400, "histogram": np.array([300, 0, 5, 250, 0, 0, 200, 100]),
                  "coverage": {"strict_min_count": 62.5}}
    fig = charts.class_histogram(make_snapshot(400, evaluation=evaluation))
    bar = fig.data[0]
    assert bar.type == "bar" and list(bar.y) == [300, 0, 5, 250, 0, 0, 200, 100]
    colours = list(bar.marker.color)
    assert colours[0] == figure.COLORS["covered"] and colours[2] == figure.COLORS["uncovered"]
    assert "step 400" in fig.layout.title.text


def test_histogram_and_heatmap_explain_an_empty_count() -> None:
    evals = make_evals(3, 8)
    evals["histogram"][:] = 0
    snap = make_snapshot(300, evals=evals, evaluation={"step": 200, "histogram": np.zeros(8)})
    for fig in (charts.class_histogram(snap), charts.class_heatmap(snap)):
        assert fig.data == () and any("no sample is close" in a.text for a in fig.layout.annotations)


def test_class_by_time_heatmap_shows_shares_per_evaluation() -> None:
    evals = make_evals(5, 8)
    fig = charts.class_heatmap(make_snapshot(600, evals=evals, events=[Event(250, "loss", "kl", "hinge")]))
    z = np.asarray(fig.data[0].z)
    assert z.shape == (8, 5)
    assert np.allclose(z.sum(axis=0), 1.0)
    assert [s.x0 for s in event_shapes(fig)] == [250]


# --- real engine data --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained():
    """A few real steps with the dashboard's evaluator: snapshot with evaluations and a 2-D frame."""
    from dashboard.runs import make_run
    config = Config(dataset="ring", width=32, depth=2, latent_dim=4, batch_size=64, steps=0, device="cpu",
                    eval_every=10)
    run = make_run(config)
    try:
        run.step("iteration", 40)
        run.wait(60)
        run.set(lr_g=2e-3)
        run.step("iteration", 5)
        run.wait(60)
        yield run.snapshot()
    finally:
        run.stop()


def test_charts_from_real_training(trained: Snapshot) -> None:
    assert trained.step == 45
    figures = charts.time_charts(trained, per_layer=True)
    assert traces(figures["losses"], "D loss")[0].x[-1] == 45
    assert [s.x0 for s in event_shapes(figures["gradients"])] == [40]
    assert traces(figures["coverage"], "modes hit")
    assert len(traces(figures["gradients"])) > 2  # per-layer norms of G
    for name, fig in figures.items():
        xs = np.concatenate([np.asarray(t.x, np.float64) for t in fig.data if t.x is not None])
        xs = xs[np.isfinite(xs)]  # None separates the event lines' segments
        assert xs.size and 0 <= xs.min() and xs.max() <= 45, name  # every trace lies on the run's step axis
        assert "NaN" not in pio.to_json(fig, validate=False), name


def test_two_d_samples_have_field_points_and_arrows(trained: Snapshot) -> None:
    frame = trained.frame
    fig = pictures.samples(frame)
    kinds = [t.type for t in fig.data]
    assert kinds == ["heatmap", "scatter", "scatter", "scatter"]
    assert [t.name for t in fig.data[1:]][0] == "real" and fig.data[3].name == "fake G(z)"
    arrows = fig.data[2]
    assert arrows.marker.symbol == "arrow" and len(arrows.x) == 3 * min(len(frame.fake), pictures.MAX_ARROWS)
    only_points = pictures.samples(frame, layers=("real", "fake"))
    assert [t.name for t in only_points.data] == ["real", "fake G(z)"]
    assert fig.layout.yaxis.scaleanchor == "x"


def test_arrows_keep_their_scale_so_vanishing_gradients_look_tiny() -> None:
    bounds = np.array([[-3, 3], [-3, 3]], np.float32)
    points = np.zeros((4, 2), np.float32)
    push = np.array([[1e-6, 0], [0.3, 0], [100.0, 0], [0, 0]], np.float32)
    trace = pictures._arrows(points, push, bounds)
    tips = np.asarray(trace["x"], np.float32).reshape(4, 3)[:, 1]
    assert tips[0] < 1e-5 and math.isclose(tips[1], 0.3 * pictures.ARROW_UNIT * 6, rel_tol=1e-5)
    assert math.isclose(tips[2], pictures.ARROW_MAX * 6, rel_tol=1e-5) and tips[3] == 0


def test_one_d_samples_show_densities_d_and_optimal_d() -> None:
    """A real 1-D frame from the evaluator: the optimal D drawn is p_data / (p_data + p_g) of the drawn
    densities, D(x) is the sigmoid of the critic's scores, and a critic objective shows f(x) instead."""
    trainer = Trainer(Config(dataset="gauss1d", width=16, depth=1, batch_size=64, device="cpu"))
    frame = Evaluator().frame(trainer)
    fig = pictures.samples(frame)
    traces_by_name = {t.name: np.asarray(t.y, np.float64) for t in fig.data}
    assert list(traces_by_name) == ["p_data", "p_g", "D(x)", "optimal D"]
    p, q = traces_by_name["p_data"], traces_by_name["p_g"]
    both = p + q > 1e-6
    np.testing.assert_allclose(traces_by_name["optimal D"][both], (p / (p + q))[both], atol=1e-3)
    np.testing.assert_allclose(traces_by_name["D(x)"], 1 / (1 + np.exp(-np.asarray(frame.scores))), atol=1e-5)
    assert np.asarray(fig.data[0].x).min() < -3 and np.asarray(fig.data[0].x).max() > 3  # the data's span
    critic = Evaluator().frame(Trainer(Config(dataset="gauss1d", loss="wgan-gp", width=16, depth=1, device="cpu")))
    assert [t.name for t in pictures.samples(critic).data] == ["p_data", "p_g", "critic f(x)"]


def test_image_grid_has_a_row_per_class() -> None:
    frame = ImageFrame(images=np.zeros((100, 28, 28), np.uint8), rows=10, step=3, labels=None)
    picture = pictures.image_grid(frame, scale=1)
    assert picture.dtype == np.uint8 and picture.shape == (10 * 30 + 2, 10 * 30 + 2)
    assert pictures.image_grid(frame, scale=2).shape == (604, 604)
    assert pictures.image_grid(None) is None


def test_compare_overlays_runs_by_step_or_time() -> None:
    a, b = make_snapshot(300, evals=make_evals()), make_snapshot(200, seed=1, evals=make_evals(3))
    fig = charts.compare([("A: nonsaturating", a), ("B: wgan-gp", b)], "w1_exact")
    assert [t.name for t in fig.data] == ["A: nonsaturating", "B: wgan-gp"]
    by_time = charts.compare([("A", a), ("B", b)], "grad_norm_g", x="time")
    assert by_time.layout.yaxis.type == "log" and by_time.layout.xaxis.title.text == "seconds"
    assert max(by_time.data[0].x) <= a.columns["time"][-1] + 1e-6


# --- links and exports -------------------------------------------------------------------------------------------
def test_link_round_trips_the_settings_seed_included() -> None:
    config = PRESETS["wgan-gp"].config.replace(lr_g=2e-4, seed=3, modes=12, conditional=True)
    params = share.config_to_params(config, "wgan-gp")
    assert params == {"preset": "wgan-gp", "modes": "12", "conditional": "true", "lr_g": "0.0002", "seed": "3"}
    back, preset, warnings = share.params_to_config(params)
    assert back == config and preset == "wgan-gp" and warnings == []
    plain, preset, _ = share.params_to_config({})
    assert plain == PRESETS[DEFAULT_PRESET].config and preset == DEFAULT_PRESET
    custom = Config(loss="hinge", std=0.1)
    assert share.params_to_config(share.config_to_params(custom, None))[0] == custom


def test_bad_link_values_are_dropped_with_a_warning() -> None:
    config, preset, warnings = share.params_to_config({"preset": "wgan-gp", "lr_d": "fast", "batch_size": "0",
                                                       "colour": "red", "seed": "5"})
    assert config == PRESETS["wgan-gp"].config.replace(seed=5)
    assert len(warnings) == 3 and any("lr_d" in w for w in warnings) and any("colour" in w for w in warnings)
    config, preset, warnings = share.params_to_config({"preset": "nope"})
    assert preset == share.CUSTOM and config == Config() and warnings
    assert share.link("http://10.0.0.5:8501", {"run": "abc", "seed": "1"}) == "http://10.0.0.5:8501/?run=abc&seed=1"


def test_metrics_csv_has_every_column_and_blank_nan() -> None:
    snap = make_snapshot(5, loss="wgan-gp")
    lines = share.metrics_csv(snap).strip().split("\n")
    header = lines[0].split(",")
    assert header[:3] == ["step", "time", "loss_d"] and len(lines) == 6
    row = dict(zip(header, lines[1].split(",")))
    assert row["step"] == "1" and row["d_real"] == "" and float(row["loss_d"]) >= 0
    events = share.events_csv(make_snapshot(5, events=[Event(3, "lr_d", 0.001, 0.0002, "a, b")]))
    assert events.split("\n")[1] == "3,lr_d,0.001,0.0002,a; b"


def test_sample_png_for_each_kind_of_frame(trained: Snapshot) -> None:
    assert share.sample_png(trained.frame)[:8] == b"\x89PNG\r\n\x1a\n"
    image = ImageFrame(images=np.zeros((10, 28, 28), np.uint8), rows=None, step=0, labels=None)
    assert share.sample_png(image)[:4] == b"\x89PNG"
    assert share.sample_png(None) is None
