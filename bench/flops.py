"""How close to the machine: achieved FLOP/s of a training step of the image models against the machine's
measured matmul FLOP/s, in the same run, so we know how much is arithmetic and how much is overhead.

FLOPs of one iteration are counted by torch's FlopCounterMode (matmuls and convolutions, forward and
backward); the machine's peak is a large float32 matmul (1024^3), taken right before each model.

    python bench/flops.py [--threads 1]
"""

from __future__ import annotations


import torch
from torch.utils.flop_counter import FlopCounterMode

from common import machine, parser, rate, setup, table, write_json

from gancore.config import Config
from gancore.presets import DIGITS_MLP, PRESETS
from gancore.train import Trainer

MODELS = {
    "2-D ring MLP 3x128, batch 256": Config(),
    "MNIST MLP 2x512, batch 64": DIGITS_MLP,
    "MNIST DCGAN width 32, batch 64": Config(dataset="digits", arch="dcgan", width=32, latent_dim=64,
                                             batch_size=64),
    "conditional MNIST MLP": PRESETS["cgan-digits"].config,
}


def matmul_flops(n: int = 1024, seconds: float = 1.0) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    return 2 * n ** 3 * rate(lambda: a @ b, seconds)


def iteration_flops(trainer: Trainer) -> int:
    with FlopCounterMode(display=False) as counter:
        trainer.train_step()
    trainer.flush()
    return counter.get_total_flops()


def main() -> None:
    args = parser(__doc__).parse_args()
    setup(args)
    rows, results = [], {}
    for name, config in MODELS.items():
        trainer = Trainer(config.replace(device="cpu"))
        peak = matmul_flops(seconds=args.seconds / 2)
        flops = iteration_flops(trainer)

        def step() -> None:
            trainer.train_step()
            if len(trainer._rows) >= 32:
                trainer.flush()
        its = rate(step, args.seconds)
        achieved = flops * its
        results[name] = {"flops_per_iteration": flops, "iterations_per_s": its, "achieved": achieved,
                         "matmul_peak": peak}
        rows.append([name, f"{flops / 1e6:.0f}", f"{its:.1f}", f"{achieved / 1e9:.1f}", f"{peak / 1e9:.1f}",
                     f"{achieved / peak:.0%}"])
    print(table(["model", "MFLOP / iteration", "it/s", "achieved GFLOP/s", "matmul GFLOP/s (1024^3)",
                 "share of the machine"], rows, f"FLOP/s of a training step ({machine()})"))
    write_json(args.json, {"machine": machine(), "results": results})


if __name__ == "__main__":
    main()
