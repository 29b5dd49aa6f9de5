"""What a run directory records over time, written so that a reader never sees a torn record.

Every record is one line written with one `write` on a file opened for appending, so a reader sees whole
records, only perhaps an unfinished last line that it leaves for the next read. frames.jsonl is bounded by
FRAMES_BUDGET: past it, the file is replaced by every other frame and the writer keeps one frame in two from
then on (and so on, doubling), so a run of any length keeps a picture history spread over all of it. The
line format (`evaluation_record`/`evaluation_of`, `frame_record`/`frame_of`) is shared with logreader.py.
"""

from __future__ import annotations

import base64
import json
import math
import os
import threading
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from . import atomic
from .info import RunInfo
from .logdir import EVALUATIONS, FORMAT, FRAMES, INFO
from .measures import EVAL_MEASURES
from .records import Evaluation, Frame, ImageFrame, LineFrame, PlaneFrame

FRAMES_BUDGET = 32 * 2**20  # bytes of frames.jsonl (a 2-D frame is ~40 kB): thinned past it, never larger
FRAME_KINDS = {cls.__name__: cls for cls in (ImageFrame, PlaneFrame, LineFrame)}


# --- encoding ---------------------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    """JSON for numpy values: arrays as dtype, shape and base64 bytes (exact, and 4/3 of their size)."""
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        return {"__array__": array.dtype.str, "shape": list(array.shape),
                "data": base64.b64encode(array.tobytes()).decode()}
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    raise TypeError(f"cannot record a {type(value).__name__}")


def _array(value: Any) -> Any:
    if isinstance(value, dict) and "__array__" in value:
        data = base64.b64decode(value["data"])
        return np.frombuffer(data, np.dtype(value["__array__"])).reshape(value["shape"]).copy()
    return value


def _line(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, default=_plain, separators=(",", ":")) + "\n").encode()


def evaluation_record(e: Evaluation) -> dict[str, Any]:
    """An evaluation without its samples: the numbers, the histogram and the coverage thresholds."""
    return {"step": e.step, "values": e.values, "histogram": e.histogram, "coverage": e.coverage,
            "confidence": e.confidence}


def evaluation_of(record: dict[str, Any]) -> Evaluation:
    values = {name: math.nan for name in EVAL_MEASURES}  # a measure this version has and the writer had not
    values.update({k: math.nan if v is None else float(v) for k, v in record["values"].items()})
    histogram = _array(record.get("histogram"))
    return Evaluation(step=int(record["step"]), values=values, coverage=record.get("coverage"),
                      histogram=None if histogram is None else np.asarray(histogram),
                      confidence=float(record.get("confidence", math.nan)))


def frame_record(frame: Frame) -> dict[str, Any]:
    return {"kind": type(frame).__name__, **{f.name: getattr(frame, f.name) for f in fields(frame)}}


def frame_of(record: dict[str, Any]) -> Frame:
    cls = FRAME_KINDS[record["kind"]]
    return cls(**{f.name: _array(record[f.name]) for f in fields(cls)})


def append_lines(fd: int, data: bytes) -> None:
    """One `write` for whole lines (a loop only if the kernel took part of it)."""
    while data:
        data = data[os.write(fd, data):]


# --- writing ----------------------------------------------------------------------------------------------
class LogWriter:
    """Appends evaluations and frames to a run directory. Thread-safe: the training thread records, the
    caller opens and closes. What is recorded before `open` (a run publishes its first evaluation and
    picture while it is built) waits, the latest of each, and is written by `open`. A file that cannot be
    written (a full disk) stops there and is reported in `problems`: pictures are not worth a run."""

    def __init__(self, out: Path, budget: int = FRAMES_BUDGET) -> None:
        self.out = Path(out)
        self.budget = budget
        self._lock = threading.Lock()
        self._fds: dict[str, int] = {}
        self._pending: dict[str, Any] = {}
        self._last = {EVALUATIONS: -1, FRAMES: -1}  # the step of the last record written
        self.stride = 1  # frames kept: one in `stride`
        self._offered = 0
        self._frame_bytes = 0
        self._stopped: set[str] = set()  # files that failed to write: not tried again
        self.problems: list[str] = []  # why, one line each

    def open(self, info: RunInfo, created: float, keep_step: int | None = None) -> None:
        """Write info.json and start evaluations.jsonl and frames.jsonl afresh or, with `keep_step` (a
        resumed run), keep their records up to that step."""
        atomic.write_text(self.out / INFO, json.dumps({"format": FORMAT, "created": created,
                                                       "info": _info_record(info)}) + "\n")
        with self._lock:
            for name in (EVALUATIONS, FRAMES):
                kept = [] if keep_step is None else [(s, line) for s, line in _records(self.out / name)
                                                    if s <= keep_step]
                atomic.write_bytes(self.out / name, b"".join(line for _, line in kept))
                self._last[name] = kept[-1][0] if kept else -1
                self._fds[name] = os.open(self.out / name, os.O_WRONLY | os.O_APPEND)
            self._frame_bytes = (self.out / FRAMES).stat().st_size
            pending, self._pending = self._pending, {}
        for name, (record, force) in pending.items():
            self._append(name, record, force)

    def evaluation(self, e: Evaluation) -> None:
        self._append(EVALUATIONS, evaluation_record(e), True)

    def frame(self, frame: Frame, force: bool = False) -> None:
        """Record a picture; one in `stride` is kept unless `force` (the final one always is)."""
        self._append(FRAMES, frame_record(frame), force)

    def _append(self, name: str, record: dict[str, Any], force: bool) -> None:
        with self._lock:
            if name in self._stopped:
                return
            if name not in self._fds:
                self._pending[name] = (record, force)
                return
            if record["step"] < self._last[name]:  # a reset run: its records would break the step order
                return
            if name == FRAMES:
                self._offered += 1
                if not force and self._offered % self.stride:
                    return
            data = _line(record)
            try:
                append_lines(self._fds[name], data)
                self._last[name] = record["step"]
                if name == FRAMES:
                    self._frame_bytes += len(data)
                    if self._frame_bytes > self.budget:
                        self._thin()
            except OSError as exc:  # a full disk: the run trains on, this file stops here (and is reported)
                self.problems.append(f"{name}: {type(exc).__name__}: {exc}")
                os.close(self._fds.pop(name))
                self._stopped.add(name)

    def _thin(self) -> None:
        """Replace frames.jsonl by every other frame (the latest kept), and keep one in twice as many."""
        lines = [line for _, line in _records(self.out / FRAMES)][::-1][::2][::-1]
        os.close(self._fds[FRAMES])
        atomic.write_bytes(self.out / FRAMES, b"".join(lines))
        self._fds[FRAMES] = os.open(self.out / FRAMES, os.O_WRONLY | os.O_APPEND)
        self._frame_bytes = sum(map(len, lines))
        self.stride *= 2

    def close(self) -> None:
        with self._lock:
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()


def _info_record(info: RunInfo) -> dict[str, Any]:
    return {f.name: getattr(info, f.name) for f in fields(info)}


def _records(path: Path) -> list[tuple[int, bytes]]:
    """(step, line) of every whole, readable record of a jsonl file (a torn last line is dropped)."""
    try:
        data = path.read_bytes()
    except OSError:
        return []
    out = []
    for line in data.splitlines(keepends=True):
        try:
            if line.endswith(b"\n"):
                out.append((int(json.loads(line)["step"]), line))
        except (ValueError, KeyError, TypeError):
            continue
    return out
