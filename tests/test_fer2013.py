"""FER2013 CSV reader: splits, normalisation, the leakage option, the cache, and every kind of bad input."""

import os

import numpy as np
import pytest

from ccyclegan.data.fer2013 import NUM_PIXELS, cache_path, read_fer2013
from ccyclegan.errors import DataError

HEADER = "emotion,pixels,Usage"


def pixel_string(values) -> str:
    return " ".join(str(int(v)) for v in values)


def write_rows(path, rows, header=HEADER, newline="\n", end_with_newline=True):
    text = newline.join([header, *rows]) if header is not None else newline.join(rows)
    if end_with_newline and text:
        text += newline
    path.write_text(text)
    return path


def make_csv(tmp_path, rng, counts=(5, 2, 3), name="fer2013.csv"):
    """A small FER2013 file in the real format; returns (path, images uint8 (N,48,48), labels, usages)."""
    usages = ["Training"] * counts[0] + ["PublicTest"] * counts[1] + ["PrivateTest"] * counts[2]
    images = rng.integers(0, 256, (len(usages), NUM_PIXELS))
    labels = rng.integers(0, 7, len(usages))
    rows = [f"{label},{pixel_string(image)},{usage}" for label, image, usage in zip(labels, images, usages)]
    return write_rows(tmp_path / name, rows), images.reshape(-1, 48, 48).astype(np.uint8), labels, np.array(usages)


def good_row(label=0, usage="Training", value=7):
    return f"{label},{pixel_string([value] * NUM_PIXELS)},{usage}"


def test_splits_shapes_dtypes_and_exact_pixels(tmp_path, rng):
    path, images, labels, usages = make_csv(tmp_path, rng)
    data = read_fer2013(path, normalize=False, cache=False)
    assert (len(data.train), len(data.public_test), len(data.private_test)) == (5, 2, 3)
    assert data.train.images.shape == (5, 48, 48, 1) and data.train.images.dtype == np.uint8
    assert data.train.labels.dtype == np.int64
    np.testing.assert_array_equal(data.train.images[..., 0], images[usages == "Training"])
    np.testing.assert_array_equal(data.private_test.labels, labels[usages == "PrivateTest"])
    assert data.skipped == 0 and data.path == os.fspath(path)


def test_normalize_maps_to_unit_range_like_the_original(tmp_path, rng):
    path, images, _, usages = make_csv(tmp_path, rng)
    data = read_fer2013(path, cache=False)
    assert data.train.images.dtype == np.float32
    expected = images[usages == "PublicTest"].astype(np.float32)[..., None] / 127.5 - 1
    np.testing.assert_array_equal(data.public_test.images, expected)
    assert data.train.images.min() >= -1.0 and data.train.images.max() <= 1.0


def test_test_property_is_public_then_private(tmp_path, rng):
    path, images, labels, usages = make_csv(tmp_path, rng)
    test = read_fer2013(path, normalize=False, cache=False).test
    held_out = usages != "Training"
    np.testing.assert_array_equal(test.images[..., 0], images[held_out])
    np.testing.assert_array_equal(test.labels, labels[held_out])


def test_splits_interleaved_in_the_file_are_still_separated(tmp_path):
    rows = [good_row(1, "PublicTest", 1), good_row(2, "Training", 2), good_row(3, "PublicTest", 3),
            good_row(4, "Training", 4), good_row(5, "PrivateTest", 5)]
    data = read_fer2013(write_rows(tmp_path / "f.csv", rows), normalize=False, cache=False)
    assert data.train.labels.tolist() == [2, 4] and data.public_test.labels.tolist() == [1, 3]
    assert data.train.images[1].max() == 4
    assert data.train.rows.tolist() == [1, 3] and data.public_test.rows.tolist() == [0, 2]
    assert data.private_test.rows.tolist() == [4]


def test_merge_test_into_train_reproduces_the_original_leakage(tmp_path, rng):
    path, _, labels, _ = make_csv(tmp_path, rng)
    data = read_fer2013(path, normalize=False, merge_test_into_train=True, cache=False)
    assert len(data.train) == 10 and len(data.test) == 5  # held-out rows are in both pools, as in the original
    np.testing.assert_array_equal(data.train.labels, labels)
    assert data.train.rows.tolist() == list(range(10))


def test_header_quirks_crlf_quotes_and_other_column_order(tmp_path, rng):
    image = rng.integers(0, 256, NUM_PIXELS)
    rows = [f'Training,"{pixel_string(image)}",3', f'PrivateTest,"{pixel_string(image)}",6']
    path = write_rows(tmp_path / "icml_face_data.csv", rows, header="Usage, pixels, emotion", newline="\r\n")
    data = read_fer2013(path, normalize=False, cache=False)
    assert data.train.labels.tolist() == [3] and data.private_test.labels.tolist() == [6]
    np.testing.assert_array_equal(data.train.images.reshape(-1), image)


