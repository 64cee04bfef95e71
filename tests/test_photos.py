"""Photos for inference: the shared image reader, face cropping with a margin, and the Haar cascade."""

import os
import struct
import zlib

import cv2
import numpy as np
import pytest

from ccyclegan.data import photos
from ccyclegan.data.photos import (
    MAX_IMAGE_PIXELS,
    FaceDetectorUnavailable,
    check_image_size,
    haar_face_detector,
    load_faces,
    read_image,
    read_images,
    resize_image,
    square_box,
)
from ccyclegan.errors import DataError


def write_rgb(path, rgb):
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


def grace_hopper():
    import matplotlib.cbook

    return matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)


def haar_or_skip():
    try:
        return haar_face_detector()
    except FaceDetectorUnavailable as error:
        pytest.skip(str(error))


# -------------------------------------------------------------------------------------------------------- read_image

def test_read_image_returns_rgb_not_bgr(tmp_path):
    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[..., 0] = 200  # red
    image = read_image(write_rgb(tmp_path / "red.png", rgb))
    assert image.shape == (4, 5, 3) and image.dtype == np.uint8
    assert image[0, 0].tolist() == [200, 0, 0]


def test_read_image_gray_file_as_rgb_and_rgb_file_as_gray(tmp_path):
    gray_path = tmp_path / "gray.png"
    cv2.imwrite(str(gray_path), np.full((3, 3), 90, np.uint8))
    assert read_image(gray_path).shape == (3, 3, 3) and read_image(gray_path).max() == 90
    rgb_path = write_rgb(tmp_path / "c.png", np.full((3, 3, 3), 120, np.uint8))
    assert read_image(rgb_path, channels=1).shape == (3, 3, 1)


@pytest.mark.parametrize(("content", "fragment"), [(b"", "is empty"), (b"GIF89 not really" * 10, "cannot be decoded"),
                                                   (b"\xff\xd8\xff\xe0" + b"\x00" * 50, "cannot be decoded")])
def test_corrupt_images_give_one_line_errors(tmp_path, content, fragment):
    path = tmp_path / "bad.jpg"
    path.write_bytes(content)
    with pytest.raises(DataError) as excinfo:
        read_image(path)
    assert str(excinfo.value).startswith(f"{path}: ") and fragment in str(excinfo.value)
    assert "\n" not in str(excinfo.value)


def test_missing_image_and_folder_instead_of_image(tmp_path):
    with pytest.raises(DataError, match="no such image file"):
        read_image(tmp_path / "none.jpg")
    with pytest.raises(DataError, match="is a folder"):
        read_image(tmp_path)


def test_resize_image_keeps_channel_axis():
    assert resize_image(np.zeros((100, 100, 1), np.uint8), 48).shape == (48, 48, 1)
    assert resize_image(np.zeros((10, 10, 3), np.uint8), 48).shape == (48, 48, 3)


# ------------------------------------------------------------------------------------------------ photo size limit

