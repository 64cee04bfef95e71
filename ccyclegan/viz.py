"""Sample grids and plots. Matplotlib renders off-screen (Agg); every function returns or writes a PNG."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def to_display(image: np.ndarray) -> np.ndarray:
    """An image in [-1, 1] (float) or 0..255 (uint8), (H, W) or (H, W, C) -> (H, W) or (H, W, 3) float in [0, 1]."""
    image = np.asarray(image)
    image = image.astype(np.float32) / 255.0 if image.dtype == np.uint8 else 0.5 * image.astype(np.float32) + 0.5
    image = np.clip(image, 0.0, 1.0)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    return image


def figure_to_array(figure) -> np.ndarray:
    """Render a matplotlib figure to a uint8 (H, W, 3) array and close it."""
    figure.canvas.draw()
    array = np.asarray(figure.canvas.buffer_rgba())[..., :3].copy()
    plt.close(figure)
    return array


def image_grid(images: Sequence[np.ndarray], titles: Sequence[str] | None = None, rows: int = 1,
               cols: int | None = None, panel_inches: float = 1.6, autoscale: bool = False) -> np.ndarray:
    """A titled grid of images (row-major) as a uint8 RGB array.

    Panels share the [-1, 1] display range by default; `autoscale=True` stretches each panel's contrast as the
    originals' `imshow` did (which hides how dark or washed-out a generated face really is).
    """
    cols = cols or int(np.ceil(len(images) / rows))
    if rows * cols < len(images):
        raise ValueError(f"{len(images)} images do not fit a {rows}x{cols} grid")
    figure, axes = plt.subplots(rows, cols, figsize=(panel_inches * cols, panel_inches * rows + 0.3 * rows),
                                squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index >= len(images):
            continue
        shown = to_display(images[index])
        limits = {} if autoscale else {"vmin": 0.0, "vmax": 1.0}
        axis.imshow(shown, cmap="gray" if shown.ndim == 2 else None, **limits)
        if titles is not None:
            axis.set_title(titles[index], fontsize=8)
    figure.subplots_adjust(hspace=0.25, wspace=0.05, left=0.02, right=0.98, top=0.9, bottom=0.02)
    return figure_to_array(figure)


def mask_panel(mask: np.ndarray) -> np.ndarray:
    """An attention mask in [0, 1] as a panel in the images' [-1, 1] range: white where the input pixel was kept."""
    return np.asarray(mask, np.float32) * 2.0 - 1.0


def save_png(array: np.ndarray, path: str | os.PathLike) -> Path:
    """Write a uint8 (H, W[, 3]) array as a PNG, creating the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    plt.imsave(path, array, cmap="gray" if array.ndim == 2 else None)
    return path


def plot_curves(columns: dict[str, Sequence[float]], x: Sequence[float], xlabel: str, path: str | os.PathLike,
                title: str = "") -> Path:
    """One line per named series against `x` (e.g. training losses against the step), saved as a PNG."""
    figure, axis = plt.subplots(figsize=(7, 4))
    for name, values in columns.items():
        axis.plot(x, values, label=name, linewidth=1)
    axis.set_xlabel(xlabel)
    axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    return save_png(figure_to_array(figure), path)
