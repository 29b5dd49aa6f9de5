"""The IDX format of MNIST and Fashion-MNIST: a 4-byte magic, one big-endian uint32 per dim, raw uint8 data.

Only unsigned bytes (type code 0x08) are read: that is what every MNIST-style image and label file holds.
Files may be raw or gzipped; gzip is recognised by its magic bytes, so a renamed file still loads. Every
failure is a `DataError` whose one-line message names the file and says what is wrong with it, because a
half-downloaded file is the usual cause and the user has to know which one to fetch again.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from . import DataError

GZIP_MAGIC = b"\x1f\x8b"
UBYTE = 0x08


def _payload_kind(dims: tuple[int, ...]) -> str:
    return "labels" if len(dims) == 1 else "pixels" if len(dims) >= 3 else "data"


def read_idx(path: str | Path) -> np.ndarray:
    """The uint8 array stored in an IDX file (raw or gzip); raises DataError naming the file on any defect."""
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise DataError(f"{name} not found: no such file {path}")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{name} cannot be read: {exc.strerror or exc}") from exc
    if raw[:2] == GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except EOFError as exc:
            raise DataError(f"{name} is a truncated gzip file (download it again): {exc}") from exc
        except (OSError, zlib.error) as exc:
            raise DataError(f"{name} is a corrupt gzip file (download it again): {exc}") from exc
    if len(raw) < 4:
        raise DataError(f"{name} is not an IDX file: header too short ({len(raw)} bytes, need at least 4)")
    zero, code, ndim = int.from_bytes(raw[:2], "big"), raw[2], raw[3]
    if zero != 0 or ndim == 0:
        raise DataError(f"{name} is not an IDX file: bad magic number 0x{raw[:4].hex()} "
                        "(expected 0x0000 + type code + number of dims)")
    if code != UBYTE:
        raise DataError(f"{name} holds IDX type code 0x{code:02x}: only 0x08 (unsigned bytes) is supported")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{name} is truncated: header too short for {ndim} dims "
                        f"(expected {header} bytes, found {len(raw)})")
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected, found = int(np.prod(dims, dtype=np.int64)), len(raw) - header
    kind = _payload_kind(dims)
    if found < expected:
        raise DataError(f"{name} is truncated: expected {expected} bytes of {kind}, found {found}")
    if found > expected:
        raise DataError(f"{name} is corrupt: expected {expected} bytes of {kind} for shape {dims}, "
                        f"found {found} ({found - expected} extra)")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims).copy()


def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Write a uint8 array as IDX; gzip (mtime 0, so the bytes are reproducible) when the name ends in .gz."""
    path = Path(path)
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise ValueError(f"write_idx stores uint8 only, got {array.dtype}")
    if array.ndim == 0 or array.ndim > 255:
        raise ValueError(f"write_idx needs 1 to 255 dims, got {array.ndim}")
    header = bytes([0, 0, UBYTE, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    data = header + np.ascontiguousarray(array).tobytes()
    if path.name.endswith(".gz"):
        data = gzip.compress(data, compresslevel=9, mtime=0)
    path.write_bytes(data)
    return path
