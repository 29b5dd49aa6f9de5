"""Image data sets: IDX folders, the embedded digits, sampling, and the verified download."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from gancore.data import DataError, make_dataset
from gancore.data import images as im
from gancore.data.idx import write_idx
from gancore.data.images import ImageData, default_cache_dir, download, fetch_verified, load_image_dataset


def labelled_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n images whose every pixel is 25 * label, except pixel (0, 0) = 0 and (27, 27) = 255."""
    labels = np.random.default_rng(seed).integers(0, 10, n).astype(np.uint8)
    x = np.repeat((25 * labels)[:, None, None], 28, 1).repeat(28, 2).astype(np.uint8)
    x[:, 0, 0], x[:, 27, 27] = 0, 255
    return x, labels


def make_folder(folder: Path, n_train: int = 50, n_test: int = 20, gz: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    for prefix, n, seed in (("train", n_train, 0), ("t10k", n_test, 1)):
        x, y = labelled_images(n, seed)
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", x)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", y)
    return folder


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_folder_loads_with_shapes_labels_and_scale(tmp_path: Path, gz: bool) -> None:
    data = make_dataset("mnist", data_dir=str(make_folder(tmp_path / "m", gz=gz)))
    assert isinstance(data, ImageData)
    assert data.name == "mnist" and data.shape == (1, 28, 28) and len(data) == 50
    assert data.n_classes == 10 and data.class_names == [str(i) for i in range(10)]
    assert data.centres is None and data.stds is None and data.bounds() is None
    x, y = data.train_split()
    assert x.shape == (50, 1, 28, 28) and x.dtype == torch.float32 and y.dtype == torch.int64
    np.testing.assert_array_equal(y.numpy(), labelled_images(50, 0)[1])
    assert torch.all(x[:, 0, 0, 0] == -1) and torch.all(x[:, 0, 27, 27] == 1)  # 0 -> -1, 255 -> 1
    torch.testing.assert_close(x[:, 0, 5, 5], 25 * y.float() / 127.5 - 1)
    tx, ty = data.test_split()
    assert tx.shape == (20, 1, 28, 28) and ty.shape == (20,)
    torch.testing.assert_close(tx[:, 0, 5, 5], 25 * ty.float() / 127.5 - 1)


def test_fashion_has_its_class_names(tmp_path: Path) -> None:
    data = load_image_dataset("fashion", make_folder(tmp_path / "f"))
    assert data.class_names[0] == "T-shirt/top" and data.class_names[9] == "Ankle boot"
    assert len(data.class_names) == 10


def test_missing_folder_says_how_to_download(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="python -m gancore download mnist"):
        load_image_dataset("mnist", tmp_path / "nowhere")


def test_missing_file_is_named(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "m")
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz .*python -m gancore download fashion"):
        load_image_dataset("fashion", folder)


def test_truncated_file_in_folder_is_named(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "m", gz=False)
    path = folder / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte is truncated"):
        load_image_dataset("mnist", folder)


def test_label_count_mismatch_is_named(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "m")
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(49, dtype=np.uint8))
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz"):
        load_image_dataset("mnist", folder)


def test_default_folder_is_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GANCORE_CACHE", str(tmp_path))
    assert default_cache_dir("mnist") == tmp_path / "mnist"
    make_folder(tmp_path / "mnist")
    assert len(load_image_dataset("mnist")) == 50
    monkeypatch.delenv("GANCORE_CACHE")
    assert default_cache_dir("fashion") == Path.home() / ".cache" / "gancore" / "fashion"


def test_embedded_digits_split_and_range() -> None:
    data = make_dataset("digits")
    x, y = data.train_split()
    tx, ty = data.test_split()
    assert x.shape == (4000, 1, 28, 28) and tx.shape == (1000, 1, 28, 28)
    assert torch.bincount(y, minlength=10).tolist() == [400] * 10
    assert torch.bincount(ty, minlength=10).tolist() == [100] * 10
    assert float(x.min()) == -1.0 and float(x.max()) == 1.0 and float(tx.min()) == -1.0
    assert -0.9 < float(x.mean()) < -0.6  # mostly black background, as MNIST
    train_rows = {bytes(r) for r in ((x.reshape(4000, -1) + 1) * 127.5).round().to(torch.uint8).numpy()}
    test_rows = {bytes(r) for r in ((tx.reshape(1000, -1) + 1) * 127.5).round().to(torch.uint8).numpy()}
    assert len(train_rows) == 4000 and not train_rows & test_rows  # held out means unseen


