"""UTKFace folder reader: name parsing, domain presets and specs, malformed names, images."""

import cv2
import numpy as np
import pytest

from ccyclegan.data.utkface import (
    DOMAIN_PRESETS,
    UTKFaceLabel,
    domain_predicate,
    parse_utkface_name,
    read_utkface,
)
from ccyclegan.errors import DataError

STAMP = "20170116174525125"


def write_faces(folder, names, size=10, seed=0):
    rng = np.random.default_rng(seed)
    for name in names:
        assert cv2.imwrite(str(folder / "tmp.jpg"), rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
        (folder / "tmp.jpg").rename(folder / name)  # cv2 picks the codec from the last suffix; chips end in .jpg
    return folder


def chip(age, gender, race, index=0):
    return f"{age}_{gender}_{race}_{STAMP[:-2]}{index:02d}.jpg.chip.jpg"


def test_parse_chip_and_plain_names():
    assert parse_utkface_name("23_1_2_20170116174525125.jpg.chip.jpg") == UTKFaceLabel(23, 1, 2, STAMP)
    assert parse_utkface_name("/data/UTKFace/100_0_0_20170112213500903.jpg").age == 100


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("39_1_20170116174525125.jpg.chip.jpg", "3 field(s)"),  # real UTKFace file without a race
        ("KakaoTalk_20180401_123456_789.jpg", "age 'KakaoTalk'"),
        ("23_2_0_20170116174525125.jpg", "gender '2'"),
        ("23_0_5_20170116174525125.jpg", "race '5'"),
        ("130_0_0_20170116174525125.jpg", "age '130'"),
        ("23_0_0_2017x.jpg", "date-time '2017x'"),
        ("23_0_0_20170116174525125.txt", "no image extension"),
    ],
)
def test_malformed_names_say_what_is_wrong(name, fragment):
    with pytest.raises(ValueError) as excinfo:
        parse_utkface_name(name)
    assert name in str(excinfo.value) and fragment in str(excinfo.value)


def test_age_preset_splits_20s_from_50s_and_reads_rgb(tmp_path):
    names = [chip(20, 0, 0), chip(29, 1, 1), chip(35, 0, 0), chip(50, 1, 2), chip(59, 0, 3), chip(60, 0, 0)]
    write_faces(tmp_path, names)
    data = read_utkface(tmp_path, "age")
    assert [label.age for label in data.labels_a] == [20, 29] and [label.age for label in data.labels_b] == [50, 59]
    assert data.unmatched == 2 and data.skipped == 0
    assert data.domain_a == "age 20..29" and data.domain_b == "age 50..59"
    assert data.images_a.shape == (2, 10, 10, 3) and data.images_a.dtype == np.uint8
    np.testing.assert_array_equal(data.images_b[0], cv2.imread(data.paths_b[0])[..., ::-1])  # RGB, not BGR


@pytest.mark.parametrize(("preset", "attribute"), [("gender", "gender"), ("ethnicity", "race")])
def test_gender_and_ethnicity_presets(tmp_path, preset, attribute):
    write_faces(tmp_path, [chip(30, 0, 0), chip(30, 1, 1), chip(40, 1, 0, 1), chip(40, 0, 2, 1)])
    data = read_utkface(tmp_path, preset, preset, load_images=False)
    assert {getattr(label, attribute) for label in data.labels_a} == {0}
    assert {getattr(label, attribute) for label in data.labels_b} == {1}
    assert data.images_a is None and len(data.paths_a) == 2
    assert DOMAIN_PRESETS[preset][1](data.labels_b[0])


def test_custom_predicate_and_specs(tmp_path):
    write_faces(tmp_path, [chip(5, 0, 0), chip(70, 1, 4), chip(71, 0, 4, 1)])

    def child(label):
        return label.age < 10

    data = read_utkface(tmp_path, child, "age=70-79", load_images=False)
    assert len(data.paths_a) == 1 and len(data.paths_b) == 2 and data.domain_a == "child"
    assert domain_predicate("race=4")(UTKFaceLabel(1, 0, 4)) and not domain_predicate("gender=1")(UTKFaceLabel(1, 0, 4))
    with pytest.raises(ValueError, match="unknown domain 'old'"):
        read_utkface(tmp_path, "old", "age")
    with pytest.raises(ValueError, match="domain_b is needed"):
        read_utkface(tmp_path, child)


def test_malformed_names_are_listed_not_guessed(tmp_path):
    bad = ["39_1_20170116174525125.jpg.chip.jpg", "61_1_20170109150557335.jpg.chip.jpg",
           "61_3_20170109142408075.jpg.chip.jpg", "KakaoTalk_20180401.jpg"]
    write_faces(tmp_path, [chip(20, 0, 0), chip(50, 0, 0), *bad])
    (tmp_path / "README.txt").write_text("not an image: ignored")
    with pytest.raises(DataError) as excinfo:
        read_utkface(tmp_path, "age")
    message = str(excinfo.value)
    assert message.startswith(f"{tmp_path}: 4 file name(s) do not follow") and "\n" not in message
    assert "39_1_20170116174525125" in message and "and 1 more" in message and "skip_bad_names=True" in message
    data = read_utkface(tmp_path, "age", skip_bad_names=True)
    assert data.skipped == 4 and len(data.skipped_names) == 4 and len(data.paths_a) == len(data.paths_b) == 1


def test_in_the_wild_photos_of_different_sizes_need_size(tmp_path):
    write_faces(tmp_path, [chip(20, 0, 0)], size=10)
    write_faces(tmp_path, [f"21_0_0_{STAMP}.jpg"], size=14)
    write_faces(tmp_path, [chip(55, 0, 0)], size=10)
    with pytest.raises(DataError, match="is 14x14, the others are 10x10; pass size="):
        read_utkface(tmp_path, "age")
    data = read_utkface(tmp_path, "age", size=8)
    assert data.images_a.shape == (2, 8, 8, 3) and data.images_b.shape == (1, 8, 8, 3)


def test_empty_domain_missing_folder_and_corrupt_image(tmp_path):
    write_faces(tmp_path, [chip(20, 0, 0), chip(25, 1, 0)])
    with pytest.raises(DataError, match=r"no face of the 2 well-named ones is in domain B \(age 50..59\)"):
        read_utkface(tmp_path, "age")
    with pytest.raises(DataError, match="no such folder"):
        read_utkface(tmp_path / "none", "age")
    (tmp_path / chip(52, 0, 0)).write_bytes(b"broken jpeg")
    with pytest.raises(DataError, match=r"52_0_0_.*cannot be decoded"):
        read_utkface(tmp_path, "age")


def test_folder_without_images(tmp_path):
    with pytest.raises(DataError, match="no image files named"):
        read_utkface(tmp_path, "gender")
