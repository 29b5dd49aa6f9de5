"""The dashboard's pure parts: chart builders, theory figures, links and exports, status wording.

Snapshots are built by hand (exact control over NaN, events, length) or taken from a few real training
steps (the shapes the engine really publishes). Assertions are on the figure's data: traces, marker
shapes, axis types, point counts."""

from __future__ import annotations

import dataclasses
import json
import math
import time

import numpy as np
import plotly.io as pio
import pytest
from scipy import stats

from dashboard import charts, figure, pictures, share, status, theory
from gancore.evaluate.diagnosis import Diagnosis
from gancore.config import Config
from gancore.metrics import Event, Snapshot
from gancore.presets import DEFAULT_PRESET, PRESETS
from gancore.info import RunInfo
from gancore.measures import EVAL_MEASURES, STEP_MEASURES
from gancore.evaluate.evaluator import Evaluator
from gancore.records import Evaluation, Evaluations, ImageFrame, PlaneFrame
from gancore.train import Trainer

TIME_CHARTS = ("losses", "probabilities", "critic", "gradients", "coverage", "heatmap")


@pytest.fixture(autouse=True)
def validated(monkeypatch):
    """The page builds figures unvalidated (fast); here Plotly validates every property."""
    monkeypatch.setattr(figure, "VALIDATE", True)


def make_snapshot(n: int = 200, *, loss: str = "nonsaturating", events=(), evals=None, evaluation=None,
                  frame=None, seed: int = 0, layers=("linear1", "linear2"), dataset: str = "ring") -> Snapshot:
    """A snapshot shaped like the engine's: float32 columns, one row per step."""
    rng = np.random.default_rng(seed)
    columns = {name: rng.random(n).astype(np.float32) for name in STEP_MEASURES}
    columns["step"] = np.arange(1, n + 1, dtype=np.float32)
    columns["time"] = np.linspace(0, n / 100, n, dtype=np.float32)
    info = run_info(loss, dataset)
    if not info.probabilities:
        for name in ("d_real", "d_fake", "d_accuracy"):
            columns[name] = np.full(n, np.nan, np.float32)
    for layer in layers:
        columns[f"grad_norm_g.{layer}"] = rng.random(n).astype(np.float32)
    state = {"status": "running", "reason": "", "step": n, "config": Config(loss=loss).to_dict(), "info": info}
    if evals is not None:
        state["evaluations"] = typed_evals(evals)
    if evaluation is not None:
        state["evaluation"] = typed_evaluation(evaluation)
    if frame is not None:
        state["frame"] = frame
    return Snapshot(7, columns, list(events), **state)


def run_info(loss: str = "nonsaturating", dataset: str = "ring") -> RunInfo:
    """What a real run of `loss` on `dataset` says about itself."""
    from gancore.train import Trainer
    return Trainer(Config(dataset=dataset, loss=loss, width=4, depth=1, latent_dim=2, device="cpu")).info


def typed_evals(evals: dict[str, np.ndarray]) -> Evaluations:
    n = len(evals["step"])
    columns = {name: np.asarray(evals.get(name, np.full(n, np.nan)), np.float32) for name in ("step", *EVAL_MEASURES)}
    return Evaluations(columns, evals.get("histogram"))


def typed_evaluation(e: dict) -> Evaluation:
    return Evaluation(step=int(e.get("step", 0)), values={name: e.get(name, math.nan) for name in EVAL_MEASURES},
                      histogram=e.get("histogram"), coverage=e.get("coverage"))


def make_evals(e: int = 6, k: int = 8) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    hist = rng.integers(0, 300, size=(e, k)).astype(np.float32)
    return {"step": np.arange(e, dtype=np.float32) * 100, "modes_total": np.full(e, k, np.float32),
            "modes_covered": np.full(e, 5, np.float32), "modes_covered_strict": np.full(e, 3, np.float32),
            "hq_fraction": np.full(e, 0.9, np.float32), "w1_exact": np.linspace(2, 0.5, e).astype(np.float32),
            "label_accuracy": np.full(e, np.nan, np.float32), "histogram": hist}


def traces(fig, name: str | None = None):
    return [t for t in fig.data if name is None or t.name == name]


def event_shapes(fig):
    return [s for s in fig.layout.shapes if (s.name or "").startswith("event:")]


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


# --- theory ---------------------------------------------------------------------------------------------------
def test_generator_loss_derivatives_match_finite_differences() -> None:
    d = np.array([0.01, 0.3, 0.7, 0.95])
    h = 1e-6
    curves, up = theory.generator_losses(d), theory.generator_losses(d + h)
    s = np.log(d / (1 - d))
    up_logit = theory.generator_losses(1 / (1 + np.exp(-(s + h))))
    for name, (loss, d_dd, d_ds) in curves.items():
        assert np.allclose((up[name][0] - loss) / h, d_dd, rtol=1e-3), name
        assert np.allclose((up_logit[name][0] - loss) / h, d_ds, rtol=1e-3, atol=1e-6), name
    # where D rejects the fakes, the saturating loss gives almost nothing back, the others about 1
    tiny = theory.generator_losses(np.array([1e-4]))
    assert abs(tiny["saturating"][2][0]) < 1e-3 and abs(tiny["nonsaturating"][2][0]) > 0.99


