"""OpenFace 2.x reader: header quirks, the success filter, AU order and normalisation, folders, bad input."""

import os

import cv2
import numpy as np
import pytest

from ccyclegan.data.openface import au_column_names, normalize_aus, read_openface, read_openface_root
from ccyclegan.errors import DataError
from ccyclegan.labels import AU_CODES, NUM_AUS

LEADING = ["frame", "face_id", "timestamp", "confidence", "success", "gaze_0_x", "gaze_angle_x", "pose_Tx", "pose_Rz",
           "x_0", "y_0"]
PRESENCE = [f"AU{code:02d}_c" for code in (*AU_CODES[:-1], 28, 45)]  # OpenFace writes 18 _c columns incl. AU28_c
HEADER = LEADING + au_column_names("intensity") + PRESENCE
FACE = 16  # aligned faces are 112x112 in OpenFace; small here to keep the tests fast


def openface_row(frame, success=1, aus=None, face_id=0):
    aus = np.zeros(NUM_AUS) if aus is None else np.asarray(aus, dtype=float)
    presence = (aus > 1).astype(int).tolist()
    values = [frame, face_id, f"{(frame - 1) * 0.04:.3f}", "0.98" if success else "0.00", success, "0.123", "-0.05",
              "12.3", "0.01", "301.2", "255.0", *[f"{a:.2f}" for a in aus], *presence[:-1], 0, presence[-1]]
    return ", ".join(str(v) for v in values)  # OpenFace writes a space after every comma, in the header too


def write_openface(folder, rows, *, header=HEADER, name="EmotioNet", faces=True, rng=None):
    """<folder>/<name>.csv plus <folder>/<name>_aligned/frame_det_00_%06d.bmp for each row (success or not)."""
    os.makedirs(folder, exist_ok=True)
    csv_path = os.path.join(folder, f"{name}.csv")
    with open(csv_path, "w") as file:
        file.write(", ".join(header) + "\n" + "".join(row + "\n" for row in rows))
    aligned = os.path.join(folder, f"{name}_aligned")
    os.makedirs(aligned, exist_ok=True)
    rng = rng or np.random.default_rng(0)
    if faces:
        for row in rows:
            frame = int(row.split(",")[header.index("frame")])
            bgr = rng.integers(0, 256, (FACE, FACE, 3), dtype=np.uint8)
            cv2.imwrite(os.path.join(aligned, f"frame_det_00_{frame:06d}.bmp"), bgr)
    return csv_path


def distinct_aus(frame):
    """AU i of frame f is (i + f) / 10, so every value says where it came from."""
    return (np.arange(NUM_AUS) + frame) / 10


def test_reads_aus_in_openface_order_images_and_frames(tmp_path):
    csv_path = write_openface(tmp_path / "processed", [openface_row(f, aus=distinct_aus(f)) for f in (1, 2, 3)])
    data = read_openface(csv_path, au_normalization="none")
    assert len(data) == 3 and data.aus.dtype == np.float32 and data.aus.shape == (3, NUM_AUS)
    np.testing.assert_allclose(data.aus[1], distinct_aus(2), rtol=1e-6)
    assert data.frames.tolist() == [1, 2, 3] and data.frames.dtype == np.int64
    assert [os.path.basename(p) for p in data.image_paths] == [f"frame_det_00_00000{f}.bmp" for f in (1, 2, 3)]
    assert data.images.shape == (3, FACE, FACE, 3) and data.images.dtype == np.uint8
    bgr = cv2.imread(data.image_paths[2])
    np.testing.assert_array_equal(data.images[2], bgr[..., ::-1])  # RGB, not OpenCV's BGR


def test_columns_are_found_by_name_not_position(tmp_path):
    shuffled = HEADER[::-1]
    rows = [", ".join(reversed([v.strip() for v in openface_row(f, aus=distinct_aus(f)).split(",")])) for f in (4, 5)]
    data = read_openface(write_openface(tmp_path, rows, header=shuffled), au_normalization="none")
    assert data.frames.tolist() == [4, 5]
    np.testing.assert_allclose(data.aus[0], distinct_aus(4), rtol=1e-6)


def test_unsuccessful_rows_are_dropped_and_counted(tmp_path):
    rows = [openface_row(1), openface_row(2, success=0), openface_row(3), openface_row(4, success=0)]
    csv_path = write_openface(tmp_path, rows, faces=False)
    aligned = tmp_path / "EmotioNet_aligned"
    for frame in (1, 3):  # OpenFace writes no aligned face for a frame without a face
        cv2.imwrite(str(aligned / f"frame_det_00_{frame:06d}.bmp"), np.zeros((FACE, FACE, 3), np.uint8))
    data = read_openface(csv_path)
    assert data.frames.tolist() == [1, 3] and data.dropped_unsuccessful == 2 and data.skipped == 0


