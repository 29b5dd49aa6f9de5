"""Replace a file all at once: write a temporary file beside it, then rename it over the old one.

A rename within one folder is atomic, so a process killed during a save leaves either the old file or
the new one, never a 0-byte or half-written file. Temporary files are named `.NAME.partial` (hidden, and
never a name the run directory reads); a kill can leave one behind, and `remove_partials` clears them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, IO

PARTIAL = ".partial"


def partial_path(path: Path) -> Path:
    return path.with_name(f".{path.name}{PARTIAL}")


def replace_with(path: str | Path, write: Callable[[IO[bytes]], None]) -> None:
    """Call `write(file)` on a temporary file, sync it to disk, then rename it to `path`."""
    path = Path(path)
    temporary = partial_path(path)
    try:
        with open(temporary, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_bytes(path: str | Path, data: bytes) -> None:
    replace_with(path, lambda f: f.write(data))


def write_text(path: str | Path, text: str) -> None:
    write_bytes(path, text.encode())


def remove_partials(folder: Path) -> None:
    """Delete temporary files a killed save left in `folder`."""
    for leftover in folder.glob(f".*{PARTIAL}"):
        leftover.unlink(missing_ok=True)
