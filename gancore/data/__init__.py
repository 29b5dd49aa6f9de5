"""Data sets: what each one is (the spec table the config validates against) and how to build it.

A data set object offers `name`, `shape` (one sample), `n_classes` (0: unlabelled), `class_names`,
`centres`/`stds` (mixtures only, else None), `sample(n, generator) -> (x, labels or None)` on its
device, `to(device)` and `bounds()` (toy data: the box every picture covers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import toy


class DataError(ValueError):
    """A data set cannot be built: a missing, truncated or corrupt file (the message names it)."""


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    kind: str  # "1d", "2d" or "image"
    help: str
    modes: int | None = None  # default of each settable parameter; None: the data set has no such parameter
    radius: float | None = None
    std: float | None = None
    labelled: bool = True
    folder: bool = False  # read from a folder of the user's files (a server-side setting, never a link's)

    @property
    def is_image(self) -> bool:
        return self.kind == "image"

    @property
    def unit(self) -> str:
        """What one mode of this data is called on a chart: a class of images, a mode of a mixture."""
        return "class" if self.is_image else "mode"


DATASETS: dict[str, DatasetSpec] = {s.name: s for s in [
    DatasetSpec("ring", "2d", "K Gaussians on a circle (modes = K, radius, std)", 8, 2.0, 0.02),
    DatasetSpec("grid", "2d", "side x side Gaussians on a grid (modes = side, radius = spacing)", 5, 2.0, 0.05),
    DatasetSpec("swissroll", "2d", "a continuous spiral (radius = outer radius, std = noise); no modes",
                None, 2.0, 0.035, labelled=False),
    DatasetSpec("blob", "2d", "one Gaussian at (radius, radius), far from G's start", None, 4.0, 0.3),
    DatasetSpec("gauss1d", "1d", "1-D mixture: modes spread over [-radius, radius]", 2, 2.0, 0.4),
    DatasetSpec("digits", "image", "5,000 real MNIST digits shipped with the package (offline)"),
    DatasetSpec("mnist", "image", "full MNIST from IDX files in --data-dir (see `gancore download`)",
                folder=True),
    DatasetSpec("fashion", "image", "Fashion-MNIST from IDX files in --data-dir (see `gancore download`)",
                folder=True),
]}


def resolved(spec: DatasetSpec, modes: int | None, radius: float | None, std: float | None
             ) -> tuple[int | None, float | None, float | None]:
    """The data parameters a run uses: the given ones, or the data set's defaults."""
    return (modes if modes is not None else spec.modes,
            radius if radius is not None else spec.radius,
            std if std is not None else spec.std)


def make_dataset(name: str, modes: int | None = None, radius: float | None = None, std: float | None = None,
                 data_dir: str | None = None) -> Any:
    """Build a data set on the CPU (call `.to(device)` after); raises DataError for unreadable files."""
    spec = DATASETS[name]
    modes, radius, std = resolved(spec, modes, radius, std)
    if name == "ring":
        return toy.ring(modes, radius, std)
    if name == "grid":
        return toy.grid(modes, radius, std)
    if name == "swissroll":
        return toy.SwissRoll(radius, std)
    if name == "blob":
        return toy.blob(radius, std)
    if name == "gauss1d":
        return toy.gauss1d(modes, radius, std)
    from .images import load_image_dataset  # imported lazily: toy runs never touch the files
    return load_image_dataset(name, data_dir)