def test_au_normalisations(tmp_path):
    aus = np.zeros((2, NUM_AUS))
    aus[0, 0], aus[1, 0], aus[1, 8] = 2.0, 4.0, 5.0  # AU01 max 4, AU12 max 5, the rest all 0
    csv_path = write_openface(tmp_path, [openface_row(1, aus=aus[0]), openface_row(2, aus=aus[1])])
    np.testing.assert_allclose(read_openface(csv_path).aus, aus / 5)
    column_max = read_openface(csv_path, au_normalization="column_max").aus
    assert column_max[:, 0].tolist() == [0.5, 1.0] and column_max[1, 8] == 1.0 and not column_max[:, 1:8].any()
    np.testing.assert_allclose(read_openface(csv_path, au_normalization="none").aus, aus)
    with pytest.raises(ValueError, match="au_normalization"):
        normalize_aus(aus, "max")


def test_presence_columns(tmp_path):
    csv_path = write_openface(tmp_path, [openface_row(1, aus=[3.0] + [0.0] * 16)])
    data = read_openface(csv_path, au_kind="presence")
    assert data.aus[0, 0] == 1.0 and data.aus[0, 1:].sum() == 0  # 0/1, not divided by 5
    assert au_column_names("presence")[-1] == "AU45_c" and "AU28_c" not in au_column_names("presence")


def test_face_id_names_the_aligned_file(tmp_path):
    csv_path = write_openface(tmp_path, [openface_row(7, face_id=1)], faces=False)
    cv2.imwrite(str(tmp_path / "EmotioNet_aligned" / "frame_det_01_000007.bmp"), np.zeros((4, 4, 3), np.uint8))
    assert read_openface(csv_path).image_paths[0].endswith("frame_det_01_000007.bmp")


def test_without_images_and_resize(tmp_path):
    csv_path = write_openface(tmp_path, [openface_row(1), openface_row(2)])
    data = read_openface(csv_path, load_images=False)
    assert data.images is None and len(data.image_paths) == 2 and os.path.isfile(data.image_paths[0])
    assert read_openface(csv_path, size=8).images.shape == (2, 8, 8, 3)


def test_faces_of_different_sizes_need_size(tmp_path):
    csv_path = write_openface(tmp_path, [openface_row(1), openface_row(2)])
    cv2.imwrite(str(tmp_path / "EmotioNet_aligned" / "frame_det_00_000002.bmp"), np.zeros((20, 20, 3), np.uint8))
    with pytest.raises(DataError, match=r":3: image .*is 20x20, the others are 16x16; pass size="):
        read_openface(csv_path)
    assert read_openface(csv_path, size=16).images.shape == (2, 16, 16, 3)


def test_gray_aligned_faces_become_rgb(tmp_path):
    csv_path = write_openface(tmp_path, [openface_row(1)], faces=False)
    cv2.imwrite(str(tmp_path / "EmotioNet_aligned" / "frame_det_00_000001.bmp"), np.full((FACE, FACE), 50, np.uint8))
    assert read_openface(csv_path).images.shape == (1, FACE, FACE, 3)  # the original crashed on gray files


# ------------------------------------------------------------------------------------------------------------ root

def test_root_reads_every_folder_in_name_order_with_global_column_max(tmp_path):
    write_openface(tmp_path / "dataFile_1002" / "processed", [openface_row(1, aus=[4.0] + [0] * 16)])
    write_openface(tmp_path / "dataFile_1001" / "processed", [openface_row(1, aus=[2.0] + [0] * 16),
                                                               openface_row(2, success=0)])
    os.makedirs(tmp_path / ".git")
    (tmp_path / "fer2013.csv").write_text("not a folder")
    data = read_openface_root(tmp_path, au_normalization="column_max")
    assert data.aus[:, 0].tolist() == [0.5, 1.0]  # 1001 first; max over both folders
    assert "dataFile_1001" in data.image_paths[0] and data.dropped_unsuccessful == 1
    assert data.images.shape == (2, FACE, FACE, 3)


def test_root_folder_without_openface_output_is_an_error(tmp_path):
    write_openface(tmp_path / "a" / "processed", [openface_row(1)])
    os.makedirs(tmp_path / "b")
    with pytest.raises(DataError, match=r"b: has no processed/EmotioNet\.csv"):
        read_openface_root(tmp_path)
    with pytest.raises(DataError, match="no data folders"):
        read_openface_root(tmp_path / "a" / "processed" / "EmotioNet_aligned")
    with pytest.raises(DataError, match="no such folder"):
        read_openface_root(tmp_path / "none")


# ------------------------------------------------------------------------------------------------------- bad input

