"""IDX reading and writing: round trips, and every defect reported as a DataError that names the file."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from gancore.data import DataError
from gancore.data.idx import read_idx, write_idx

from properties import examples


def images(n: int = 3) -> np.ndarray:
    return (np.arange(n * 28 * 28) % 256).astype(np.uint8).reshape(n, 28, 28)


@pytest.mark.parametrize("name", ["train-images-idx3-ubyte", "train-images-idx3-ubyte.gz"])
def test_round_trip_images_and_labels(tmp_path: Path, name: str) -> None:
    x, y = images(), np.array([3, 1, 4], dtype=np.uint8)
    got_x = read_idx(write_idx(tmp_path / name, x))
    got_y = read_idx(write_idx(tmp_path / name.replace("images-idx3", "labels-idx1"), y))
    assert got_x.dtype == np.uint8 and got_x.shape == (3, 28, 28)
    np.testing.assert_array_equal(got_x, x)
    np.testing.assert_array_equal(got_y, y)


def test_gz_is_written_only_for_gz_names_and_is_reproducible(tmp_path: Path) -> None:
    raw = write_idx(tmp_path / "a-idx3-ubyte", images()).read_bytes()
    gz1 = write_idx(tmp_path / "a-idx3-ubyte.gz", images()).read_bytes()
    gz2 = write_idx(tmp_path / "b-idx3-ubyte.gz", images()).read_bytes()
    assert raw[:4] == b"\x00\x00\x08\x03" and len(raw) == 4 + 3 * 4 + 3 * 784
    assert gz1[:2] == b"\x1f\x8b" and gzip.decompress(gz1) == raw
    assert gz1 == gz2  # mtime 0 and no file name in the header: same bytes whatever the name or time


def test_gzip_is_detected_by_magic_not_suffix(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "x.gz", images())
    renamed = path.rename(tmp_path / "t10k-images-idx3-ubyte")
    np.testing.assert_array_equal(read_idx(renamed), images())


@settings(max_examples=examples(40), deadline=None)
@given(arrays(np.uint8, array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=6)), st.booleans())
def test_round_trip_any_uint8_array(tmp_path_factory: pytest.TempPathFactory, array: np.ndarray,
                                    gz: bool) -> None:
    path = tmp_path_factory.mktemp("idx") / ("a.gz" if gz else "a")
    got = read_idx(write_idx(path, array))
    assert got.shape == array.shape
    np.testing.assert_array_equal(got, array)


def test_write_rejects_non_uint8(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="uint8"):
        write_idx(tmp_path / "a", np.zeros(3, dtype=np.float32))


def error(path: Path) -> str:
    with pytest.raises(DataError) as info:
        read_idx(path)
    message = str(info.value)
    assert path.name in message and "\n" not in message
    return message


def test_missing_file(tmp_path: Path) -> None:
    assert "not found" in error(tmp_path / "train-labels-idx1-ubyte.gz")


@pytest.mark.parametrize("header", [b"\x12\x34\x08\x01", b"\x00\x00\x08\x00", b"PK\x03\x04"])
def test_wrong_magic(tmp_path: Path, header: bytes) -> None:
    path = tmp_path / "t10k-labels-idx1-ubyte"
    path.write_bytes(header + b"\x00" * 12)
    assert "magic" in error(path)


def test_unsupported_type_code(tmp_path: Path) -> None:
    path = tmp_path / "qmnist-labels-idx2-int"
    path.write_bytes(b"\x00\x00\x0c\x01" + (2).to_bytes(4, "big") + b"\x00" * 8)
    assert "0x0c" in error(path)


@pytest.mark.parametrize("content", [b"", b"\x00\x00", b"\x00\x00\x08\x03" + b"\x00\x00\x00\x05\x00\x00"])
def test_header_too_short(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(content)
    assert "header too short" in error(path)


def test_truncated_payload_says_how_much_is_missing(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "train-images-idx3-ubyte", images(3))
    path.write_bytes(path.read_bytes()[:-100])
    message = error(path)
    assert "truncated" in message and f"expected {3 * 784} bytes of pixels, found {3 * 784 - 100}" in message


def test_truncated_payload_inside_a_valid_gz(tmp_path: Path) -> None:
    raw = write_idx(tmp_path / "raw", np.arange(10, dtype=np.uint8)).read_bytes()
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(raw[:-4]))
    assert "expected 10 bytes of labels, found 6" in error(path)


def test_extra_bytes(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.arange(10, dtype=np.uint8))
    path.write_bytes(path.read_bytes() + b"\x00\x00")
    assert "2 extra" in error(path)


def test_truncated_gz(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "train-images-idx3-ubyte.gz", images(20))
    path.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 2])
    assert "truncated gzip" in error(path)


def test_corrupt_gz(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "train-images-idx3-ubyte.gz", images(20))
    data = bytearray(path.read_bytes())
    data[-8] ^= 0xFF  # the CRC32 of the payload
    path.write_bytes(bytes(data))
    assert "corrupt gzip" in error(path)


def test_garbage_after_gzip_magic(tmp_path: Path) -> None:
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00" + b"\xff" * 40)
    assert "gzip" in error(path)