def test_embedded_files_are_the_documented_ones() -> None:
    names = sorted(p.name for p in im.DIGITS_DIR.iterdir())
    assert names == sorted(["ATTRIBUTION.md", *(f"{f}.gz" for f in im.FILES)])
    assert sum(p.stat().st_size for p in im.DIGITS_DIR.iterdir()) < 1_300_000


def test_sampling_is_reproducible_and_labels_match(tmp_path: Path) -> None:
    data = load_image_dataset("mnist", make_folder(tmp_path / "m"))
    x1, y1 = data.sample(64, torch.Generator().manual_seed(7))
    x2, y2 = data.sample(64, torch.Generator().manual_seed(7))
    x3, _ = data.sample(64, torch.Generator().manual_seed(8))
    assert x1.shape == (64, 1, 28, 28) and y1.shape == (64,)
    assert torch.equal(x1, x2) and torch.equal(y1, y2) and not torch.equal(x1, x3)
    torch.testing.assert_close(x1[:, 0, 5, 5], 25 * y1.float() / 127.5 - 1)
    assert data.to("cpu") is data and data.sample(3, torch.Generator())[0].device.type == "cpu"


def test_digits_sampling_covers_all_classes() -> None:
    data = make_dataset("digits")
    _, y = data.sample(2000, torch.Generator().manual_seed(0))
    counts = torch.bincount(y, minlength=10)
    assert counts.min() > 140 and counts.max() < 260


# --- download: file:// URLs stand in for the mirror (no network here) -----------------------------------


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_fetch_verified_downloads_then_skips_a_good_copy(tmp_path: Path) -> None:
    src = tmp_path / "mirror" / "train-labels-idx1-ubyte.gz"
    src.parent.mkdir()
    src.write_bytes(b"payload" * 1000)
    dest = tmp_path / "cache" / src.name
    dest.parent.mkdir()
    assert fetch_verified(src.as_uri(), dest, md5(src.read_bytes()), progress=False) is True
    assert dest.read_bytes() == src.read_bytes()
    src.unlink()  # a second fetch would now fail: skipping is the only way to succeed
    assert fetch_verified(src.as_uri(), dest, md5(dest.read_bytes()), progress=False) is False


def test_fetch_verified_replaces_a_bad_copy(tmp_path: Path) -> None:
    src = tmp_path / "good"
    src.write_bytes(b"good bytes")
    dest = tmp_path / "t10k-images-idx3-ubyte.gz"
    dest.write_bytes(b"half a downl")
    assert fetch_verified(src.as_uri(), dest, md5(b"good bytes"), progress=False) is True
    assert dest.read_bytes() == b"good bytes"


def test_checksum_mismatch_deletes_and_names_the_file(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name in im.SOURCES["mnist"][1]:
        (mirror / name).write_bytes(b"not mnist")
    dest = tmp_path / "cache"
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz failed its checksum"):
        download("mnist", dest, progress=False, base_url=mirror.as_uri())
    assert list(dest.iterdir()) == []  # neither the bad file nor a .part is left behind


def test_unreachable_mirror_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz could not be downloaded"):
        download("fashion", tmp_path, progress=False, base_url=(tmp_path / "missing").as_uri())
    assert list(tmp_path.iterdir()) == []


def test_download_goes_to_the_right_mirror_with_torchvision_checksums(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    fetched: list[str] = []

    def fake_fetch(url: str, path: Path, progress: bool = True) -> None:
        fetched.append(url)
        path.write_bytes(b"x")

    monkeypatch.setattr(im, "fetch", fake_fetch)
    with pytest.raises(DataError, match="expected 8d4fb7e6c68d591d4c3dfef9ec88bf0d"):
        download("fashion", tmp_path, progress=False)
    assert fetched == ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-images-idx3-ubyte.gz"]
    with pytest.raises(DataError, match="expected f68b3c2dcbeaaa9fbdd348bbdeb94873"):
        download("mnist", tmp_path, progress=False)
    assert fetched[-1] == "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz"


def test_digits_cannot_be_downloaded(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="ship with the package"):
        download("digits", tmp_path)
