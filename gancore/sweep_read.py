"""A sweep folder read back while it fills: its settings, its cells, and the row of every run finished so far.

The dashboard's Sweep view reads a sweep through here at every refresh. sweep.csv is rewritten as each run
finishes, but a run finishes in its own directory first (summary.json, then sweep_cell.json), and a sweep
run by another process, or resumed, may lag behind: so each cell's row is read from its directory
(`finished_row`, the same test resume uses), and sweep.csv adds the rows only it holds (a run that could not
start, a worker lost twice). Nothing here trains or draws.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import Config, ConfigError
from .logdir import METRICS, LogdirError, resolve
from .sweep import cell_row, csv_text, finished_row, read_csv
from .sweep_grid import Axis, cells, value_text

SETTINGS, TABLE = "sweep.json", "sweep.csv"


@dataclass
class SweepState:
    """What a sweep folder holds now."""
    settings: dict[str, Any]
    axes: list[tuple[str, list[str]]]  # (name, values as text), in grid order
    rows: list[dict[str, str]]  # one per finished (or failed) run, as sweep.csv holds it, in grid order
    running: list[dict[str, str]] = field(default_factory=list)  # rows (status "running") of runs being written
    total: int = 0  # runs in the sweep
    problems: list[str] = field(default_factory=list)  # what could not be read, one line each

    @property
    def outcome(self) -> str:
        return str(self.settings.get("outcome") or "modes_covered_strict")

    @property
    def title(self) -> str:
        return str(self.settings.get("sweep_preset") or " x ".join(name for name, _ in self.axes))


def resolve_sweep(logdir: Path, name: str) -> Path:
    """The sweep folder `name` inside `logdir` (one holding sweep.json); LogdirError for anything else."""
    return resolve(logdir, name, markers=(SETTINGS,), kind="sweep folder")


def list_sweeps(logdir: Path) -> list[str]:
    """The sweep folders directly under `logdir`, the most recently changed first."""
    found = []
    for path in Path(logdir).iterdir() if Path(logdir).is_dir() else ():
        try:
            path = resolve_sweep(logdir, path.name)  # a link that leads out is not listed
            found.append((path.stat().st_mtime, path.name))
        except (LogdirError, OSError):
            continue
    return [name for _, name in sorted(found, reverse=True)]


def read_sweep(path: Path) -> SweepState:
    """The sweep in `path` as it is now. A file that cannot be read is a problem in the result, never an
    exception: the page shows what can be read."""
    try:
        settings = json.loads((path / SETTINGS).read_text())
        grid = dict(settings["grid"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return SweepState({}, [], [], problems=[f"{SETTINGS} cannot be read: {exc}"])
    state = SweepState(settings, [(name, [value_text(v) for v in values]) for name, values in grid.items()], [])
    table = _table(path, state)
    try:
        every = cells(Config(**settings["base"]), [Axis(n, tuple(v)) for n, v in grid.items()],
                      [int(s) for s in settings["seeds"]])
    except (ConfigError, KeyError, TypeError, ValueError) as exc:  # another version's settings
        state.problems.append(f"the runs' directories are not read ({SETTINGS}: {exc}); showing {TABLE} only")
        state.rows, state.total = list(table.values()), len(table)
        return state
    state.total = len(every)
    for cell in every:
        done = finished_row(cell, path / cell.name)
        if done is not None:
            state.rows.append(csv_text(cell_row(cell, done)))
        elif cell.name in table:
            state.rows.append(table[cell.name])
        elif (path / cell.name / METRICS).is_file():
            state.running.append(csv_text(cell_row(cell, {"status": "running"})))
    return state


def _table(path: Path, state: SweepState) -> dict[str, dict[str, str]]:
    """sweep.csv's rows by run name ({} before the first run finishes)."""
    try:
        return {row["run"]: row for row in read_csv(path / TABLE) if row.get("run")}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError) as exc:
        state.problems.append(f"{TABLE} cannot be read: {exc}")
        return {}
