"""Pictures: grids given row by row (where each panel lands, what titles add, what bad input says), GIFs (round trip
through Pillow, atomic writes) and the confusion-matrix plot."""

import numpy as np
import pytest
from PIL import Image

from ccyclegan import viz
from ccyclegan.data.synthetic_pictures import _save_grid

SMALL = {"panel_inches": 0.5, "dpi": 50}  # 25-pixel panels: fast to render, big enough to locate
BLACK = np.zeros((8, 8, 3), np.uint8)
RED = np.zeros((8, 8, 3), np.uint8)
RED[..., 0] = 255


def _box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the True pixels, inclusive."""
    ys, xs = np.nonzero(mask)
    assert ys.size, "no pixel matched"
    return ys.min(), ys.max(), xs.min(), xs.max()


def _red(grid: np.ndarray) -> np.ndarray:
    return (grid[..., 0] > 200) & (grid[..., 1] < 60) & (grid[..., 2] < 60)


def _dark(grid: np.ndarray) -> np.ndarray:
    return grid.max(axis=-1) < 60


def test_rows_grid_is_rgb_and_grows_with_rows_and_columns():
    one = viz.rows_grid([[BLACK]], **SMALL)
    wide = viz.rows_grid([[BLACK, BLACK, BLACK]], **SMALL)
    tall = viz.rows_grid([[BLACK], [BLACK], [BLACK]], **SMALL)
    assert one.dtype == np.uint8 and one.ndim == 3 and one.shape[-1] == 3
    assert wide.shape[0] == one.shape[0] and tall.shape[1] == one.shape[1]
    # Two more panels (25 px each at 0.5 in x 50 dpi) plus their gaps.
    assert 2 * 25 <= wide.shape[1] - one.shape[1] <= 2 * 25 + 12
    assert 2 * 25 <= tall.shape[0] - one.shape[0] <= 2 * 25 + 12


def test_a_panel_lands_in_its_cell():
    grid = viz.rows_grid([[BLACK, BLACK, BLACK], [BLACK, BLACK, RED]], **SMALL)
    height, width = grid.shape[:2]
    top, bottom, left, right = _box(_red(grid))
    assert top > height / 2 and left > 2 * width / 3  # bottom-right cell
    assert 23 <= bottom - top + 1 <= 27 and 23 <= right - left + 1 <= 27  # the whole 25-pixel panel, nothing else
    # The five black panels fill the rest: no dark pixel in the red panel's cell, dark ones left of and above it.
    assert not _dark(grid)[top:bottom + 1, left:right + 1].any()
    assert _dark(grid)[top:bottom + 1, :left].any() and _dark(grid)[:top, left:right + 1].any()


def test_none_panels_and_short_rows_leave_cells_empty():
    full = viz.rows_grid([[BLACK, BLACK, BLACK], [BLACK, BLACK, BLACK]], **SMALL)
    gappy = viz.rows_grid([[BLACK, None, BLACK], [BLACK]], **SMALL)
    assert gappy.shape == full.shape  # the widest row sets the columns
    height, width = full.shape[:2]
    assert _dark(full)[: height // 2, width // 3: 2 * width // 3].any()
    assert not _dark(gappy)[: height // 2, width // 3: 2 * width // 3].any()  # the None cell
    assert not _dark(gappy)[height // 2:, width // 3:].any()  # the short row's missing cells
    assert _dark(gappy)[height // 2:, : width // 3].any()


def test_a_mask_row_lines_up_under_its_translations():
    """The CCycleGAN case: masks in the row below, each under its own translation (no mask under the input)."""
    translations = [BLACK, RED, BLACK, BLACK]
    masks = [None, RED, BLACK, BLACK]
    grid = viz.rows_grid([translations, masks], panel_titles=[["orig", "t1", "t2", "t3"], [None, "m1", "m2", "m3"]],
                         **SMALL)
    red = _red(grid)
    upper, lower = red[: grid.shape[0] // 2], red[grid.shape[0] // 2:]
    _, _, upper_left, upper_right = _box(upper)
    _, _, lower_left, lower_right = _box(lower)
    assert (upper_left, upper_right) == (lower_left, lower_right)


def test_titles_add_room_and_ink():
    plain = viz.rows_grid([[BLACK, BLACK], [BLACK, BLACK]], **SMALL)
    with_rows = viz.rows_grid([[BLACK, BLACK], [BLACK, BLACK]], row_titles=["Angry", "Happy"], **SMALL)
    longer_rows = viz.rows_grid([[BLACK, BLACK], [BLACK, BLACK]], row_titles=["Angry", "Surprised a lot"], **SMALL)
    with_columns = viz.rows_grid([[BLACK, BLACK], [BLACK, BLACK]], column_titles=["0", "5"], **SMALL)
    with_panels = viz.rows_grid([[BLACK, BLACK], [BLACK, BLACK]], panel_titles=[["a", "b"], ["c", "d"]], **SMALL)
    with_title = viz.rows_grid([[BLACK, BLACK], [BLACK, BLACK]], title="Grid", **SMALL)
    # Row titles widen the grid on the left (by as much as the longest title needs) and put ink there.
    assert with_rows.shape[0] == plain.shape[0] and longer_rows.shape[1] > with_rows.shape[1] > plain.shape[1]
    added = with_rows.shape[1] - plain.shape[1]
    assert (with_rows[:, :added].min(axis=-1) < 128).any()
    # Column titles, panel titles and the figure title each heighten it and put ink in the new top band.
    for titled in (with_columns, with_panels, with_title):
        assert titled.shape[1] == plain.shape[1] and titled.shape[0] > plain.shape[0]
        band = titled.shape[0] - plain.shape[0]
        assert (titled[:band].min(axis=-1) < 128).any()
    # Panel titles are per row: both rows get a band.
    assert with_panels.shape[0] - plain.shape[0] > with_columns.shape[0] - plain.shape[0]
    different = viz.rows_grid([[BLACK, BLACK], [BLACK, BLACK]], column_titles=["1", "4"], **SMALL)
    assert different.shape == with_columns.shape and not np.array_equal(different, with_columns)


def test_gray_and_float_panels_use_the_shared_range_unless_autoscaled():
    black_float = np.full((8, 8), -1.0, np.float32)
    white_gray = np.full((8, 8, 1), 255, np.uint8)
    faint = np.tile(np.linspace(-0.2, 0.2, 8, dtype=np.float32), (8, 1))
    grid = viz.rows_grid([[black_float, white_gray, faint]], **SMALL)
    stretched = viz.rows_grid([[black_float, white_gray, faint]], autoscale=True, **SMALL)
    width = grid.shape[1]
    # The faint panel's pixels: mid-gray on the shared range, black to white when autoscaled.
    faint_cell = grid[:, 2 * width // 3:].astype(int)
    stretched_cell = stretched[:, 2 * width // 3:].astype(int)
    assert faint_cell.min() > 90
    assert stretched_cell.min() < 10
    assert _dark(grid)[:, : width // 3].any()  # the float -1 panel is black


def test_frame_draws_a_box_around_a_white_panel():
    white = np.full((8, 8), 255, np.uint8)
    assert viz.rows_grid([[white]], **SMALL).min() == 255
    assert viz.rows_grid([[white]], frame=True, **SMALL).max(axis=-1).min() < 200  # a thin antialiased line


@pytest.mark.parametrize("kwargs, message", [
    ({"rows": []}, r"rows is empty"),
    ({"rows": [[], []]}, r"rows holds no panels"),
    ({"rows": BLACK}, r"got one array of shape \(8, 8, 3\)"),
    ({"rows": [BLACK]}, r"rows\[0\]: an array of shape \(8, 8, 3\) is ambiguous"),
    ({"rows": [[BLACK], None]}, r"rows\[1\]: expected a sequence of panels"),
    ({"rows": [[BLACK, np.zeros(5)]]}, r"rows\[0\]\[1\]: expected an image of shape .* got \(5,\)"),
    ({"rows": [[BLACK], [np.zeros((4, 4, 2))]]}, r"rows\[1\]\[0\]: .* got \(4, 4, 2\)"),
    ({"rows": [[np.zeros((4, 4), np.int64)]]}, r"rows\[0\]\[0\]: .*got dtype int64"),
    ({"rows": [[BLACK], [BLACK]], "row_titles": ["one"]}, r"row_titles has 1 titles, expected 2 \(one per row\)"),
    ({"rows": [[BLACK, BLACK], [BLACK]], "column_titles": ["a"]}, r"column_titles has 1 titles, expected 2 \(one per column\)"),
    ({"rows": [[BLACK, BLACK]], "column_titles": "ab"}, r"column_titles must be a sequence of strings"),
    ({"rows": [[BLACK]], "row_titles": [3]}, r"row_titles\[0\] must be a string or None, got int"),
    ({"rows": [[BLACK, BLACK], [BLACK]], "panel_titles": [["a", "b"]]}, r"panel_titles must be one list of titles per row \(2 rows\)"),
    ({"rows": [[BLACK, BLACK], [BLACK]], "panel_titles": [["a", "b"], ["c", "d"]]},
     r"panel_titles\[1\] has 2 titles, expected 1 \(one per panel of rows\[1\]\)"),
])
def test_rows_grid_rejects_bad_input_naming_what_was_wrong(kwargs, message):
    rows = kwargs.pop("rows")
    with pytest.raises(ValueError, match=message):
        viz.rows_grid(rows, **kwargs, **SMALL)


def _frames(count: int = 3, size=(6, 10)) -> list[np.ndarray]:
    """Gray float frames in [-1, 1], each a different uniform level."""
    return [np.full(size, level, np.float32) for level in np.linspace(-1.0, 1.0, count)]


def test_gif_round_trips_through_pillow(tmp_path):
    path = viz.save_gif(_frames(3), tmp_path / "new" / "folder" / "faces.gif", fps=5)
    assert path == tmp_path / "new" / "folder" / "faces.gif"
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == 3 and gif.size == (10, 6)
        assert gif.info["duration"] == 200 and gif.info["loop"] == 0
        levels = []
        for index in range(gif.n_frames):
            gif.seek(index)
            levels.append(np.asarray(gif.convert("L")).mean())
    np.testing.assert_allclose(levels, [0, 127.5, 255], atol=1)
    assert sorted(p.name for p in path.parent.iterdir()) == ["faces.gif"]  # no temporary file left behind


def test_gif_of_rgb_uint8_frames_keeps_colors_and_can_play_once(tmp_path):
    red, green = RED, np.zeros((8, 8, 3), np.uint8)
    green[..., 1] = 255
    path = viz.save_gif(np.stack([red, green]), tmp_path / "colors.gif", fps=10, loop=None)
    with Image.open(path) as gif:
        assert gif.n_frames == 2 and gif.size == (8, 8) and "loop" not in gif.info
        assert gif.info["duration"] == 100
        assert tuple(np.asarray(gif.convert("RGB"))[0, 0]) == (255, 0, 0)
        gif.seek(1)
        assert tuple(np.asarray(gif.convert("RGB"))[0, 0]) == (0, 255, 0)


def test_gif_write_is_atomic(tmp_path, monkeypatch):
    path = viz.save_gif(_frames(2), tmp_path / "faces.gif")
    before = path.read_bytes()

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        viz.save_gif(_frames(4), path)
    assert path.read_bytes() == before  # the old GIF is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["faces.gif"]  # and the temporary file is gone


@pytest.mark.parametrize("frames, kwargs, message", [
    ([], {}, r"at least one frame"),
    ([np.zeros((6, 10)), np.zeros((6, 11))], {}, r"frames\[1\] has shape \(6, 11\) but frames\[0\] has \(6, 10\)"),
    ([np.zeros((6, 10, 3)), np.zeros((6, 10))], {}, r"frames\[1\] has shape \(6, 10\)"),
    ([np.zeros(4)], {}, r"frames\[0\]: expected an image"),
    ([np.zeros((6, 10))], {"fps": 0}, r"fps must be positive"),
    ([np.zeros((6, 10))], {"loop": -1}, r"loop must be a count"),
])
def test_save_gif_rejects_bad_input(tmp_path, frames, kwargs, message):
    with pytest.raises(ValueError, match=message):
        viz.save_gif(frames, tmp_path / "x.gif", **kwargs)
    assert not (tmp_path / "x.gif").exists()


def test_save_gif_wants_a_gif_name(tmp_path):
    with pytest.raises(ValueError, match=r"x\.png: a GIF path must end in \.gif"):
        viz.save_gif(_frames(2), tmp_path / "x.png")


def test_confusion_matrix_plot_is_written_and_checks_its_shape(tmp_path):
    path = viz.plot_confusion_matrix([[5, 1, 0], [0, 3, 3], [1, 0, 9]], tmp_path / "plots" / "confusion.png",
                                     ["a", "b", "c"], "three classes")
    image = np.asarray(Image.open(path).convert("RGB"))
    assert image.shape[0] > 300 and image.shape[1] > 300
    assert (image[..., 2].astype(int) - image[..., 0] > 100).any()  # the Blues colormap on the well-predicted cells
    with pytest.raises(ValueError, match=r"for 3 classes must be 3x3, got shape \(2, 3\)"):
        viz.plot_confusion_matrix([[1, 0, 0], [0, 1, 0]], tmp_path / "bad.png", ["a", "b", "c"])
    assert not (tmp_path / "bad.png").exists()


def test_synthetic_pictures_grid_is_a_titled_rows_grid(tmp_path):
    """The README's synthetic pictures go through rows_grid: labelled rows, optional column labels, framed panels."""
    grid = np.zeros((3, 4, 8, 8, 1), np.uint8)
    grid[2, 3] = 255
    plain = np.asarray(Image.open(_save_grid(grid, ["a", "b", "c"], None, tmp_path / "p.png", "T", 0.5)).convert("RGB"))
    labelled = np.asarray(Image.open(_save_grid(grid, ["a", "b", "c"], list("wxyz"), tmp_path / "l.png", "T", 0.5))
                          .convert("RGB"))
    assert labelled.shape[1] == plain.shape[1] and labelled.shape[0] > plain.shape[0]
    # 0.5 in x 80 dpi = 40-pixel cells: the white panel is framed (dark box) in the bottom-right cell.
    white = plain.min(axis=-1) > 250
    dark = plain.max(axis=-1) < 60
    height, width = plain.shape[:2]
    assert dark[: height // 3, : width // 3].any()
    bottom_right = dark[2 * height // 3:, 3 * width // 4:]
    assert bottom_right.sum() >= 4 * 35  # the four sides of the frame around the white panel
    assert white[2 * height // 3:, 3 * width // 4:].sum() >= 30 * 30
