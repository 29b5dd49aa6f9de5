"""What evaluation costs: the share of wall time a live run spends evaluating at the default cadence
(target < 10%), and the cost of each measurement on its own.

    python bench/eval_cost.py
"""

from __future__ import annotations

import time

import numpy as np

from common import machine, parser, setup, table, write_json

from gancore.config import Config
from gancore.evaluate import coverage, diagnose, distances, fields
from gancore.evaluate.evaluator import Evaluator
from gancore.presets import DIGITS_MLP, PRESETS
from gancore.run import Run
from gancore.train import Trainer

RUNS = {
    "ring (mode-hopping preset)": PRESETS["mode-hopping"].config,
    "ring WGAN-GP": PRESETS["wgan-gp"].config,
    "1-D mixture": PRESETS["gauss1d"].config,
    "digits MLP": DIGITS_MLP,
    "conditional digits": PRESETS["cgan-digits"].config,
}


def timed(fn, repeat: int = 5) -> float:
    """Median seconds of `fn()` over `repeat` calls (after one warm-up)."""
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return float(np.median(samples))


def measurement_costs() -> list[list[str]]:
    ring = Trainer(Config(device="cpu"))
    rng = np.random.default_rng(0)
    real2, fake2 = rng.normal(size=(2500, 2)).astype(np.float32), rng.normal(size=(2500, 2)).astype(np.float32)
    evaluator = Evaluator()
    evaluator.evaluate(ring)
    digits = Trainer(DIGITS_MLP.replace(device="cpu"))
    z = digits.noise(2500)
    images = digits.generate(z)
    from gancore.evaluate.classifier import load_classifier
    classifier = load_classifier("digits")
    real_img = digits.data.test_split()[0]
    history = {name: np.random.default_rng(1).random(4000).astype(np.float32)
               for name in ring.columns}
    history["step"] = np.arange(4000, dtype=np.float32)
    cases = [
        ("mode coverage, 2,500 samples x 8 modes", lambda: coverage.mode_coverage(fake2, ring.data.centres,
                                                                                   ring.data.stds)),
        ("exact W1, 512 vs 512 (2-D)", lambda: distances.w1_exact(real2[:512], fake2[:512])),
        ("exact W1, 2,500 vs 2,500 (1-D, sorted)", lambda: distances.w1_exact(real2[:, :1], fake2[:, :1])),
        ("JS on a 32x32 grid, 2,500 points", lambda: distances.js_grid(real2, fake2, bounds=ring.data.bounds())),
        ("classifier on 2,500 generated digits", lambda: classifier(images)),
        ("SWD, 1,000 vs 1,000 images", lambda: distances.sliced_wasserstein(
            real_img[:1000].flatten(1).numpy(), images[:1000].flatten(1).numpy())),
        ("Frechet distance of 64 classifier features", lambda: distances.frechet_distance(
            classifier.features(real_img[:1000]).numpy(), classifier.features(images[:1000]).numpy())),
        ("a whole toy evaluation (ring)", lambda: evaluator.evaluate(ring)),
        ("D heatmap, 64x64 grid", lambda: fields.critic_grid(ring.d, ring.data.bounds(), 64)),
        ("G push arrows, 512 points", lambda: fields.push_arrows(ring.d, ring.objective,
                                                                 ring.generate(ring.fixed_z))),
        ("a whole 2-D frame", lambda: evaluator.frame(ring)),
        ("diagnoses over 4,000 logged steps", lambda: diagnose.diagnose(history, {}, "nonsaturating")),
    ]
    return [[name, f"{timed(fn) * 1e3:.1f}"] for name, fn in cases]


def run_share(config: Config, seconds: float, frames: bool) -> dict:
    run = Run(config.replace(device="cpu", steps=0), hooks=[Evaluator(frames=frames)])
    run.start()
    time.sleep(seconds)
    run.pause()
    run.wait()
    snap = run.snapshot()
    run.stop()
    cost = snap.eval_cost
    return {"steps": snap.step, "evaluations": cost.evaluations if cost else None,
            "share": cost.share if cost else None,
            "eval_every": config.eval_every}


def main() -> None:
    p = parser(__doc__)
    args = p.parse_args()
    setup(args)
    rows = []
    results = {"shares": {}, "costs": {}}
    for name, config in RUNS.items():
        r = run_share(config, args.seconds * 5, frames=True)
        results["shares"][name] = r
        rows.append([name, r["eval_every"], r["steps"], r["evaluations"], f"{r['share']:.1%}",
                     "yes" if r["share"] < 0.10 else "NO"])
    print(table(["run (dashboard hooks: frames on)", "eval every", "steps", "evaluations", "share in evaluation",
                 "< 10%"], rows, f"Evaluation share of wall time ({machine()}), {args.seconds * 5:g} s each"))
    costs = measurement_costs()
    results["costs"] = {name: float(ms) for name, ms in costs}
    print(table(["measurement", "ms (median of 5)"], costs, "Cost of each measurement"))
    write_json(args.json, {"machine": machine(), **results})


if __name__ == "__main__":
    main()
