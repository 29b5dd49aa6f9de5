"""Seconds until each preset shows its phenomenon, as the dashboard runs it (one torch thread per run),
measured by the preset's own check (`gancore.presets`): e.g. "grad_norm_g fell 100x", "8 of 8 covered".

    python bench/time_to_phenomenon.py              # every preset, seeds 0 1 2
    python bench/time_to_phenomenon.py --seeds 0 1 --presets wgan-gp mode-hopping
"""

from __future__ import annotations

import statistics

import torch

from common import machine, parser, table, write_json

from gancore.presets import PRESETS, demonstrate

TARGET_SECONDS = 30.0


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--presets", nargs="+", default=list(PRESETS))
    args = p.parse_args()
    torch.set_num_threads(args.threads or 1)
    rows, results = [], {}
    for name in args.presets:
        preset = PRESETS[name]
        runs = [demonstrate(preset, seed, timeout=120, max_steps=preset.within_steps * 3) for seed in args.seeds]
        seconds = [r.seconds for r in runs if r.shown]
        results[name] = [{"seed": r.seed, "shown": r.shown, "step": r.step, "seconds": r.seconds} for r in runs]
        worst = max(seconds) if len(seconds) == len(runs) else float("inf")
        rows.append([name, preset.criterion[:60], f"{sum(r.shown for r in runs)}/{len(runs)}",
                     " ".join(f"{r.step}" for r in runs), f"{statistics.median(seconds):.1f}" if seconds else "-",
                     f"{worst:.1f}", "yes" if worst <= TARGET_SECONDS else "NO"])
    print(table(["preset", "shown when", "seeds shown", "steps", "median s", "worst s", "<= 30 s"], rows,
                f"Time to phenomenon ({machine()}), seeds {args.seeds}"))
    write_json(args.json, {"machine": machine(), "results": results})


if __name__ == "__main__":
    main()
