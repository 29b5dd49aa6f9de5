"""Shared benchmark plumbing: alternate A and B in one process, report the median ratio and its spread.

These machines are noisy (other work shares the cores), so absolute numbers move; ratios of A and B taken
in alternation, A B A B ..., move much less. Each benchmark prints a table and can write JSON (--json).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from typing import Callable, Sequence

import torch


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--rounds", type=int, default=5, help="alternating rounds (A B) per case")
    p.add_argument("--seconds", type=float, default=2.0, help="seconds per measurement")
    p.add_argument("--json", help="also write the results to this JSON file")
    return p


def setup(args: argparse.Namespace) -> None:
    if args.threads:
        torch.set_num_threads(args.threads)


def machine() -> str:
    gpu = f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    return (f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
            f"torch {torch.__version__}{gpu}")


def rate(step: Callable[[], None], seconds: float, sync: Callable[[], None] = lambda: None,
         warmup: int = 5) -> float:
    """Calls of `step` per second over about `seconds` (after a warm-up), synchronising at the ends."""
    for _ in range(warmup):
        step()
    sync()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        n += 1
    sync()
    return n / (time.perf_counter() - start)


def alternate(a: Callable[[], float], b: Callable[[], float], rounds: int) -> dict:
    """Measure a, b, a, b, ... and summarise: medians of each and the median of the per-round ratios a/b."""
    ra, rb = [], []
    for _ in range(rounds):
        ra.append(a())
        rb.append(b())
    ratios = [x / y for x, y in zip(ra, rb)]
    return {"a": statistics.median(ra), "b": statistics.median(rb), "ratio": statistics.median(ratios),
            "ratio_min": min(ratios), "ratio_max": max(ratios), "a_all": ra, "b_all": rb}


def table(headers: Sequence[str], rows: Sequence[Sequence], title: str = "") -> str:
    cells = [[str(c) for c in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"
    out = ([f"\n{title}\n"] if title else []) + [line(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    return "\n".join(out + [line(r) for r in cells[1:]])


def write_json(path: str | None, payload: dict) -> None:
    if path:
        with open(path, "w") as f:
            json.dump(payload, f, indent=2)
