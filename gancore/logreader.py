"""`RunReader`: a run directory, finished or still being written by another process, as the Snapshot the
dashboard draws, at the latest step or as it was at step k.

Following, it reads only the bytes appended since its last read. A damaged file (a truncated or corrupt line,
a file another version wrote) becomes a message naming the file, and what can be read is shown.
"""

from __future__ import annotations

import bisect
import io
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from .evaluate.diagnose import diagnose_snapshot
from .evaluate.evaluator import MAX_EVALS
from .info import RunInfo
from .logdir import CONFIG, EVALUATIONS, EVENTS, FORMAT, FRAMES, INFO, METRICS, status_of
from .logwriter import FRAME_KINDS, evaluation_of, frame_of
from .metrics import Event, MetricsStore, Snapshot
from .records import Evaluation, Evaluations, Frame

READ_CHUNK = 16 * 2**20  # bytes of metrics.csv parsed at a time: a long run opens in bounded memory
THIN_KEEP = 4096  # lines of a chunk read whole (the store's recent window); older ones are sampled


class _Tail:
    """A file read from where the last read stopped, up to its last whole line. Starts over (reset) when
    the file was replaced (another inode, or shorter than what was read)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self._inode: int | None = None
        self.torn = False  # bytes after the last newline: a line still being written, or cut off

    def read(self, limit: int | None = None) -> tuple[bytes, int, bool]:
        """(whole lines, the offset they start at, whether the file was replaced since the last read)."""
        try:
            st = os.stat(self.path)
        except OSError:
            return b"", self.offset, False
        reset = self._inode is not None and (st.st_ino != self._inode or st.st_size < self.offset)
        if reset:
            self.offset = 0
        self._inode = st.st_ino
        if st.st_size == self.offset:
            return b"", self.offset, reset
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read(limit if limit is not None else -1)
        end = data.rfind(b"\n") + 1
        self.torn = end < len(data) and self.offset + len(data) == st.st_size
        start, self.offset = self.offset, self.offset + end
        return data[:end], start, reset


class RunReader:
    """A run directory as Snapshots. `refresh()` reads what was appended since the last call; `snapshot()`
    is the latest state, `at(step)` the picture, histogram and numbers as they were then (the curves keep
    their history). Memory stays bounded however long the run: the rows go into a MetricsStore."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.problems: dict[str, list[str]] = {}  # file -> what was wrong with it, each said once
        self._metrics = _Tail(self.path / METRICS)
        self._evals_tail = _Tail(self.path / EVALUATIONS)
        self._frames_tail = _Tail(self.path / FRAMES)
        self._store: MetricsStore | None = None
        self._header: list[str] | None = None
        self._evaluations: list[Evaluation] = []
        self._frames: list[tuple[int, int, int]] = []  # (step, offset, length) of each frame, decoded on demand
        self._frame_cache: tuple[int, Frame] | None = None
        self._events: list[Event] = []
        self._events_stamp: tuple[float, int] | None = None
        self._meta = self._read_meta()
        self._version = 0
        self._snapshot: Snapshot | None = None
        self._diagnosed: tuple = (None, None, ())  # (version, step, diagnoses) of the last `at`
        self.refresh()

    def _problem(self, name: str, text: str) -> None:
        said = self.problems.setdefault(name, [])
        if text not in said:
            said.append(text)

    def messages(self) -> list[str]:
        """Every problem found so far, each naming its file."""
        return [text for said in self.problems.values() for text in said]

    # --- reading what is new ---------------------------------------------------------------------------
    def refresh(self) -> bool:
        """Read what was appended since the last call; True if anything changed."""
        changed = self._read_metrics() | self._read_evaluations() | self._read_frames() | self._read_events()
        status = self._status()
        if changed or self._snapshot is None or status != (self._snapshot.status, self._snapshot.reason):
            self._version += 1
            self._snapshot = self._build(status)
            return True
        return False

    def _read_meta(self) -> dict[str, Any]:
        config: dict[str, Any] = {}
        try:
            config = json.loads((self.path / CONFIG).read_text())
        except FileNotFoundError:
            self._problem(CONFIG, f"{CONFIG} is missing: the settings are unknown")
        except (OSError, ValueError) as exc:
            self._problem(CONFIG, f"{CONFIG} cannot be read ({_first_line(exc)})")
        meta: dict[str, Any] = {"config": config if isinstance(config, dict) else {}, "info": None, "created": 0.0}
        try:
            content = json.loads((self.path / INFO).read_text())
            if content.get("format") != FORMAT:
                raise ValueError(f"format {content.get('format')!r}, this version reads {FORMAT}")
            raw = content["info"]
            meta["info"] = RunInfo(**{**raw, **{k: tuple(raw[k]) for k in ("data_shape", "class_names",
                                                                           "step_kinds")}})
            meta["created"] = float(content.get("created", 0.0))
        except FileNotFoundError:
            self._problem(INFO, f"{INFO} is missing (written by an older gancore?): the charts cannot tell "
                                "what kind of run this is and show every group")
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            self._problem(INFO, f"{INFO} cannot be read ({_first_line(exc)}): the run's kind is unknown")
        return meta

    def _read_metrics(self) -> bool:
        changed = False
        while True:
            data, start, reset = self._metrics.read(READ_CHUNK)
            if reset:
                self._store, self._header = None, None
                changed = True
            if not data:
                break
            if start == 0 or self._header is None:
                first, _, data = data.partition(b"\n")
                self._header = first.decode(errors="replace").strip().split(",")
                self._store = MetricsStore(self._header)
                self._store.created = self._meta["created"]
            rows = self._parse(data)
            if len(rows):
                self._store.append(rows)
                changed = True
        self._check_torn(self._metrics, METRICS)
        return changed

    def _check_torn(self, tail: _Tail, name: str) -> None:
        """An unfinished last line is one being written while the run runs; after, it was cut off."""
        if tail.torn and self._status()[0] != "running":
            self._problem(name, f"{name}: its last line is cut off (the writer was killed?); it is skipped")

    def _parse(self, data: bytes) -> np.ndarray:
        """Rows of whole lines; a line with another number of fields or a non-number is skipped, and said.
        Of a long chunk (opening a long run) the last THIN_KEEP lines are read whole and the older ones
        sampled, one in k, to as many again: the store would average them into its bounded history anyway,
        and parsing every line of a million-step file takes tens of seconds on two cores."""
        n = len(self._header)
        lines = data.split(b"\n")[:-1]
        old = len(lines) - THIN_KEEP
        if old >= 2 * THIN_KEEP:
            lines = lines[:old:old // THIN_KEEP] + lines[old:]
        good = [line for line in lines if line.count(b",") == n - 1]
        text = b"\n".join(good).replace(b",,", b",nan,").replace(b",,", b",nan,")
        text = text.replace(b"\n,", b"\nnan,").replace(b",\n", b",nan\n")
        text = (b"nan" if text.startswith(b",") else b"") + text + (b"nan" if text.endswith(b",") else b"")
        try:
            rows = np.loadtxt(io.BytesIO(text), delimiter=",", dtype=np.float32, ndmin=2) if good else \
                np.empty((0, n), np.float32)
        except ValueError as exc:
            self._problem(METRICS, f"{METRICS}: a chunk of rows cannot be read ({_first_line(exc)})")
            return np.empty((0, n), np.float32)
        if len(good) < len(lines):
            self._problem(METRICS, f"{METRICS}: {len(lines) - len(good)} malformed line(s) skipped")
        return rows

    def _jsonl(self, tail: _Tail, name: str) -> tuple[list[tuple[int, int, dict]], bool]:
        """(offset, length, record) of each new whole line of a jsonl file; unreadable lines are said."""
        data, start, reset = tail.read()
        out, bad = [], 0
        offset = start
        for line in data.splitlines(keepends=True):
            try:
                record = json.loads(line)
                int(record["step"])
                out.append((offset, len(line), record))
            except (ValueError, KeyError, TypeError):
                bad += 1
            offset += len(line)
        if bad:
            self._problem(name, f"{name}: {bad} unreadable line(s) skipped")
        self._check_torn(tail, name)
        return out, reset

    def _read_evaluations(self) -> bool:
        new, reset = self._jsonl(self._evals_tail, EVALUATIONS)
        if reset:
            self._evaluations = []
        for _, _, record in new:
            try:
                e = evaluation_of(record)
            except (ValueError, KeyError, TypeError, AttributeError):
                self._problem(EVALUATIONS, f"{EVALUATIONS}: a record of another format was skipped")
                continue
            if self._evaluations and self._evaluations[-1].step == e.step:  # the final one, again: it wins
                self._evaluations[-1] = e
            else:
                self._evaluations.append(e)
            if len(self._evaluations) > MAX_EVALS:  # as the live run keeps them: memory stays flat
                self._evaluations = self._evaluations[::-1][::2][::-1]
        return bool(new) or reset

    def _read_frames(self) -> bool:
        new, reset = self._jsonl(self._frames_tail, FRAMES)
        if reset:
            self._frames, self._frame_cache = [], None
        for offset, length, record in new:
            if record.get("kind") not in FRAME_KINDS:
                self._problem(FRAMES, f"{FRAMES}: a picture of an unknown kind was skipped")
                continue
            self._frames.append((int(record["step"]), offset, length))
            self._frame_cache = None
        if new:  # the newest is drawn first: decode it from what was just read
            offset, length, record = new[-1]
            if record.get("kind") in FRAME_KINDS:
                self._cache_frame(int(record["step"]), record)
        return bool(new) or reset

    def _read_events(self) -> bool:
        """events.jsonl is replaced whole (at checkpoints and the end): read again when it changed."""
        try:
            st = os.stat(self.path / EVENTS)
        except OSError:
            return False
        stamp = (st.st_mtime, st.st_size)
        if stamp == self._events_stamp:
            return False
        self._events_stamp = stamp
        events = []
        for line in (self.path / EVENTS).read_bytes().splitlines():
            try:
                d = json.loads(line)
                events.append(Event(int(d["step"]), str(d["what"]), d.get("old"), d.get("new"), d.get("note", "")))
            except (ValueError, KeyError, TypeError, AttributeError):
                self._problem(EVENTS, f"{EVENTS}: an unreadable line was skipped")
        self._events = events
        return True

    def _status(self) -> tuple[str, str]:
        try:
            modified = max(os.stat(self.path / name).st_mtime for name in (METRICS, EVALUATIONS, FRAMES)
                           if (self.path / name).exists())
        except ValueError:
            modified = 0.0
        return status_of(self.path, modified)

    # --- the snapshots ---------------------------------------------------------------------------------
    def _build(self, status: tuple[str, str]) -> Snapshot:
        base = self._store.snapshot() if self._store is not None else MetricsStore(["step"]).snapshot()
        columns = base.columns
        steps = columns.get("step")
        step = int(steps[-1]) if steps is not None and len(steps) else 0
        evaluations = Evaluations.of(self._evaluations) if self._evaluations else Evaluations()
        snap = Snapshot(self._version, columns, list(self._events), status=status[0], reason=status[1],
                        step=step, config=self._meta["config"], info=self._meta["info"],
                        created=self._meta["created"], evaluation=self._evaluations[-1] if self._evaluations
                        else None, evaluations=evaluations, frame=self._frame_at(None))
        return replace(snap, diagnoses=diagnose_snapshot(snap, snap.config.get("clip")))

    def snapshot(self) -> Snapshot:
        """The latest state read (call `refresh` to read more)."""
        return self._snapshot

    def steps(self) -> list[int]:
        """The steps a scrubber stops at: those of the recorded pictures and evaluations."""
        return sorted({s for s, _, _ in self._frames} | {e.step for e in self._evaluations})

    def at(self, step: int) -> Snapshot:
        """The latest snapshot as it was at `step`: its picture, evaluation, step and diagnoses (the
        detectors on the history up to `step`, as the banners said then); the curves stay whole."""
        snap = self.snapshot()
        if self._diagnosed[:2] != (snap.version, step):
            self._diagnosed = (snap.version, step, diagnose_snapshot(_until(snap, step), snap.config.get("clip")))
        i = bisect.bisect_right([e.step for e in self._evaluations], step)
        return replace(snap, step=step, evaluation=self._evaluations[i - 1] if i else None,
                       frame=self._frame_at(step), diagnoses=self._diagnosed[2])

    def _frame_at(self, step: int | None) -> Frame | None:
        """The last picture at or before `step` (None: the newest), read from frames.jsonl on demand."""
        if not self._frames:
            return None
        i = len(self._frames) if step is None else bisect.bisect_right([s for s, _, _ in self._frames], step)
        if i == 0:
            return None
        frame_step, offset, length = self._frames[i - 1]
        if self._frame_cache is not None and self._frame_cache[0] == frame_step:
            return self._frame_cache[1]
        try:
            with open(self.path / FRAMES, "rb") as f:
                f.seek(offset)
                record = json.loads(f.read(length))
            return self._cache_frame(frame_step, record)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self._problem(FRAMES, f"{FRAMES}: the picture of step {frame_step} cannot be read ({_first_line(exc)})")
            return None

    def _cache_frame(self, step: int, record: dict) -> Frame | None:
        try:
            frame = frame_of(record)
        except (ValueError, KeyError, TypeError) as exc:
            self._problem(FRAMES, f"{FRAMES}: a picture of another format was skipped ({_first_line(exc)})")
            return None
        self._frame_cache = (step, frame)
        return frame


def _until(snap: Snapshot, step: int) -> Snapshot:
    """`snap` with only the rows and evaluations up to `step`: what the detectors had seen then."""
    steps = snap.columns.get("step")
    rows = steps <= step if steps is not None else slice(None)
    evaluations = snap.evaluations
    if len(evaluations):
        kept = evaluations["step"] <= step
        evaluations = Evaluations({k: v[kept] for k, v in evaluations.columns.items()},
                                  None if evaluations.histogram is None else evaluations.histogram[kept])
    return replace(snap, columns={k: v[rows] for k, v in snap.columns.items()}, evaluations=evaluations)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