def test_blank_lines_are_ignored(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text(f"{HEADER}\n{good_row()}\n\n{good_row(2)}\n\n")
    assert read_fer2013(path, cache=False).train.labels.tolist() == [0, 2]


def test_summary_names_counts(tmp_path, rng):
    path, *_ = make_csv(tmp_path, rng)
    text = read_fer2013(path, cache=False).summary()
    assert "train 5" in text and "public_test 2" in text and "private_test 3" in text and "Angry" in text


# -------------------------------------------------------------------------------------------------------------- cache

def test_cache_is_written_reused_and_identical(tmp_path, rng):
    path, *_ = make_csv(tmp_path, rng)
    first = read_fer2013(path, normalize=False)
    assert not first.from_cache and os.path.isfile(cache_path(path))
    second = read_fer2013(path, normalize=False)
    assert second.from_cache
    for a, b in [(first.train, second.train), (first.public_test, second.public_test)]:
        np.testing.assert_array_equal(a.images, b.images)
        np.testing.assert_array_equal(a.labels, b.labels)
        np.testing.assert_array_equal(a.rows, b.rows)
        assert b.labels.dtype == np.int64 and b.rows.dtype == np.int64
    assert read_fer2013(path).train.images.dtype == np.float32  # the cache holds uint8; normalising happens after


def test_cache_false_neither_reads_nor_writes(tmp_path, rng):
    path, *_ = make_csv(tmp_path, rng)
    assert not read_fer2013(path, cache=False).from_cache
    assert not os.path.exists(cache_path(path))


def test_cache_is_rebuilt_when_the_csv_changes(tmp_path, rng):
    path, *_ = make_csv(tmp_path, rng)
    read_fer2013(path)
    with open(path, "a") as file:
        file.write(good_row(6, "Training") + "\n")
    data = read_fer2013(path, normalize=False)
    assert not data.from_cache and len(data.train) == 6 and data.train.labels[-1] == 6


def test_cache_is_rebuilt_when_content_changes_but_size_and_mtime_do_not(tmp_path):
    path = write_rows(tmp_path / "f.csv", [good_row(1), good_row(2)])
    read_fer2013(path)
    stat = os.stat(path)
    path.write_text(path.read_text().replace("\n1,", "\n4,", 1))  # same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    data = read_fer2013(path, normalize=False)
    assert not data.from_cache and data.train.labels.tolist() == [4, 2]


def test_corrupt_cache_warns_and_reparses(tmp_path, rng):
    path, *_ = make_csv(tmp_path, rng)
    read_fer2013(path)
    with open(cache_path(path), "wb") as file:
        file.write(b"not a zip file")
    with pytest.warns(UserWarning, match="unreadable FER2013 cache"):
        data = read_fer2013(path)
    assert not data.from_cache and len(data.train) == 5


def test_unwritable_cache_only_warns(tmp_path, rng):
    path, *_ = make_csv(tmp_path, rng)
    os.mkdir(cache_path(path))  # a directory where the cache file should go: os.replace fails
    with pytest.warns(UserWarning, match="could not write the FER2013 cache"):
        data = read_fer2013(path)
    assert len(data.train) == 5
    assert not [name for name in os.listdir(tmp_path) if ".tmp" in name]  # the temporary file is gone too


def test_cache_of_a_file_with_skipped_rows_does_not_hide_the_error(tmp_path):
    path = write_rows(tmp_path / "f.csv", [good_row(1), "9," + pixel_string([0] * NUM_PIXELS) + ",Training"])
    assert read_fer2013(path, skip_bad_rows=True).skipped == 1
    assert read_fer2013(path, skip_bad_rows=True).from_cache
    with pytest.raises(DataError, match="emotion 9 is outside"):
        read_fer2013(path)


# ---------------------------------------------------------------------------------------------------------- bad input

def assert_one_line_error(excinfo, path, line, *fragments):
    message = str(excinfo.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:{line}: " if line else f"{path}: "), message
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize(
    ("bad_row", "fragments"),
    [
        ("0," + pixel_string([1] * (NUM_PIXELS - 1)) + ",Training", ["pixels has 2303 values, expected 2304"]),
        ("0," + pixel_string([1] * (NUM_PIXELS + 1)) + ",Training", ["pixels has 2305 values"]),
        ("0,12 7a " + pixel_string([1] * (NUM_PIXELS - 2)) + ",Training", ["pixel 2 is '7a', not an integer"]),
        ("0," + pixel_string([1] * 10) + " 2.5 " + pixel_string([1] * (NUM_PIXELS - 11)) + ",Training",
         ["pixel 11 is '2.5'"]),
        ("0," + pixel_string([1] * 5) + " 256 " + pixel_string([1] * (NUM_PIXELS - 6)) + ",Training",
         ["pixel 6 is 256, outside 0..255"]),
        ("0,-3 " + pixel_string([1] * (NUM_PIXELS - 1)) + ",Training", ["pixel 1 is '-3'"]),
        ("0,,Training", ["pixels is empty"]),
        ("7," + pixel_string([1] * NUM_PIXELS) + ",Training", ["emotion 7 is outside 0..6"]),
        ("-1," + pixel_string([1] * NUM_PIXELS) + ",Training", ["emotion -1 is outside 0..6"]),
        ("happy," + pixel_string([1] * NUM_PIXELS) + ",Training", ["emotion 'happy' is not an integer"]),
        ("0," + pixel_string([1] * NUM_PIXELS) + ",Validation", ["unknown Usage 'Validation'", "PublicTest"]),
        ("0," + pixel_string([1] * NUM_PIXELS), ["expected 3 comma-separated fields", "found 2"]),
        ("0," + pixel_string([1] * NUM_PIXELS) + ",Training,extra", ["found 4"]),
    ],
)
def test_bad_row_names_file_line_and_problem(tmp_path, bad_row, fragments):
    path = write_rows(tmp_path / "f.csv", [good_row(), good_row(), bad_row, good_row()])
    with pytest.raises(DataError) as excinfo:
        read_fer2013(path, cache=False)
    assert_one_line_error(excinfo, path, 4, *fragments)


def test_missing_usage_column_is_named(tmp_path):
    path = write_rows(tmp_path / "f.csv", ["0," + pixel_string([1] * NUM_PIXELS)], header="emotion,pixels")
    with pytest.raises(DataError) as excinfo:
        read_fer2013(path)
    assert_one_line_error(excinfo, path, 1, "missing column(s) Usage", "emotion,pixels,Usage")


def test_missing_several_columns(tmp_path):
    path = write_rows(tmp_path / "f.csv", ["a,b"], header="label,image")
    with pytest.raises(DataError, match=r"missing column\(s\) emotion, pixels, Usage"):
        read_fer2013(path)


def test_empty_file(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b"")
    with pytest.raises(DataError) as excinfo:
        read_fer2013(path)
    assert_one_line_error(excinfo, path, 1, "the file is empty")


def test_header_without_rows(tmp_path):
    path = write_rows(tmp_path / "f.csv", [])
    with pytest.raises(DataError, match="header but no data rows"):
        read_fer2013(path)


def test_truncated_last_line_is_reported_as_truncation(tmp_path):
    text = f"{HEADER}\n{good_row()}\n{good_row()}"[:-3000]  # cut in the middle of the last row's pixels
    path = tmp_path / "f.csv"
    path.write_text(text)
    with pytest.raises(DataError) as excinfo:
        read_fer2013(path)
    assert_one_line_error(excinfo, path, 3, "found 2", "looks truncated")


def test_missing_path(tmp_path):
    with pytest.raises(DataError) as excinfo:
        read_fer2013(tmp_path / "nope.csv")
    assert_one_line_error(excinfo, tmp_path / "nope.csv", None, "no such file", "datasets/README.md")


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(DataError, match="is a directory"):
        read_fer2013(tmp_path)


def test_skip_bad_rows_counts_and_keeps_the_good_ones(tmp_path):
    rows = [good_row(1), "9," + pixel_string([0] * NUM_PIXELS) + ",Training", good_row(2, "PublicTest"),
            "0,1 2 3,Training", good_row(3), "0," + pixel_string([0] * NUM_PIXELS) + ",Dev"]
    data = read_fer2013(write_rows(tmp_path / "f.csv", rows), skip_bad_rows=True, cache=False)
    assert data.skipped == 3
    assert data.train.labels.tolist() == [1, 3] and data.public_test.labels.tolist() == [2]
    assert data.train.rows.tolist() == [0, 4] and data.public_test.rows.tolist() == [2]  # skipped rows still count


def test_skip_bad_rows_with_nothing_left(tmp_path):
    path = write_rows(tmp_path / "f.csv", ["0,1 2,Training", "0,3,Training"])
    with pytest.raises(DataError, match="all 2 rows are malformed"):
        read_fer2013(path, skip_bad_rows=True, cache=False)


@pytest.mark.slow
def test_parse_benchmark_runs_end_to_end_on_a_small_file(tmp_path):
    """The benchmark script itself (5 cases in subprocesses) on 300 rows: it must print its table and ratio."""
    import subprocess
    import sys

    script = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench",
                          "bench_fer2013_parse.py")
    result = subprocess.run([sys.executable, script, "--rows", "300", "--repeats", "1", "--dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    assert "original-style" in result.stdout and "reader, cached uint8" in result.stdout
    assert "ratio original-style / reader cold:" in result.stdout
    assert os.path.isfile(tmp_path / "fer2013.csv")
    data = read_fer2013(tmp_path / "fer2013.csv", normalize=False)
    assert len(data.train) + len(data.test) == 300 and data.from_cache