def test_js_is_flat_at_log2_once_disjoint_while_w1_keeps_growing() -> None:
    shifts = np.array([0.0, 0.5, 1.5, 3.0, 5.0])
    js, w1 = theory.js_w1_curves(shifts, "uniform", width=1.0)
    assert js[0] == pytest.approx(0, abs=1e-9)
    assert js[1] == pytest.approx(0.5 * math.log(2), abs=0.01)
    assert np.allclose(js[2:], math.log(2), atol=1e-9)  # disjoint: no gradient left
    assert np.allclose(w1, shifts, atol=0.01)  # W1 is the distance moved
    gjs, gw1 = theory.js_w1_curves(np.array([0.0, 2.0, 4.0]), "gaussian")
    assert gjs[0] < 1e-9 < gjs[1] < gjs[2] <= math.log(2) + 1e-9 and np.allclose(gw1, [0, 2, 4], atol=0.01)


def test_optimal_discriminator_saturates_while_the_critic_keeps_its_slope() -> None:
    x = np.linspace(-3, 6, 50)
    c = theory.optimal_d_and_critic(x, 3.0, 0.5)
    p_r, p_g = stats.norm.pdf(x, 0.0, 0.5), stats.norm.pdf(x, 3.0, 0.5)  # the densities, from scipy
    np.testing.assert_allclose(c["p_r"], p_r) and np.testing.assert_allclose(c["p_g"], p_g)
    np.testing.assert_allclose(c["d_opt"], p_r / (p_r + p_g), atol=1e-12)
    at = theory.optimal_d_and_critic(np.array([0.0, 1.5, 3.0]), 3.0, 0.5)["d_opt"]
    # on paper: D*(1.5) = 1/2 (halfway), D*(0) = sigmoid(9 / 0.5) = sigmoid(18), D*(3) = sigmoid(-18)
    np.testing.assert_allclose(at, [1 / (1 + math.exp(-18)), 0.5, 1 / (1 + math.exp(18))], rtol=1e-9)
    assert np.allclose(np.diff(c["critic"]) / np.diff(x), -1)
    far, near = theory.generator_gradients(5.0, 0.5), theory.generator_gradients(0.5, 0.5)
    assert far["saturating"] < 1e-10 < near["saturating"] and far["nonsaturating"] > near["nonsaturating"]
    assert far["critic"] == 1.0


def test_theory_figures_build() -> None:
    for fig in (theory.generator_losses_figure(0.02, "logit"), theory.generator_losses_figure(0.5, "d"),
                theory.js_w1_figure(2.0, "uniform"), theory.js_w1_figure(0.5, "gaussian"), theory.optimal_d_figure()):
        assert fig.data and all(not t.type.endswith("gl") for t in fig.data)
        assert "NaN" not in pio.to_json(fig, validate=False)
    assert theory.generator_losses_figure(0.02, "logit").layout.yaxis2.type == "log"


def test_theory_figures_show_the_numbers_of_their_captions() -> None:
    """JS saturates at log 2 once uniform P and Q (width 1) are disjoint at shift 2, W1 = 2 there; D* is
    1/2 halfway between the Gaussians; the gradient panel marks -d/dlogit at D = 0.02 for each loss."""
    js_w1 = theory.js_w1_figure(2.0, "uniform")
    by_name = {t.name: t for t in js_w1.data if t.name}
    assert list(by_name) == ["P (data)", "Q (generator)", "JS(P, Q)", "W1(P, Q)"]
    marker = next(t for t in js_w1.data if not t.name)
    np.testing.assert_allclose(marker.y, [math.log(2), 2.0])  # the current shift on both curves
    w1 = by_name["W1(P, Q)"]
    np.testing.assert_allclose(w1.y, np.abs(w1.x), atol=1e-9)  # equal shapes: W1 is the shift
    js = by_name["JS(P, Q)"]
    assert np.all(np.asarray(js.y)[np.asarray(js.x) > 1.01] == pytest.approx(math.log(2)))  # disjoint
    optimal = {t.name: t for t in theory.optimal_d_figure(3.0, 0.5).data}
    assert list(optimal) == ["p_data", "p_g", "optimal D*(x)", "WGAN critic f(x)"]
    x, d = np.asarray(optimal["optimal D*(x)"].x), np.asarray(optimal["optimal D*(x)"].y)
    assert np.interp(1.5, x, d) == pytest.approx(0.5, abs=0.01) and d[0] > 0.99 and d[-1] < 0.01
    assert max(optimal["p_data"].y) == pytest.approx(1 / (0.5 * math.sqrt(2 * math.pi)), rel=1e-3)
    losses = theory.generator_losses_figure(0.02, "logit")
    markers = [float(t.y[0]) for t in losses.data if not t.name]
    # |d loss / d logit| at D = 0.02: minimax D = 0.02, non-saturating 1 - D = 0.98, KL 1
    np.testing.assert_allclose(markers, [0.02, 0.98, 1.0], rtol=1e-6)


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


