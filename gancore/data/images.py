"""28x28 grey image data sets: the embedded digits, full MNIST and Fashion-MNIST, and their download.

The whole training set is held on the training device as float32 in [-1, 1] (the range of a tanh
generator), so drawing a batch is a single index operation and never a data loader round trip.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import torch

from . import DataError
from .idx import read_idx

DIGITS_DIR = Path(__file__).resolve().parent / "digits"
FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
DIGIT_NAMES = [str(i) for i in range(10)]
FASHION_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                 "Ankle boot"]
# The mirrors and MD5 checksums torchvision uses (torchvision/datasets/mnist.py) for the .gz files.
SOURCES: dict[str, tuple[str, dict[str, str]]] = {
    "mnist": ("https://ossci-datasets.s3.amazonaws.com/mnist/", {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"}),
    "fashion": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"}),
}


def to_unit_range(pixels: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 0..255 -> float32 in [-1, 1] (0 -> -1, 255 -> 1), with a channel axis: (n, 1, 28, 28)."""
    x = torch.as_tensor(np.asarray(pixels)).to(torch.float32)
    return (x / 127.5 - 1.0).reshape(-1, 1, *x.shape[-2:])


class ImageData:
    """A labelled image data set: the training split lives on `device`, the test split is for evaluation."""

    shape: tuple[int, ...] = (1, 28, 28)
    centres = None
    stds = None

    def __init__(self, name: str, train_images: np.ndarray, train_labels: np.ndarray, test_images: np.ndarray,
                 test_labels: np.ndarray, class_names: list[str], device: torch.device | str = "cpu") -> None:
        self.name = name
        self.class_names = list(class_names)
        self.n_classes = len(self.class_names)
        self.shape = (1, *train_images.shape[-2:])
        self.device = torch.device(device)
        self._x = to_unit_range(train_images).to(self.device)
        self._y = torch.as_tensor(np.asarray(train_labels, dtype=np.int64)).to(self.device)
        self._test_x = torch.as_tensor(np.asarray(test_images))  # uint8 on the CPU until asked for
        self._test_y = torch.as_tensor(np.asarray(test_labels, dtype=np.int64))

    def __len__(self) -> int:
        return len(self._y)

    def to(self, device: torch.device | str) -> "ImageData":
        self.device = torch.device(device)
        self._x, self._y = self._x.to(self.device), self._y.to(self.device)
        return self

    def sample(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """n random training images (n, 1, 28, 28) in [-1, 1] and their int64 labels, drawn with replacement."""
        idx = torch.randint(len(self._y), (n,), generator=generator, device=self.device)
        return self._x[idx], self._y[idx]

    def train_split(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The whole training split on the device (images in [-1, 1], labels): what the classifier learns."""
        return self._x, self._y

    def test_split(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The held-out images in [-1, 1] and labels on the device: real data never seen in training."""
        return to_unit_range(self._test_x).to(self.device), self._test_y.to(self.device)

    def bounds(self) -> None:
        return None


def default_cache_dir(name: str) -> Path:
    """Where the files (and classifier weights) of `name` live: $GANCORE_CACHE/<name> or ~/.cache/gancore/<name>."""
    root = os.environ.get("GANCORE_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "gancore") / name


def _find(folder: Path, stem: str, name: str) -> Path:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    raise DataError(f"{stem}.gz (or {stem}) not found in {folder}: run `python -m gancore download {name}` "
                    f"or point --data-dir at a folder holding the 4 {name} IDX files")


def load_image_dataset(name: str, data_dir: str | Path | None = None) -> ImageData:
    """"digits" (shipped with the package), "mnist" or "fashion" (4 IDX files in data_dir or the cache)."""
    if name == "digits":
        folder, class_names = DIGITS_DIR, DIGIT_NAMES
    elif name in ("mnist", "fashion"):
        folder = Path(data_dir).expanduser() if data_dir is not None else default_cache_dir(name)
        class_names = DIGIT_NAMES if name == "mnist" else FASHION_NAMES
        if not folder.is_dir():
            raise DataError(f"{name} data folder {folder} not found: run `python -m gancore download {name}` "
                            f"or point --data-dir at a folder holding the 4 {name} IDX files")
    else:
        raise DataError(f"unknown image data set {name!r}: choose digits, mnist or fashion")
    paths = [_find(folder, stem, name) for stem in FILES]
    arrays = [read_idx(p) for p in paths]
    for images, labels, pi, pl in ((*arrays[:2], *paths[:2]), (*arrays[2:], *paths[2:])):
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise DataError(f"{pi.name} holds images of shape {images.shape[1:]}, expected (28, 28)")
        if labels.ndim != 1 or len(labels) != len(images):
            raise DataError(f"{pl.name} holds {labels.shape} labels for {len(images)} images in {pi.name}")
        if labels.size and labels.max() >= len(class_names):
            raise DataError(f"{pl.name} holds label {labels.max()}, expected 0..{len(class_names) - 1}")
    if len(arrays[0]) == 0:
        raise DataError(f"{paths[0].name} holds no images")
    return ImageData(name, *arrays, class_names=class_names)


# --- download --------------------------------------------------------------------------------------------


def md5sum(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(url: str, path: Path, progress: bool = True) -> None:
    """Copy `url` to `path` (via a .part file, so an interrupted download never looks complete)."""
    from tqdm import tqdm

    part = path.with_name(path.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(part, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=path.name, disable=not progress) as bar:
                for block in iter(lambda: response.read(1 << 16), b""):
                    out.write(block)
                    bar.update(len(block))
    except (urllib.error.URLError, OSError) as exc:
        part.unlink(missing_ok=True)
        raise DataError(f"{path.name} could not be downloaded from {url}: {getattr(exc, 'reason', exc)}") from exc
    part.replace(path)


def fetch_verified(url: str, path: Path, md5: str, progress: bool = True) -> bool:
    """Make `path` a verified copy of `url`: True if it was fetched, False if a good copy was already there.

    A file whose MD5 does not match after the download is deleted and reported, so a retry starts clean.
    """
    if path.is_file() and md5sum(path) == md5:
        return False
    fetch(url, path, progress)
    found = md5sum(path)
    if found != md5:
        path.unlink(missing_ok=True)
        raise DataError(f"{path.name} failed its checksum (MD5 {found}, expected {md5}); deleted it, "
                        "download again")
    return True


def download(name: str, dest: str | Path | None = None, progress: bool = True,
             base_url: str | None = None) -> Path:
    """Fetch the 4 IDX files of "mnist" or "fashion" into `dest` (default: the cache), verified by MD5.

    Files already present with the right checksum are kept; `base_url` replaces the mirror (e.g. file://).
    """
    if name not in SOURCES:
        raise DataError(f"cannot download {name!r}: choose one of {', '.join(SOURCES)}"
                        + (" (digits ship with the package)" if name == "digits" else ""))
    mirror, checksums = SOURCES[name]
    folder = Path(dest).expanduser() if dest is not None else default_cache_dir(name)
    folder.mkdir(parents=True, exist_ok=True)
    base = base_url or mirror
    for filename, md5 in checksums.items():
        fetch_verified(base.rstrip("/") + "/" + filename, folder / filename, md5, progress)
    return folder