def png_header_only(path, width, height):
    """A PNG that declares width x height RGB but holds no pixel data: a few dozen bytes, so that any test that
    decoded it instead of refusing it from the header would fail with "cannot be decoded" rather than pass."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))
    return path


def test_the_limit_is_documented_and_fifty_megapixels():
    assert MAX_IMAGE_PIXELS == 50_000_000
    assert "50 megapixels" in photos.__doc__ and "max_pixels" in read_image.__doc__


def test_a_photo_over_the_limit_is_refused_from_its_header_with_its_size(tmp_path):
    path = png_header_only(tmp_path / "panorama.png", 9000, 6000)
    assert path.stat().st_size < 100
    with pytest.raises(DataError) as excinfo:
        read_image(path)
    assert str(excinfo.value) == (f"{path}: is 9000x6000 (54.0 megapixels), more than the limit of 50 megapixels "
                                  f"for one photo; resize it first")
    assert check_image_size(png_header_only(tmp_path / "ok.png", 5000, 4000)) == (5000, 4000)


def test_a_photo_over_pillows_own_refusal_still_names_its_size(tmp_path):
    path = png_header_only(tmp_path / "bomb.png", 40000, 30000)  # 1.2 gigapixels: Pillow itself refuses it
    with pytest.raises(DataError, match=r"bomb\.png: is 1,200 megapixels, more than the limit of 50 megapixels"):
        read_image(path, channels=1)


def test_a_real_large_photo_is_refused_and_a_lower_limit_applies(tmp_path):
    from PIL import Image

    path = tmp_path / "big.png"
    Image.new("1", (8000, 6500)).save(path)  # 6.5 MB in memory as 1 bit per pixel, a few kB on disk
    assert path.stat().st_size < 200_000
    with pytest.raises(DataError, match=r"big\.png: is 8000x6500 \(52\.0 megapixels\)"):
        read_image(path)
    small = write_rgb(tmp_path / "small.png", np.zeros((4, 5, 3), np.uint8))
    assert read_image(small).shape == (4, 5, 3)
    with pytest.raises(DataError, match=r"small\.png: is 5x4 \(0\.0 megapixels\), more than the limit of 1e-05"):
        read_image(small, max_pixels=10)
    assert read_image(small, max_pixels=None).shape == (4, 5, 3)


def test_load_faces_and_listed_images_name_the_oversized_photo(tmp_path):
    write_rgb(tmp_path / "a.png", np.zeros((8, 8, 3), np.uint8))
    huge = png_header_only(tmp_path / "b.png", 10000, 10000)
    with pytest.raises(DataError, match=r"b\.png: is 10000x10000 \(100\.0 megapixels\)"):
        load_faces(tmp_path, detect=False)
    assert load_faces(tmp_path / "a.png", detect=False, max_pixels=100).images.shape == (1, 48, 48, 1)
    with pytest.raises(DataError, match=r"list\.txt:7: .*b\.png: is 10000x10000"):
        read_images([str(huge)], sources=[(str(tmp_path / "list.txt"), 7)])


def test_files_pillow_cannot_read_are_left_to_the_decoder(tmp_path):
    path = tmp_path / "odd.jpg"
    path.write_bytes(b"not an image at all")
    assert check_image_size(path) is None
    with pytest.raises(DataError, match="cannot be decoded"):
        read_image(path)


# ---------------------------------------------------------------------------------------------------------- cropping

def test_square_box_grows_by_margin_and_stays_inside():
    assert square_box((40, 40, 20, 20), 0.5, 100, 100) == (30, 30, 40, 40)
    assert square_box((0, 0, 20, 20), 0.5, 100, 100) == (0, 0, 40, 40)  # moved inside, not cut
    assert square_box((90, 10, 10, 30), 0.0, 100, 100) == (70, 10, 30, 30)  # centred at x=95, moved left
    assert square_box((0, 0, 100, 60), 0.2, 60, 100) == (20, 0, 60, 60)  # larger than the photo: shrunk


def test_load_faces_without_detection_takes_the_centred_square(tmp_path):
    rgb = np.zeros((60, 100, 3), np.uint8)
    rgb[:, 20:80] = 255  # the centred 60x60 square is white
    write_rgb(tmp_path / "b.png", rgb)
    write_rgb(tmp_path / "a.png", rgb)
    (tmp_path / "notes.txt").write_text("not an image")
    batch = load_faces(tmp_path, size=32, channels=1, detect=False)
    assert [os.path.basename(p) for p in batch.paths] == ["a.png", "b.png"]
    assert batch.images.shape == (2, 32, 32, 1) and batch.images.dtype == np.uint8
    assert batch.images.min() == 255 and batch.boxes.tolist() == [[20, 0, 60, 60]] * 2
    assert load_faces([tmp_path / "a.png"], size=16, channels=3, detect=False).images.shape == (1, 16, 16, 3)


def test_load_faces_crops_the_largest_detected_face(tmp_path):
    rgb = np.zeros((200, 200, 3), np.uint8)
    rgb[50:150, 60:160] = 200  # the big "face"
    path = write_rgb(tmp_path / "p.png", rgb)

    def two_faces(gray):
        assert gray.ndim == 2
        return [(0, 0, 10, 10), (60, 50, 100, 100)]

    batch = load_faces(path, size=20, channels=3, margin=0.0, detector=two_faces)
    assert batch.boxes.tolist() == [[60, 50, 100, 100]]
    assert batch.images.min() == 200
    wider = load_faces(path, size=20, margin=0.25, detector=two_faces)
    assert wider.boxes.tolist() == [[35, 25, 150, 150]] and wider.images.min() == 0  # the margin shows background


def test_photo_without_a_face_names_it_and_suggests_detect_false(tmp_path):
    path = write_rgb(tmp_path / "wall.png", np.full((50, 50, 3), 30, np.uint8))
    with pytest.raises(DataError) as excinfo:
        load_faces([path], detector=lambda gray: [])
    assert str(excinfo.value).startswith(f"{path}: no face found") and "detect=False" in str(excinfo.value)


def test_corrupt_photo_in_a_folder_is_named(tmp_path):
    write_rgb(tmp_path / "a.png", np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "b.jpg").write_bytes(b"broken")
    with pytest.raises(DataError, match=r"b\.jpg: cannot be decoded"):
        load_faces(tmp_path, detect=False)


def test_empty_folder_and_missing_path(tmp_path):
    with pytest.raises(DataError, match="no image files"):
        load_faces(tmp_path, detect=False)
    with pytest.raises(DataError, match="no such image file"):
        load_faces(tmp_path / "missing.jpg", detect=False)
    with pytest.raises(ValueError, match="channels"):
        load_faces(tmp_path, channels=2)


# ------------------------------------------------------------------------------------------------------ Haar cascade

def test_missing_haar_cascade_explains_what_to_do(monkeypatch, tmp_path):
    monkeypatch.delattr(cv2, "CascadeClassifier", raising=False)
    monkeypatch.setattr(cv2, "xobjdetect", None, raising=False)
    with pytest.raises(FaceDetectorUnavailable) as excinfo:
        load_faces(grace_hopper())
    message = str(excinfo.value)
    assert cv2.__version__ in message and "opencv-python-headless>=4.9,<5" in message and "detect=False" in message


def test_haar_cascade_path_that_does_not_exist(monkeypatch, tmp_path):
    monkeypatch.setattr(cv2, "CascadeClassifier", lambda path: None, raising=False)
    with pytest.raises(DataError, match="no such Haar cascade file"):
        haar_face_detector(tmp_path / "none.xml")


def test_haar_cascade_finds_the_face_in_a_portrait():
    detector = haar_or_skip()
    batch = load_faces(grace_hopper(), size=48, channels=1, detector=detector)
    x, y, w, h = batch.boxes[0]
    photo_h, photo_w = read_image(grace_hopper()).shape[:2]
    assert w == h and 150 < w <= min(photo_h, photo_w)
    assert abs((x + w / 2) - photo_w / 2) < photo_w / 4  # the face is in the middle of the portrait
    assert batch.images.shape == (1, 48, 48, 1) and batch.images.std() > 20


def test_haar_cascade_on_a_blank_photo_reports_no_face(tmp_path):
    detector = haar_or_skip()
    path = write_rgb(tmp_path / "blank.png", np.full((120, 120, 3), 128, np.uint8))
    with pytest.raises(DataError, match="no face found"):
        load_faces(path, detector=detector)


def test_module_lists_only_image_suffixes():
    assert ".jpg" in photos.IMAGE_SUFFIXES and ".txt" not in photos.IMAGE_SUFFIXES
