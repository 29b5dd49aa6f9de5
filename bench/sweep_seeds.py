"""How many seeds a sweep's map needs: read a finished sweep folder with S seeds per cell and redraw its map
from the first 1, 2, ..., S seeds, counting the cells whose colour or word changes at each added seed.

    python -m gancore sweep --sweep-preset lr-balance --seeds 0 1 2 3 4 --out sweeps/lr5
    python bench/sweep_seeds.py sweeps/lr5

A cell's colour is its median outcome over the seeds so far (sweep_map.summarise_cells, the same numbers as
sweep.png); it "changes" when that median moves by at least `--step` (default 1: one mode with a fair share)
or its dominant diagnosis changes. The map is stable from k seeds when no later seed changes a cell. A map
that keeps flipping is a finding about the setting, not a failure of the sweep.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from gancore.sweep_grid import value_text
from gancore.sweep_map import summarise_cells


def maps(rows: list[dict[str, str]], axes: list[str], seeds: list[str], outcome: str) -> list[dict]:
    """The map (cell -> median and word) from the first k seeds, for k = 1..len(seeds)."""
    return [summarise_cells([r for r in rows if r["seed"] in seeds[:k]], axes, outcome)
            for k in range(1, len(seeds) + 1)]


def changed(before: dict, after: dict, step: float) -> int:
    """Cells whose median moved by `step` or more, or whose dominant word differs."""
    count = 0
    for key, cell in after.items():
        old = before.get(key)
        if old is None or old["label"] != cell["label"]:
            count += 1
        elif (old["median"] is None) != (cell["median"] is None):
            count += 1
        elif cell["median"] is not None and abs(cell["median"] - old["median"]) >= step:
            count += 1
    return count


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folder", type=Path, help="a finished sweep folder (sweep.json, sweep.csv)")
    p.add_argument("--step", type=float, default=1.0, help="a median change this large counts (default 1)")
    args = p.parse_args()
    settings = json.loads((args.folder / "sweep.json").read_text())
    with open(args.folder / "sweep.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    axes, outcome = list(settings["grid"]), settings["outcome"]
    seeds = [value_text(s) for s in settings["seeds"]]
    drawn = maps(rows, axes, seeds, outcome)
    flips = [changed(a, b, args.step) for a, b in zip(drawn, drawn[1:])]
    stable = next(k for k in range(1, len(seeds) + 1) if not any(flips[k - 1:]))
    cells = len(drawn[-1])
    print(f"{settings.get('sweep_preset') or 'sweep'}: {cells} cells, {len(rows)} runs, outcome {outcome}\n")
    print("| seeds | cells that changed (median by >= %g, or word) |" % args.step)
    print("|---|---|")
    for k, n in enumerate(flips, start=2):
        print(f"| {k - 1} -> {k} | {n} of {cells} |")
    if stable == len(seeds) > 1:
        print(f"\nnot stable yet: seed {len(seeds)} still changed the map (more seeds needed)")
    else:
        print(f"\nstable from {stable} seed{'s' * (stable > 1)} per cell")


if __name__ == "__main__":
    main()
