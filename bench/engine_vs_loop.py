"""Engine vs the plain PyTorch loop a user would write in a notebook, for the same model, batch, data and
objective. The engine runs as users run it: a Run in its thread with every per-step measurement and the
evaluator at its default cadence. The loop is the textbook one: sample, D step(s), G step, `.item()`.

    python bench/engine_vs_loop.py                 # CPU, torch's default threads
    python bench/engine_vs_loop.py --threads 1     # one thread (what the dashboard uses)
    python bench/engine_vs_loop.py --device cuda
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from common import alternate, machine, parser, setup, table, write_json

from gancore.config import Config
from gancore.data import make_dataset
from gancore.evaluate.evaluator import Evaluator
from gancore.models import build_models
from gancore.presets import DIGITS_MLP, PRESETS
from gancore.run import Run

CASES = {
    "2-D ring MLP, non-saturating": Config(),
    "2-D ring MLP, WGAN-GP (5 critic steps)": PRESETS["wgan-gp"].config,
    "MNIST MLP": DIGITS_MLP,
    "MNIST DCGAN": Config(dataset="digits", arch="dcgan", width=32, latent_dim=64, batch_size=64),
    "conditional MNIST MLP": PRESETS["cgan-digits"].config,
}


class TextbookLoop:
    """What a course notebook does: separate D passes on real and fake, a fresh G pass for the G step,
    default optimizers, and `.item()` on both losses every step for logging."""

    def __init__(self, config: Config, device: torch.device) -> None:
        self.c = config
        self.device = device
        self.data = make_dataset(config.dataset, *config.data_params()).to(device)
        torch.manual_seed(config.seed)
        k = self.data.n_classes if config.conditional else 0
        self.g, self.d = (m.to(device) for m in build_models(config, self.data.shape, self.data.n_classes))
        self.k = k
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=config.lr_g, betas=(config.beta1, config.beta2))
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=config.lr_d, betas=(config.beta1, config.beta2))
        self.rng = torch.Generator(device).manual_seed(config.seed)
        self.log: list[tuple[float, float]] = []

    def _labels(self, n: int):
        return torch.randint(self.k, (n,), device=self.device) if self.k else None

    def step(self) -> None:
        c, b = self.c, self.c.batch_size
        for _ in range(c.n_critic):
            real, y = self.data.sample(b, self.rng)
            y = y if self.k else None
            with torch.no_grad():
                fake = self.g(torch.randn(b, c.latent_dim, device=self.device), y)
            real_s, fake_s = self.d(real, y), self.d(fake, y)
            if c.loss == "wgan-gp":
                eps = torch.rand((b,) + (1,) * len(self.data.shape), device=self.device)
                x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
                grad, = torch.autograd.grad(self.d(x_hat, y).sum(), x_hat, create_graph=True)
                gp = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
                loss_d = fake_s.mean() - real_s.mean() + c.gp_lambda * gp
            else:
                loss_d = (F.binary_cross_entropy_with_logits(real_s, torch.ones_like(real_s))
                          + F.binary_cross_entropy_with_logits(fake_s, torch.zeros_like(fake_s)))
            self.opt_d.zero_grad()
            loss_d.backward()
            self.opt_d.step()
        y = self._labels(b)
        fake_s = self.d(self.g(torch.randn(b, c.latent_dim, device=self.device), y), y)
        if c.loss == "wgan-gp":
            loss_g = -fake_s.mean()
        else:
            loss_g = F.binary_cross_entropy_with_logits(fake_s, torch.ones_like(fake_s))
        self.opt_g.zero_grad()
        loss_g.backward()
        self.opt_g.step()
        self.log.append((loss_d.item(), loss_g.item()))


def engine_rate(run: Run, seconds: float) -> float:
    """Iterations per second of a live Run (measurements and evaluation on) over about `seconds`."""
    before = run.snapshot().step
    start = time.perf_counter()
    run.start()
    time.sleep(seconds)
    run.pause()
    run.wait()
    return (run.snapshot().step - before) / (time.perf_counter() - start)


def loop_rate(loop: TextbookLoop, seconds: float, device: torch.device) -> float:
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for _ in range(3):
        loop.step()
    sync()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        loop.step()
        n += 1
    sync()
    return n / (time.perf_counter() - start)


def main() -> None:
    args = parser(__doc__).parse_args()
    setup(args)
    device = torch.device(args.device)
    rows, results = [], {}
    for name, config in CASES.items():
        config = config.replace(device=args.device, steps=0, eval_every=Config().eval_every)  # the default
        run = Run(config, hooks=[Evaluator(frames=False)])  # headless, as the command line runs
        # The loop runs on the run's own thread (between the engine's windows): torch keeps an OpenMP
        # worker pool per thread, and two pools alive on 2 cores slow both sides 2.5x (see the README).
        loop = run.call(lambda trainer: TextbookLoop(config, device)).result()
        run.step("iteration", 5)
        run.wait()
        r = alternate(lambda: engine_rate(run, args.seconds),
                      lambda: run.call(lambda trainer: loop_rate(loop, args.seconds, device)).result(),
                      args.rounds)
        cost = run.snapshot().eval_cost
        share = cost.share if cost is not None else float("nan")
        run.stop()
        results[name] = {**r, "eval_share": share}
        rows.append([name, f"{r['a']:.1f}", f"{r['b']:.1f}", f"{r['ratio']:.2f}",
                     f"{r['ratio_min']:.2f}-{r['ratio_max']:.2f}", f"{share:.1%}"])
    print(table(["case", "engine it/s", "textbook it/s", "ratio (median)", "ratio range", "eval share"], rows,
                f"Engine vs textbook loop on {args.device} ({machine()}), {args.rounds} alternating rounds of "
                f"{args.seconds:g} s"))
    write_json(args.json, {"machine": machine(), "device": args.device, "results": results})


if __name__ == "__main__":
    main()
