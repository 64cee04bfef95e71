"""Sample grids, GIFs and plots. Matplotlib renders off-screen (Agg); every function returns an RGB array or writes a
file (PNG, GIF)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ccyclegan.atomic import atomic_output
from ccyclegan.labels import FER_CLASSES  # noqa: E402

# Heights (inches) of the bands that hold the figure title, the column titles and each row's panel titles.
_TITLE_INCHES, _COLUMN_TITLE_INCHES, _PANEL_TITLE_INCHES = 0.35, 0.25, 0.22
_MARGIN_INCHES, _GAP_INCHES, _ROW_TITLE_PAD_INCHES = 0.05, 0.08, 0.1


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


def _checked_image(image, where: str) -> np.ndarray:
    """`image` as an array `to_display` can show, or a ValueError naming `where` it came from and what was wrong."""
    array = np.asarray(image)
    if array.dtype != np.uint8 and not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"{where}: expected a float image in [-1, 1] or a uint8 image, got dtype {array.dtype}")
    gray_or_rgb = array.ndim == 2 or (array.ndim == 3 and array.shape[-1] in (1, 3))
    if not gray_or_rgb or 0 in array.shape:
        raise ValueError(f"{where}: expected an image of shape (H, W), (H, W, 1) or (H, W, 3), got {array.shape}")
    return array


def _checked_titles(titles, count: int, name: str, per: str) -> list[str | None] | None:
    """A list of `count` titles (None or "" for no title), or a ValueError that says which list was wrong and how."""
    if titles is None:
        return None
    if isinstance(titles, str):
        raise ValueError(f"{name} must be a sequence of strings, one per {per}, not the single string {titles!r}")
    titles = list(titles)
    if len(titles) != count:
        raise ValueError(f"{name} has {len(titles)} titles, expected {count} (one per {per})")
    for index, title in enumerate(titles):
        if title is not None and not isinstance(title, str):
            raise ValueError(f"{name}[{index}] must be a string or None, got {type(title).__name__}")
    return titles


def _checked_rows(rows) -> list[list[np.ndarray | None]]:
    """The panels as a list of lists, each panel checked; a flat list of images is refused rather than guessed at."""
    if isinstance(rows, np.ndarray) and rows.ndim < 4:
        raise ValueError(f"rows: expected rows of panels, e.g. [[image, image], [image, None]] or a (rows, columns, H, "
                         f"W[, C]) array, got one array of shape {rows.shape}")
    checked = []
    for r, row in enumerate(rows):
        if row is None or isinstance(row, str) or (isinstance(row, np.ndarray) and row.ndim < 3):
            raise ValueError(f"rows[{r}]: expected a sequence of panels (images or None), got "
                             f"{'an array of shape ' + str(row.shape) if isinstance(row, np.ndarray) else repr(row)}")
        if isinstance(row, np.ndarray) and row.ndim == 3:
            raise ValueError(f"rows[{r}]: an array of shape {row.shape} is ambiguous (one RGB image or a stack of gray "
                             f"ones); pass a list of panels, e.g. list(stack) or [image]")
        checked.append([None if panel is None else _checked_image(panel, f"rows[{r}][{c}]")
                        for c, panel in enumerate(row)])
    if not checked:
        raise ValueError("rows is empty: a grid needs at least one row")
    if max(len(row) for row in checked) == 0:
        raise ValueError("rows holds no panels: every row is empty")
    return checked


def _text_inches(figure, texts, fontsize: float) -> float:
    """The width (inches) of the widest of `texts` as the figure would render it, to leave exactly room for it."""
    renderer = figure.canvas.get_renderer()
    widest = 0.0
    for text in texts:
        if text:
            artist = figure.text(0, 0, text, fontsize=fontsize)
            widest = max(widest, artist.get_window_extent(renderer).width / figure.dpi)
            artist.remove()
    return widest


def rows_grid(rows: Sequence[Sequence[np.ndarray | None]], *, row_titles: Sequence[str | None] | None = None,
              column_titles: Sequence[str | None] | None = None,
              panel_titles: Sequence[Sequence[str | None]] | None = None, title: str = "",
              panel_inches: float = 1.6, autoscale: bool = False, frame: bool = False, dpi: float = 100) -> np.ndarray:
    """A grid given row by row, as a uint8 RGB array, so related panels line up (a mask under its translation).

    A None panel leaves its cell empty; rows may be shorter than the widest, whose length sets the column count.
    `row_titles` (one per row) sit left of the rows, `column_titles` (one per column) above the top row,
    `panel_titles` (the same ragged shape as `rows`, None for none) above each panel, `title` above everything.
    Panels are images as `to_display` takes them, shown with nearest-neighbour pixels on the shared [-1, 1] range
    unless `autoscale=True` stretches each panel's contrast. `frame=True` draws a thin box around each panel.
    """
    rows = _checked_rows(rows)
    num_rows, num_columns = len(rows), max(len(row) for row in rows)
    row_titles = _checked_titles(row_titles, num_rows, "row_titles", "row")
    column_titles = _checked_titles(column_titles, num_columns, "column_titles", "column")
    if panel_titles is not None:
        if isinstance(panel_titles, str) or len(panel_titles) != num_rows:
            raise ValueError(f"panel_titles must be one list of titles per row ({num_rows} rows), got "
                             f"{panel_titles!r:.80}")
        panel_titles = [_checked_titles(titles, len(row), f"panel_titles[{r}]", f"panel of rows[{r}]")
                        for r, (titles, row) in enumerate(zip(panel_titles, rows))]

    figure = plt.figure(dpi=dpi)
    row_title_inches = _text_inches(figure, row_titles or [], 9) + _ROW_TITLE_PAD_INCHES if row_titles else 0.0
    left = _MARGIN_INCHES + row_title_inches
    top = _MARGIN_INCHES + (_TITLE_INCHES if title else 0.0) + (_COLUMN_TITLE_INCHES if column_titles else 0.0)
    panel_title_inches = _PANEL_TITLE_INCHES if panel_titles else 0.0
    row_inches = panel_title_inches + panel_inches
    width = left + num_columns * panel_inches + (num_columns - 1) * _GAP_INCHES + _MARGIN_INCHES
    height = top + num_rows * row_inches + (num_rows - 1) * _GAP_INCHES + _MARGIN_INCHES
    figure.set_size_inches(width, height)

    def column_left(c: int) -> float:
        return left + c * (panel_inches + _GAP_INCHES)

    def row_top(r: int) -> float:  # the top of row r's band (its panel titles, then its panels), from the top edge
        return top + r * (row_inches + _GAP_INCHES)

    limits = {} if autoscale else {"vmin": 0.0, "vmax": 1.0}
    for r, row in enumerate(rows):
        for c, panel in enumerate(row):
            if panel is None:
                continue
            panel_top = row_top(r) + panel_title_inches
            axis = figure.add_axes((column_left(c) / width, 1 - (panel_top + panel_inches) / height,
                                    panel_inches / width, panel_inches / height))
            shown = to_display(panel)
            axis.imshow(shown, cmap="gray" if shown.ndim == 2 else None, interpolation="nearest", **limits)
            axis.set_xticks([])
            axis.set_yticks([])
            if not frame:
                axis.set_axis_off()
            if panel_titles and panel_titles[r][c]:
                axis.set_title(panel_titles[r][c], fontsize=8, pad=2)
        if row_titles and row_titles[r]:
            middle = row_top(r) + panel_title_inches + panel_inches / 2
            figure.text((left - _ROW_TITLE_PAD_INCHES) / width, 1 - middle / height, row_titles[r], fontsize=9,
                        ha="right", va="center")
    for c, column_title in enumerate(column_titles or []):
        if column_title:
            figure.text((column_left(c) + panel_inches / 2) / width, 1 - (row_top(0) - 0.05) / height, column_title,
                        fontsize=9, ha="center", va="bottom")
    if title:
        figure.text(0.5, 1 - (_MARGIN_INCHES + _TITLE_INCHES / 2) / height, title, fontsize=10, ha="center",
                    va="center")
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


def save_gif(frames: Sequence[np.ndarray], path: str | os.PathLike, *, fps: float = 4.0,
             loop: int | None = 0) -> Path:
    """Write frames (e.g. one face at rising intensities) as an animated GIF, creating the folder.

    Frames are images as `to_display` takes them, all of one shape. `loop=0` repeats forever, `loop=None` plays
    once. GIF stores frame times in hundredths of a second, so 1/fps is rounded to 10 ms; Pillow merges identical
    consecutive frames into one longer frame. The file is written beside its target and then renamed, so a reader
    never sees half a GIF.
    """
    from PIL import Image

    path = Path(path)
    if path.suffix.lower() != ".gif":
        raise ValueError(f"{path}: a GIF path must end in .gif")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if loop is not None and (not isinstance(loop, int) or loop < 0):
        raise ValueError(f"loop must be a count >= 0 (0: forever) or None (play once), got {loop!r}")
    frames = [_checked_image(frame, f"frames[{index}]") for index, frame in enumerate(frames)]
    if not frames:
        raise ValueError(f"{path}: a GIF needs at least one frame, got none")
    for index, frame in enumerate(frames):
        if frame.shape != frames[0].shape:
            raise ValueError(f"frames[{index}] has shape {frame.shape} but frames[0] has {frames[0].shape}: "
                             f"all frames of a GIF must have one shape")
    pictures = [Image.fromarray(np.round(to_display(frame) * 255).astype(np.uint8)) for frame in frames]
    options = {"duration": round(1000 / fps / 10) * 10} | ({} if loop is None else {"loop": loop})
    with atomic_output(path) as temporary:
        pictures[0].save(temporary, format="GIF", save_all=True, append_images=pictures[1:], **options)
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


def plot_confusion_matrix(matrix, path: str | os.PathLike, class_names: Sequence[str] = FER_CLASSES,
                          title: str = "") -> Path:
    """Row-normalised confusion matrix (rows: true class) with counts, as a PNG."""
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] != len(class_names):
        raise ValueError(f"a confusion matrix for {len(class_names)} classes must be "
                         f"{len(class_names)}x{len(class_names)}, got shape {matrix.shape}")
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    figure, axis = plt.subplots(figsize=(6.4, 5.6))
    image = axis.imshow(rates, cmap="Blues", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=axis, fraction=0.046, pad=0.04, label="fraction of the true class")
    ticks = np.arange(len(class_names))
    axis.set_xticks(ticks, class_names, rotation=45, ha="right")
    axis.set_yticks(ticks, class_names)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    for i in range(len(class_names)):
        for j in range(len(class_names)):
            axis.text(j, i, f"{rates[i, j]:.2f}\n{matrix[i, j]}", ha="center", va="center", fontsize=7,
                      color="white" if rates[i, j] > 0.5 else "black")
    axis.set_title(title, fontsize=10)
    figure.tight_layout()
    return save_png(figure_to_array(figure), path)
