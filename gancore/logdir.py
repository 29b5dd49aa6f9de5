"""The log directory: the files a run directory records over time, and the only way a name from a browser
becomes a path (`resolve`: inside the log directory, or refused).

A run directory (outputs.py) holds metrics.csv and events.jsonl; logwriter.py adds info.json (what the run is),
evaluations.jsonl (every evaluation) and frames.jsonl (the pictures at the dashboard's cadence), one line per
record; logreader.py turns a directory, finished or still being written, back into the dashboard's Snapshot.
`list_runs` is what the dashboard's "Recorded runs" lists.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

FORMAT = 1  # of info.json, evaluations.jsonl and frames.jsonl; a reader names a directory of another format
METRICS, EVENTS, SUMMARY, CONFIG = "metrics.csv", "events.jsonl", "summary.json", "config.json"
INFO, EVALUATIONS, FRAMES = "info.json", "evaluations.jsonl", "frames.jsonl"
LIVE_SECONDS = 30.0  # a directory without summary.json that grew this recently is still being written
STATUSES = {"completed": "finished"}  # summary.json's words that the dashboard says differently


class LogdirError(ValueError):
    """A name that does not resolve to a run directory inside the log directory."""


def resolve(logdir: Path, name: str, markers: tuple[str, ...] = (METRICS, CONFIG),
            kind: str = "run directory") -> Path:
    """The run directory `name` inside `logdir` (or, with `markers` and `kind`, another folder known by the
    files it holds: a sweep's sweep.json); LogdirError for anything else (an absolute path, `..`, a
    symbolic link that leads out, a folder that is not one)."""
    root = Path(logdir).resolve()
    if not name or Path(name).is_absolute() or "\\" in name or "\x00" in name:
        raise LogdirError(f"{name!r} is not the name of a {kind} in the log directory")
    path = (root / name).resolve()
    if path == root or not path.is_relative_to(root):
        raise LogdirError(f"{name!r} is outside the log directory: refused")
    if not any((path / marker).is_file() for marker in markers):
        raise LogdirError(f"{name!r} is not a {kind} in the log directory (no {markers[0]})")
    return path


@dataclass(frozen=True)
class Listing:
    name: str  # relative to the log directory: what `?dir=` takes
    status: str
    step: int
    modified: float  # when metrics.csv last grew (seconds since the epoch)


def list_runs(logdir: Path) -> list[Listing]:
    """The run directories directly under `logdir`, the most recently written first."""
    root = Path(logdir)
    if not root.is_dir():
        return []
    out = []
    for path in root.iterdir():
        try:
            if path.is_dir() and (path / METRICS).is_file():
                path = resolve(root, path.name)  # a symbolic link out of the log directory is not listed
                modified = (path / METRICS).stat().st_mtime
                out.append(Listing(path.name, status_of(path, modified)[0], _last_step(path / METRICS), modified))
        except (LogdirError, OSError):
            continue
    return sorted(out, key=lambda r: r.modified, reverse=True)


def status_of(path: Path, modified: float) -> tuple[str, str]:
    """(status, reason): summary.json's, or running (the files still grow) or stopped (they stopped)."""
    try:
        summary = json.loads((path / SUMMARY).read_text())
        status = str(summary.get("status", "stopped"))
        return STATUSES.get(status, status), str(summary.get("reason") or "")
    except FileNotFoundError:
        pass
    except (OSError, ValueError, AttributeError):
        return "stopped", f"{SUMMARY} cannot be read"
    if time.time() - modified <= LIVE_SECONDS:
        return "running", "another process is writing this run"
    return "stopped", f"no {SUMMARY}: the writing process ended before the run did (killed?)"


def _last_step(path: Path) -> int:
    """The step of metrics.csv's last whole line, reading only its end."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - 4096))
            lines = f.read().split(b"\n")[:-1]
        return int(float(lines[-1].split(b",")[0])) if lines else 0
    except (OSError, ValueError, IndexError):
        return 0
