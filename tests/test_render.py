"""The sample picture a user puts in a report (samples.png, the dashboard's PNG download): a title, axes
and a legend for every kind of frame, and fake points outside the view counted rather than lost."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from gancore.records import ImageFrame, LineFrame, PlaneFrame
from gancore.render import DPI, SIZE_IN, frame_figure, frame_png, image_grid


def _legend(figure) -> list[str]:
    return [t.get_text() for t in figure.axes[0].get_legend().get_texts()]


def plane(probabilities: bool = True) -> PlaneFrame:
    xs = ys = np.linspace(-2, 2, 5, dtype=np.float32)
    fake = np.array([[0, 0], [1, 1], [2.5, 0], [0, -3]], np.float32)  # two of four beyond the [-2, 2] box
    return PlaneFrame(step=7, labels=None, real=np.zeros((3, 2), np.float32), fake=fake,
                      bounds=np.array([[-2, 2], [-2, 2]], np.float32), probabilities=probabilities,
                      scores=np.zeros((5, 5), np.float32), xs=xs, ys=ys, arrows=np.zeros((4, 2), np.float32))


def test_plane_picture_has_title_axes_legend_and_counts_points_outside() -> None:
    figure = frame_figure(plane())
    axes = figure.axes[0]
    assert axes.get_title() == "Samples and D's field at step 7"
    assert (axes.get_xlabel(), axes.get_ylabel()) == ("x₁", "x₂")
    assert axes.get_xlim() == (-2.0, 2.0) and axes.get_ylim() == (-2.0, 2.0)  # the data's box, not the points'
    assert _legend(figure) == ["real data", "generated G(z) (2 of 4 outside this view)"]
    assert figure.axes[1].get_ylabel() == "D(x)"  # the colour bar names what the field is
    assert frame_figure(plane(probabilities=False)).axes[1].get_ylabel() == "critic f(x)"


def test_line_picture_has_both_densities_and_d() -> None:
    grid = np.linspace(-3, 3, 7, dtype=np.float32)
    ones = np.ones(7, np.float32)
    common = dict(step=3, labels=None, real=np.zeros((4, 1)), fake=np.zeros((4, 1)), bounds=np.array([[-3, 3]]),
                  scores=ones, grid=grid, p_data=ones, p_g=ones, d_optimal=ones / 2)
    figure = frame_figure(LineFrame(**common, probabilities=True, d_prob=ones / 2))
    assert figure.axes[0].get_title() == "Densities and D at step 3"
    assert _legend(figure) == ["p_data (real)", "p_g (generated)", "D(x)", "optimal D for this G"]
    assert figure.axes[0].get_xlim() == (-3.0, 3.0) and figure.axes[1].get_ylabel() == "D(x)"
    critic = frame_figure(LineFrame(**common, probabilities=False, d_prob=None))
    assert _legend(critic) == ["p_data (real)", "p_g (generated)", "critic f(x)"]


def test_conditional_image_grid_labels_a_row_per_class() -> None:
    images = np.zeros((20, 28, 28), np.uint8)
    images[10:] = 255  # the second row (class 1) white
    grid = image_grid(images, rows=2)
    assert grid.shape == (2 * 30 + 2, 10 * 30 + 2)
    assert grid[2:30, 2:30].max() == 0 and grid[32:60, 2:30].min() == 255
    axes = frame_figure(ImageFrame(step=9, labels=None, images=images, rows=2)).axes[0]
    assert axes.get_title() == "Generated samples at step 9"
    assert [t.get_text() for t in axes.get_yticklabels()] == ["0", "1"] and "class" in axes.get_ylabel()


def test_png_is_the_figure_at_print_size() -> None:
    picture = Image.open(io.BytesIO(frame_png(plane())))
    assert picture.format == "PNG" and picture.size == (int(SIZE_IN[0] * DPI), int(SIZE_IN[1] * DPI))
