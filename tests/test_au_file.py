"""GANimation AU text file: header detection (StarGAN style or none), values, images, and bad input."""

import os

import cv2
import numpy as np
import pytest

from ccyclegan.data.au_file import read_au_file
from ccyclegan.errors import DataError
from ccyclegan.labels import AU_CODES, NUM_AUS

NAMES_LINE = " ".join(f"AU{code:02d}_r" for code in AU_CODES)


def au_line(name, values):
    return name + " " + " ".join(f"{v:.2f}" for v in values)  # single spaces, 2 decimals, as vipermu's files


def write_faces(folder, names, size=8, seed=0):
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    for name in names:
        cv2.imwrite(os.path.join(folder, name), rng.integers(0, 256, (size, size, 3), dtype=np.uint8))


def rows_for(names):
    return [au_line(name, (np.arange(NUM_AUS) + i) % 6 * 0.8) for i, name in enumerate(names)]


def write_au_file(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def test_stargan_style_file_skips_count_and_names(tmp_path):
    names = ["000001.jpg", "000002.jpg", "000003.jpg"]
    write_faces(tmp_path / "images_aligned", names)
    path = write_au_file(tmp_path / "list_attr_celeba.txt", ["3", NAMES_LINE, *rows_for(names)])
    data = read_au_file(path, tmp_path / "images_aligned")
    assert data.header_lines == 2 and data.filenames == names  # vipermu's convention, no face lost
    assert data.aus.shape == (3, NUM_AUS) and data.aus.dtype == np.float32
    np.testing.assert_allclose(data.aus[1], (np.arange(NUM_AUS) + 1) % 6 * 0.8 / 5, atol=1e-6)
    assert data.images.shape == (3, 8, 8, 3) and data.images.dtype == np.uint8
    bgr = cv2.imread(str(tmp_path / "images_aligned" / "000002.jpg"))
    np.testing.assert_array_equal(data.images[1], bgr[..., ::-1])


def test_headerless_animation_file_keeps_every_line_in_file_order(tmp_path):
    names = ["22.jpg", "66.jpg", "38.jpg"]  # not numeric order, as eric_andre/attributes.txt
    write_faces(tmp_path, names)
    data = read_au_file(write_au_file(tmp_path / "attributes.txt", rows_for(names)))  # images beside the file
    assert data.header_lines == 0 and data.filenames == names and len(data) == 3
    assert data.image_paths[0] == os.path.join(str(tmp_path), "22.jpg")


def test_names_only_header_and_explicit_header_lines(tmp_path):
    names = ["a.png", "b.png"]
    write_faces(tmp_path, names)
    path = write_au_file(tmp_path / "aus.txt", ["filename " + NAMES_LINE, *rows_for(names)])
    assert read_au_file(path).header_lines == 1
    assert read_au_file(path, header_lines=2).filenames == ["b.png"]  # what vipermu's loader would have done


def test_normalize_by_one_keeps_raw_values(tmp_path):
    write_faces(tmp_path, ["a.png"])
    path = write_au_file(tmp_path / "aus.txt", [au_line("a.png", [5.0] * NUM_AUS)])
    assert read_au_file(path, normalize_by=1.0).aus.max() == 5.0
    assert read_au_file(path).aus.max() == 1.0


def test_without_images_and_with_resize(tmp_path):
    write_faces(tmp_path / "imgs", ["a.png"], size=20)
    path = write_au_file(tmp_path / "aus.txt", rows_for(["a.png"]))
    data = read_au_file(path, tmp_path / "imgs", load_images=False)
    assert data.images is None and data.image_paths == [os.path.join(str(tmp_path / "imgs"), "a.png")]
    assert read_au_file(path, tmp_path / "imgs", size=12).images.shape == (1, 12, 12, 3)
    assert read_au_file(path, tmp_path / "nowhere", load_images=False, check_images=False).filenames == ["a.png"]


# ------------------------------------------------------------------------------------------------------- bad input

def assert_error(excinfo, path, line, *fragments):
    message = str(excinfo.value)
    assert "\n" not in message and message.startswith(f"{path}:{line}: " if line else f"{path}: "), message
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize(
    ("bad_line", "fragments"),
    [
        ("c.png " + " ".join(["1.0"] * (NUM_AUS - 1)), ["expected a file name and 17 AU values, found 16"]),
        ("c.png " + " ".join(["1.0"] * (NUM_AUS + 1)), ["found 18 values"]),
        ("c.png 1.0 abc " + " ".join(["1.0"] * (NUM_AUS - 2)), ["AU02 value 'abc' is not a number"]),
        ("c.png " + " ".join(["1.0"] * (NUM_AUS - 1)) + " 6.5", ["AU45 = 6.5 is outside 0..5"]),
        ("c.png nan " + " ".join(["1.0"] * (NUM_AUS - 1)), ["AU01 = nan is outside"]),
    ],
)
def test_bad_lines_name_file_line_and_value(tmp_path, bad_line, fragments):
    write_faces(tmp_path, ["a.png", "b.png", "c.png"])
    path = write_au_file(tmp_path / "aus.txt", ["3", NAMES_LINE, *rows_for(["a.png", "b.png"]), bad_line])
    with pytest.raises(DataError) as excinfo:
        read_au_file(path)
    assert_error(excinfo, path, 5, *fragments)


def test_image_that_does_not_exist(tmp_path):
    write_faces(tmp_path, ["a.png"])
    path = write_au_file(tmp_path / "aus.txt", rows_for(["a.png", "missing.png"]))
    for options in ({}, {"load_images": False}):
        with pytest.raises(DataError) as excinfo:
            read_au_file(path, **options)
        assert_error(excinfo, path, 2, "missing.png does not exist")


def test_corrupt_image(tmp_path):
    write_faces(tmp_path, ["a.png"])
    (tmp_path / "b.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    path = write_au_file(tmp_path / "aus.txt", rows_for(["a.png", "b.jpg"]))
    with pytest.raises(DataError) as excinfo:
        read_au_file(path)
    assert_error(excinfo, path, 2, "b.jpg: cannot be decoded")


def test_skip_bad_rows_counts_lines_and_images(tmp_path):
    write_faces(tmp_path, ["a.png", "b.png"])
    lines = [*rows_for(["a.png"]), "b.png 1 2", *rows_for(["missing.png", "b.png"])]
    data = read_au_file(write_au_file(tmp_path / "aus.txt", lines), skip_bad_rows=True)
    assert data.filenames == ["a.png", "b.png"] and data.skipped == 2 and len(data.aus) == 2
    assert data.images.shape[0] == 2


def test_wrong_row_count_in_stargan_header(tmp_path):
    path = write_au_file(tmp_path / "aus.txt", ["5", NAMES_LINE, *rows_for(["a.png", "b.png"])])
    with pytest.raises(DataError) as excinfo:
        read_au_file(path, load_images=False, check_images=False)
    assert_error(excinfo, path, 1, "declares 5 rows but 2 follow", "header_lines=2")
    assert len(read_au_file(path, header_lines=2, load_images=False, check_images=False)) == 2


def test_undecidable_first_line(tmp_path):
    path = write_au_file(tmp_path / "aus.txt", ["a.png 1 2 3", *rows_for(["b.png"])])
    with pytest.raises(DataError) as excinfo:
        read_au_file(path, load_images=False)
    assert_error(excinfo, path, 1, "neither a row count", "header_lines=")


def test_empty_missing_and_header_only_files(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    with pytest.raises(DataError) as excinfo:
        read_au_file(empty)
    assert_error(excinfo, empty, 1, "the file is empty")
    with pytest.raises(DataError, match="no such AU file"):
        read_au_file(tmp_path / "none.txt")
    header_only = write_au_file(tmp_path / "h.txt", ["0", NAMES_LINE])
    with pytest.raises(DataError, match=r"no AU rows after 2 header line\(s\)"):
        read_au_file(header_only)
    with pytest.raises(DataError, match="no such image folder"):
        read_au_file(write_au_file(tmp_path / "x.txt", rows_for(["a.png"])), tmp_path / "nowhere")
