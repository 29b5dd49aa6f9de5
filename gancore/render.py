"""Pictures of samples as plain pixel arrays (and PNG files), with no plotting library.

The command line saves one at the end of a run and the dashboard offers the same picture for download, so
both draw it here: an image grid for 28x28 data, real (grey) and fake (red) points for 2-D data, and two
histograms for 1-D data.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from .records import Frame, ImageFrame

REAL = np.array([150, 150, 150], np.uint8)
FAKE = np.array([214, 39, 40], np.uint8)


def image_grid(images: np.ndarray, rows: int | None = None) -> np.ndarray:
    """(n, 1, 28, 28) in [-1, 1] -> one uint8 picture, `rows` rows (conditional grids: a row per class)."""
    n = len(images)
    rows = rows or int(np.ceil(np.sqrt(n)))
    cols = int(np.ceil(n / rows))
    h, w = images.shape[-2:]
    canvas = np.full((rows * (h + 2) + 2, cols * (w + 2) + 2), 255, np.uint8)
    pixels = np.clip((images.reshape(n, h, w) + 1) * 127.5, 0, 255).astype(np.uint8)
    for i, img in enumerate(pixels):
        r, c = divmod(i, cols)
        canvas[2 + r * (h + 2): 2 + r * (h + 2) + h, 2 + c * (w + 2): 2 + c * (w + 2) + w] = img
    return canvas


def scatter(real: np.ndarray, fake: np.ndarray, bounds: np.ndarray, size: int = 480) -> np.ndarray:
    """2-D real and fake points, 3x3-pixel dots on white, inside `bounds` (2, 2) = [[x0, x1], [y0, y1]]."""
    canvas = np.full((size, size, 3), 255, np.uint8)
    for points, colour in ((real, REAL), (fake, FAKE)):
        xy = (points - bounds[:, 0]) / (bounds[:, 1] - bounds[:, 0]) * (size - 1)
        px = np.clip(np.round(xy).astype(int), 1, size - 2)
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                canvas[size - 1 - (px[:, 1] + dy), px[:, 0] + dx] = colour
    return canvas


def histograms(real: np.ndarray, fake: np.ndarray, bounds: np.ndarray, width: int = 480, height: int = 240,
               bins: int = 80) -> np.ndarray:
    """1-D real and fake samples as two overlaid histograms (grey, red outline bars)."""
    canvas = np.full((height, width, 3), 255, np.uint8)
    edges = np.linspace(bounds[0, 0], bounds[0, 1], bins + 1)
    counts = [np.histogram(x.ravel(), edges)[0] for x in (real, fake)]
    top = max(c.max() for c in counts) or 1
    bar = width // bins
    for count, colour, fill in ((counts[0], REAL, True), (counts[1], FAKE, False)):
        for i, c in enumerate(count):
            h = int(c / top * (height - 4))
            x0, x1 = i * bar, (i + 1) * bar - 1
            if fill:
                canvas[height - h:, x0:x1] = colour
            elif h:
                canvas[height - h, x0:x1] = colour
                canvas[height - h:, x0] = colour
                canvas[height - h:, x1 - 1] = colour
    return canvas


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def sample_picture(real: np.ndarray, fake: np.ndarray, bounds: np.ndarray | None, rows: int | None = None
                   ) -> np.ndarray:
    """The picture that suits the data: image grid of the fakes, 2-D scatter, or 1-D histograms."""
    if fake.ndim == 4:
        return image_grid(fake, rows)
    if fake.shape[1] == 2:
        return scatter(real, fake, bounds)
    return histograms(real, fake, bounds)


def frame_picture(frame: Frame) -> np.ndarray:
    """The picture of an evaluator frame (gancore.records): what the command line saves and the dashboard
    offers for download."""
    if isinstance(frame, ImageFrame):
        images = np.asarray(frame.images, np.float32)[:, None] / 127.5 - 1.0
        return image_grid(images, frame.rows)
    return sample_picture(np.asarray(frame.real), np.asarray(frame.fake), np.asarray(frame.bounds))