# --- status wording ---------------------------------------------------------------------------------------------


def test_status_banners_say_why_a_run_is_not_training() -> None:
    def at(state: str, reason: str = "") -> Snapshot:
        return Snapshot(0, {}, [], status=state, reason=reason)
    assert status.run_banner(at("running")) is None
    diverged = status.run_banner(at("diverged", "loss_d became non-finite at step 12"))
    assert diverged.level == "error" and "loss_d became non-finite" in diverged.text
    finished = status.run_banner(at("finished", "reached 2000 steps"))
    assert finished.level == "success" and "2000" in finished.text
    assert "Start" in status.run_banner(at("ready")).text


def test_diagnoses_become_banners_with_a_suggestion() -> None:
    d = Diagnosis("mode_collapse", "warning", "Mode collapse: 2 of 8 modes covered for the last 500 steps",
                  "G puts its samples on a few modes.", "try WGAN-GP", 1500)
    [banner] = status.diagnosis_banners([d])
    assert banner.level == "warning" and banner.text.startswith("**Mode collapse: 2 of 8 modes")
    assert "Try:** try WGAN-GP" in banner.text
    assert status.diagnosis_banners([dataclasses.replace(d, severity="error")])[0].level == "error"
    assert status.diagnosis_banners(()) == []


def test_banners_and_headline_speak_of_classes_on_digits() -> None:
    d = Diagnosis("mode_collapse", "warning", "Mode collapse: 2 of 10 modes covered for the last 500 steps",
                  "G maps its noise onto one mode instead of every mode of the data.", "punish the missing modes", 900)
    digits = run_info(dataset="digits")
    [banner] = status.diagnosis_banners([d], digits)
    assert banner.text == ("**Mode collapse: 2 of 10 classes covered for the last 500 steps** — G maps its noise "
                           "onto one class instead of every class of the data.  \n**Try:** punish the missing classes")
    assert "2 of 10 modes covered" in status.diagnosis_banners([d], run_info())[0].text  # a mixture keeps modes
    assert status.diagnosis_banners([d], digits, brief=True)[0].text == (  # the projector's one line
        "**Mode collapse: 2 of 10 classes covered for the last 500 steps**")
    image = make_snapshot(10, evaluation={"modes_total": 10, "modes_covered": 9, "modes_covered_strict": 4},
                          dataset="digits")
    numbers = status.headline(image)
    assert (numbers["hit_label"], numbers["hit"], numbers["coverage"]) == ("Classes hit", "9 / 10", "4 / 10")


def test_headline_numbers() -> None:
    snap = make_snapshot(500, evaluation={"modes_total": 8, "modes_covered": 8, "modes_covered_strict": 3,
                                          "hq_fraction": 0.91, "w1_exact": 0.4567})
    numbers = status.headline(snap)
    assert numbers == {"step": "500", "speed": numbers["speed"], "distance_label": "Exact W1", "distance": "0.457",
                       "hit_label": "Modes hit", "hit": "8 / 8", "coverage_label": "Modes with a fair share",
                       "coverage": "3 / 8", "quality": "91%"}  # the coverage chart's two counts, by its labels
    assert float(numbers["speed"]) == pytest.approx(100, rel=0.05)
    image = make_snapshot(10, evaluation={"modes_total": 10, "modes_covered_strict": 9, "hq_fraction": 0.5,
                                          "w1_exact": math.nan, "fd_features": 12.345}, dataset="digits")
    assert status.headline(image)["distance_label"].startswith("Fréchet")
    assert status.headline(image)["distance"] == "12.3"
    assert status.headline(make_snapshot(0))["distance"] == "–"


def test_logged_at_is_the_server_clock_of_the_last_row() -> None:
    snap = make_snapshot(50)
    assert status.logged_at(snap) == ""  # no origin published: nothing to say
    created = time.mktime((2026, 11, 24, 14, 2, 0, 0, 0, -1))
    times = np.linspace(0, 75.25, 50).astype(np.float32)  # the last row, 75.25 s after the run was created
    stamped = dataclasses.replace(snap, created=created, columns={**snap.columns, "time": times})
    assert status.logged_at(stamped) == "14:03:15.250"  # 14:02:00 + 1 min 15.25 s, on paper
