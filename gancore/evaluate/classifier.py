"""A small CNN that tells which class a 28x28 image shows: the judge of image GANs.

It labels every generated image (class histograms, how many of the 10 modes a GAN covers, the label
accuracy of a conditional GAN) and its penultimate layer is the feature space of a Frechet distance.
It is small on purpose (about 65k parameters, ~260 KB) so that judging thousands of samples on a CPU
takes milliseconds and the digits weights can ship with the package.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
FEATURES = 64
_LOADED: dict[tuple[str, str, str], "DigitClassifier"] = {}


class DigitClassifier(nn.Module):
    """conv 5x5/2 (16) -> conv 5x5/2 (32) -> fc 64 (the features) -> fc n_classes; ~65k parameters.

    Strided convolutions instead of max pooling: CPU max pooling dominated the run time, and this
    labels 2,500 images in about 20 ms on 2 cores at the same held-out accuracy.
    """

    CHUNK = 256  # images per pass: keeps activations in cache, 3-10x faster on a CPU than one big batch

    def __init__(self, n_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 5, stride=2, padding=2)  # 28 -> 14
        self.conv2 = nn.Conv2d(16, 32, 5, stride=2)  # 14 -> 5
        self.fc = nn.Linear(32 * 5 * 5, FEATURES)
        self.head = nn.Linear(FEATURES, n_classes)

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv2(F.relu(self.conv1(x))))
        return F.relu(self.fc(x.flatten(1)))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(n, 64) penultimate activations of images in [-1, 1], shaped (n, 1, 28, 28) or (n, 784)."""
        x = x.reshape(-1, 1, 28, 28)
        if len(x) <= self.CHUNK:
            return self._features(x)
        return torch.cat([self._features(x[i:i + self.CHUNK]) for i in range(0, len(x), self.CHUNK)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits (n, n_classes)."""
        return self.head(self.features(x))

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """The most likely class of each image (int64)."""
        return self(x).argmax(1)


def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Small random shifts (up to 2 px), rotations (up to 10 deg) and scalings (+-10%) with black fill.

    Only 4,000 training digits ship, and generated digits are rarely centred like MNIST: jitter makes the
    classifier judge shapes, not positions.
    """
    n = len(x)
    u = torch.rand((n, 4), generator=generator, device=x.device) * 2 - 1
    angle, scale = u[:, 0] * math.radians(10), 1 + 0.1 * u[:, 1]
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    shift = u[:, 2:] * (2 * 2 / 28)  # 2 px in grid units ([-1, 1] spans 28 px)
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x + 1, grid, padding_mode="zeros", align_corners=False) - 1  # fill = -1 (black)


@torch.no_grad()
def accuracy(model: DigitClassifier, x: torch.Tensor, labels: torch.Tensor) -> float:
    was_training = model.training
    model.eval()
    acc = float((model.predict(x) == labels).float().mean()) if len(labels) else float("nan")
    model.train(was_training)
    return acc


def train_classifier(dataset: Any, epochs: int | None = None, seed: int = 0, progress: bool = True,
                     batch_size: int = 64, lr: float = 2e-3) -> tuple[DigitClassifier, float]:
    """Train on `dataset.train_split()` (with augmentation), return the model and its `test_split()` accuracy.

    `epochs` None: enough epochs for ~2,000 steps (30 on the 4,000 digits, 3 on full MNIST).
    Adam with a cosine-decayed learning rate: reliable on every data set without tuning.
    """
    from tqdm import tqdm

    x, y = dataset.train_split()
    device = x.device
    n = len(y)
    if epochs is None:
        epochs = max(3, min(30, math.ceil(2000 * batch_size / n)))
    torch.manual_seed(seed)  # the initial weights
    gen = torch.Generator(device=device).manual_seed(seed)
    model = DigitClassifier(dataset.n_classes).to(device)
    steps_per_epoch = math.ceil(n / batch_size)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch,
                                                pct_start=0.1)
    model.train()
    with tqdm(total=epochs * steps_per_epoch, desc=f"training the {dataset.name} classifier",
              disable=not progress) as bar:
        for _ in range(epochs):
            order = torch.randperm(n, generator=gen, device=device)
            for i in range(0, n, batch_size):
                idx = order[i:i + batch_size]
                loss = F.cross_entropy(model(augment(x[idx], gen)), y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}")
    model.eval()
    test_x, test_y = dataset.test_split()
    return model, accuracy(model, test_x, test_y)


def _frozen(model: DigitClassifier, device: torch.device | str) -> DigitClassifier:
    model = model.to(device).eval()
    model.requires_grad_(False)
    return model


def load_classifier(name: str, data_dir: str | Path | None = None, device: torch.device | str = "cpu",
                    progress: bool = True) -> DigitClassifier:
    """The classifier for data set `name` in eval mode without gradients, cached in-process.

    "digits": the weights shipped in gancore/evaluate/weights. "mnist"/"fashion": trained on first use and
    saved as classifier.pt next to the data (data_dir, or the cache folder), then reused.
    """
    from ..data import DataError
    from ..data.images import default_cache_dir, load_image_dataset

    folder = Path(data_dir).expanduser() if data_dir is not None else default_cache_dir(name)
    key = (name, str(folder.resolve()) if name != "digits" else "", str(torch.device(device)))
    if key in _LOADED:
        return _LOADED[key]
    if name == "digits":
        path = WEIGHTS_DIR / "digits_classifier.pt"
        model = DigitClassifier()
        try:
            model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        except (OSError, RuntimeError) as exc:
            raise DataError(f"{path.name} (the shipped digits classifier) cannot be loaded: {exc}") from exc
    elif name in ("mnist", "fashion"):
        path = folder / "classifier.pt"
        model = _load_cached(path)
        if model is None:
            model, acc = train_classifier(load_image_dataset(name, data_dir), progress=progress)
            if progress:
                print(f"{name} classifier: held-out accuracy {acc:.4f}; saved to {path}")
            try:
                torch.save(model.state_dict(), path)
            except OSError as exc:
                warnings.warn(f"could not cache the {name} classifier at {path}: {exc}", stacklevel=2)
    else:
        raise DataError(f"no classifier for data set {name!r}: only digits, mnist and fashion have one")
    _LOADED[key] = _frozen(model, device)
    return _LOADED[key]


def _load_cached(path: Path) -> DigitClassifier | None:
    """Weights saved by an earlier run, or None when absent or unreadable (then we retrain)."""
    if not path.is_file():
        return None
    model = DigitClassifier()
    try:
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    except Exception as exc:  # a stale or corrupt cache must never block a run: retrain instead
        warnings.warn(f"ignoring unreadable {path}: {exc}", stacklevel=3)
        return None
    return model


def clear_cache() -> None:
    """Forget the in-process classifiers (tests; or after replacing a cached weights file)."""
    _LOADED.clear()