def assert_error(excinfo, path, line, *fragments):
    message = str(excinfo.value)
    assert "\n" not in message and message.startswith(f"{path}:{line}: " if line else f"{path}: "), message
    for fragment in fragments:
        assert fragment in message, message


def test_missing_au_column(tmp_path):
    header = [name for name in HEADER if name != "AU12_r"]
    rows = [", ".join(v for name, v in zip(HEADER, openface_row(1).split(", ")) if name != "AU12_r")]
    csv_path = write_openface(tmp_path, rows, header=header)
    with pytest.raises(DataError) as excinfo:
        read_openface(csv_path)
    assert_error(excinfo, csv_path, 1, "missing OpenFace column(s) AU12_r")


@pytest.mark.parametrize(
    ("edit", "fragments"),
    [
        (lambda v: v.__setitem__(HEADER.index("AU04_r"), "abc"), ["AU04_r is 'abc', not a number"]),
        (lambda v: v.__setitem__(HEADER.index("AU45_r"), "7.5"), ["AU45_r = 7.5 is outside", "0..5"]),
        (lambda v: v.__setitem__(HEADER.index("AU26_r"), ""), ["AU26_r is empty"]),
        (lambda v: v.__setitem__(HEADER.index("success"), "2"), ["success = 2 is outside", "0 or 1"]),
        (lambda v: v.__setitem__(HEADER.index("frame"), "1.5"), ["frame = 1.5 is outside"]),
        (lambda v: v.__delitem__(slice(HEADER.index("AU20_r"), None)),
         [f"row has {HEADER.index('AU20_r')} values, the header has {len(HEADER)} columns"]),
        (lambda v: v.append("0.5"), [f"row has {len(HEADER) + 1} values, the header has {len(HEADER)} columns"]),
        (lambda v: v.clear(), ["blank line"]),
    ],
)
def test_bad_rows_name_file_line_and_value(tmp_path, edit, fragments):
    values = openface_row(2).split(", ")
    edit(values)
    csv_path = write_openface(tmp_path, [openface_row(1), ", ".join(values), openface_row(3)], faces=False)
    with pytest.raises(DataError) as excinfo:
        read_openface(csv_path, load_images=False, check_images=False)
    assert_error(excinfo, csv_path, 3, *fragments)


def test_skip_bad_rows_counts(tmp_path):
    bad = openface_row(2).split(", ")
    bad[HEADER.index("AU06_r")] = "zz"
    rows = [openface_row(1), ", ".join(bad), openface_row(3), openface_row(4, success=0)]
    csv_path = write_openface(tmp_path, rows)
    os.remove(tmp_path / "EmotioNet_aligned" / "frame_det_00_000003.bmp")
    data = read_openface(csv_path, skip_bad_rows=True)
    assert data.frames.tolist() == [1] and data.skipped == 2 and data.dropped_unsuccessful == 1


def test_non_numeric_unused_column_is_not_an_error(tmp_path):
    csv_path = write_openface(tmp_path, [openface_row(1).replace("0.123", "n/a")])
    assert len(read_openface(csv_path)) == 1  # only the columns the reader uses are validated


def test_missing_face_image(tmp_path):
    csv_path = write_openface(tmp_path, [openface_row(1), openface_row(2)])
    os.remove(tmp_path / "EmotioNet_aligned" / "frame_det_00_000002.bmp")
    for options in ({}, {"load_images": False}):
        with pytest.raises(DataError) as excinfo:
            read_openface(csv_path, **options)
        assert_error(excinfo, csv_path, 3, "image", "frame_det_00_000002.bmp does not exist")


def test_corrupt_face_image(tmp_path):
    csv_path = write_openface(tmp_path, [openface_row(1)])
    (tmp_path / "EmotioNet_aligned" / "frame_det_00_000001.bmp").write_bytes(b"BM broken")
    with pytest.raises(DataError) as excinfo:
        read_openface(csv_path)
    assert_error(excinfo, csv_path, 2, "frame_det_00_000001.bmp: cannot be decoded")


def test_missing_paths_and_empty_file(tmp_path):
    with pytest.raises(DataError, match="no such OpenFace CSV"):
        read_openface(tmp_path / "none.csv")
    csv_path = write_openface(tmp_path, [openface_row(1)])
    with pytest.raises(DataError, match="no such folder of aligned faces"):
        read_openface(csv_path, image_dir=tmp_path / "elsewhere")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError) as excinfo:
        read_openface(empty)
    assert_error(excinfo, empty, 1, "the file is empty")


def test_only_unsuccessful_rows(tmp_path):
    csv_path = write_openface(tmp_path, [openface_row(1, success=0)], faces=False)
    with pytest.raises(DataError, match="no usable rows: 1 with success == 0"):
        read_openface(csv_path)
