"""Photos for inference, and the one image-file reader every reader of this package uses.

`load_faces` turns any photos into model inputs: OpenCV reads them, OpenCV's Haar cascade finds the largest face,
the face is cropped with a margin, made square, resized and converted to gray or RGB. `read_image` decodes one file
to RGB (or gray) uint8 and turns every failure into a one-line `DataError` naming the file.

A photo larger than `MAX_IMAGE_PIXELS` (50 megapixels, e.g. 8660 x 5773) is refused before it is decoded: Pillow
reads only the header to learn the size, whereas decoding would take width x height x 3 bytes (and OpenCV accepts up
to a gigapixel, 3 GB) for a face that ends up 48 x 48.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from ccyclegan.errors import DataError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
HAAR_FACE_CASCADE = "haarcascade_frontalface_default.xml"
# The largest photo read_image and load_faces decode (width x height); pass max_pixels= to change it for one call.
MAX_IMAGE_PIXELS = 50_000_000

# A detector takes a gray uint8 image and returns face boxes (x, y, w, h).
FaceDetector = Callable[[np.ndarray], Sequence[Sequence[int]]]


class FaceDetectorUnavailable(RuntimeError):
    """The installed OpenCV has no Haar face cascade (OpenCV 5 moved it out of the main package)."""


@dataclass
class FaceBatch:
    """Face crops ready for a model: images uint8 (N, size, size, channels); boxes (N, 4) int x, y, w, h of each crop
    in its photo (after the margin); paths in input order."""

    images: np.ndarray
    paths: list[str]
    boxes: np.ndarray

    def __len__(self) -> int:
        return len(self.paths)


def read_image(path, *, channels: int = 3, max_pixels: int | None = MAX_IMAGE_PIXELS) -> np.ndarray:
    """Decode an image file to uint8 (H, W, 3) RGB or (H, W, 1) gray; any failure is a DataError naming the file.

    Colour files are converted to gray with OpenCV's luma weights and gray files are replicated to RGB, so the
    caller always gets the number of channels it asked for (the originals crashed on gray files). An image of more
    than `max_pixels` pixels (None: no limit) is refused from its header, before it takes the memory to decode it.
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (gray) or 3 (RGB), got {channels}")
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DataError(path, "no such image file" if not os.path.isdir(path) else "is a folder, expected an image")
    try:
        encoded = np.fromfile(path, dtype=np.uint8)
    except OSError as error:
        raise DataError(path, f"cannot be read ({error.strerror or error})") from None
    if encoded.size == 0:
        raise DataError(path, "is empty (0 bytes), expected an image")
    if max_pixels is not None:
        check_image_size(path, max_pixels)
    try:
        image = cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE if channels == 1 else cv2.IMREAD_COLOR)
    except cv2.error:
        image = None
    if image is None:
        raise DataError(path, "cannot be decoded as an image (corrupt, truncated or not an image file)")
    if max_pixels is not None and image.shape[0] * image.shape[1] > max_pixels:  # a format Pillow cannot read
        raise _too_large(path, image.shape[1], image.shape[0], max_pixels)
    if channels == 1:
        return image[..., np.newaxis]
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def check_image_size(path, max_pixels: int = MAX_IMAGE_PIXELS) -> tuple[int, int] | None:
    """Raise a DataError if the image file at `path` has more than `max_pixels` pixels, reading only its header.

    Returns (width, height), or None when Pillow cannot read the header (a format only OpenCV knows, or a corrupt
    file: the decoder then reports it).
    """
    path = os.fspath(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
    except Image.DecompressionBombError as error:
        # Pillow refuses above twice its own limit; that is over ours too unless the caller raised ours past it.
        pillow_refusal = 2 * Image.MAX_IMAGE_PIXELS if Image.MAX_IMAGE_PIXELS else None
        if pillow_refusal is None or max_pixels >= pillow_refusal:
            return None
        counted = re.search(r"\((\d+) pixels\)", str(error))  # Pillow says "Image size (N pixels) exceeds ..."
        pixels = int(counted.group(1)) if counted else pillow_refusal
        raise DataError(path, f"is {'' if counted else 'over '}{pixels / 1e6:,.0f} megapixels, more than the limit "
                              f"of {max_pixels / 1e6:g} megapixels for one photo; resize it first") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None
    if width * height > max_pixels:
        raise _too_large(path, width, height, max_pixels)
    return width, height


def _too_large(path: str, width: int, height: int, max_pixels: int) -> DataError:
    return DataError(path, f"is {width}x{height} ({width * height / 1e6:,.1f} megapixels), more than the limit of "
                           f"{max_pixels / 1e6:g} megapixels for one photo; resize it first")


def check_images_exist(paths: Sequence[str], sources: Sequence[tuple[str, int]] | None = None,
                       skip_bad: bool = False) -> np.ndarray:
    """Mask of `paths` that exist; a missing one raises (naming the list file and line in `sources`, if given)
    unless `skip_bad`."""
    usable = np.ones(len(paths), dtype=bool)
    for index, path in enumerate(paths):
        if not os.path.isfile(path):
            if not skip_bad:
                raise _listed_error(f"image {path} does not exist", path, sources, index)
            usable[index] = False
    return usable


def load_listed_images(paths: Sequence[str], sources: Sequence[tuple[str, int]] | None, *, load: bool, check: bool,
                       size: int | None = None, skip_bad: bool = False):
    """The images a data file lists: read them (`load`), or only check that they exist (`check`), or neither.

    Returns (uint8 RGB images or None, mask of usable paths), with the error conventions of `read_images`.
    """
    if load:
        return read_images(paths, channels=3, size=size, sources=sources, skip_bad=skip_bad)
    if check:
        return None, check_images_exist(paths, sources, skip_bad)
    return None, np.ones(len(paths), dtype=bool)


def read_images(paths: Sequence[str], *, channels: int = 3, size: int | None = None,
                sources: Sequence[tuple[str, int]] | None = None, skip_bad: bool = False):
    """Decode many image files into one uint8 array; returns (images of the usable paths, usable mask).

    size: resize each to size x size; without it all images must have the first one's size. sources: for each
    path, the (file, line) that named it, so that an error points at the listing as well as the image. skip_bad:
    leave out missing, unreadable and wrongly sized images (the mask says which) instead of raising.
    """
    usable = np.ones(len(paths), dtype=bool)
    images = None
    for index, path in enumerate(paths):
        try:
            if not os.path.isfile(path):
                raise _listed_error(f"image {path} does not exist", path, sources, index)
            try:
                image = read_image(path, channels=channels)
            except DataError as error:
                if sources is None:
                    raise
                raise _listed_error(str(error), path, sources, index) from None
            if size is not None:
                image = resize_image(image, size)
            if images is None:
                images = np.empty((len(paths), *image.shape), dtype=np.uint8)
            elif image.shape != images.shape[1:]:
                raise _listed_error(f"image {path} is {image.shape[1]}x{image.shape[0]}, the others are "
                                    f"{images.shape[2]}x{images.shape[1]}; pass size= to resize", path, sources, index)
        except DataError:
            if not skip_bad:
                raise
            usable[index] = False
            continue
        images[index] = image
    if images is None:
        return np.zeros((0, size or 1, size or 1, channels), np.uint8), usable
    return images[usable] if not usable.all() else images, usable


def _listed_error(message: str, path: str, sources, index: int) -> DataError:
    if sources is None:
        return DataError(path, message.removeprefix(f"image {path} ").removeprefix(f"{path}: "))
    source, line = sources[index]
    return DataError(source, message, line=line)


def resize_image(image: np.ndarray, size: int) -> np.ndarray:
    """Resize to size x size with area averaging when shrinking (no aliasing) and bilinear when enlarging."""
    height, width = image.shape[:2]
    if (height, width) == (size, size):
        return image
    method = cv2.INTER_AREA if size < min(height, width) else cv2.INTER_LINEAR
    resized = cv2.resize(image, (size, size), interpolation=method)
    return resized.reshape(size, size, image.shape[2]) if image.ndim == 3 else resized


def list_images(folder) -> list[str]:
    """The image files directly inside `folder`, sorted by name (hidden files skipped)."""
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise DataError(folder, "no such folder" if not os.path.exists(folder) else "is a file, expected a folder")
    return [os.path.join(folder, name) for name in sorted(os.listdir(folder))
            if not name.startswith(".") and name.lower().endswith(IMAGE_SUFFIXES)
            and os.path.isfile(os.path.join(folder, name))]


def image_files(path) -> list[str]:
    """The images an input path names: the file itself, or the image files directly inside a folder (sorted); an
    error names the path when it does not exist or the folder holds no image."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise DataError(path, "no such file or folder")
    if not os.path.isdir(path):
        return [path]
    files = list_images(path)
    if not files:
        raise DataError(path, f"no image files ({', '.join(IMAGE_SUFFIXES)}) in this folder")
    return files


def haar_face_detector(cascade_path=None, *, scale_factor: float = 1.1, min_neighbors: int = 5,
                       min_size: int = 30) -> FaceDetector:
    """OpenCV's frontal-face Haar cascade (the file shipped in `cv2.data.haarcascades`, or `cascade_path`)."""
    cascade_class = getattr(cv2, "CascadeClassifier", None) or getattr(getattr(cv2, "xobjdetect", None),
                                                                       "CascadeClassifier", None)
    default = os.path.join(getattr(getattr(cv2, "data", None), "haarcascades", ""), HAAR_FACE_CASCADE)
    path = os.fspath(cascade_path) if cascade_path is not None else default
    if cascade_class is None or not os.path.isfile(path):
        missing = "has no CascadeClassifier" if cascade_class is None else f"ships no {HAAR_FACE_CASCADE}"
        if cascade_path is not None and cascade_class is not None:
            raise DataError(path, "no such Haar cascade file")
        raise FaceDetectorUnavailable(
            f"OpenCV {cv2.__version__} {missing} (OpenCV 5 moved the Haar cascades to opencv-contrib); install "
            f"OpenCV 4 with `pip install 'opencv-python-headless>=4.9,<5'`, or pass detect=False for photos that are "
            f"already face crops, or detector= for another face detector")
    cascade = cascade_class(path)
    if cascade.empty():
        raise DataError(path, "is not a Haar cascade OpenCV can load")

    def detect(gray: np.ndarray):
        return cascade.detectMultiScale(cv2.equalizeHist(gray), scaleFactor=scale_factor, minNeighbors=min_neighbors,
                                        minSize=(min_size, min_size))

    return detect


def square_box(box, margin: float, height: int, width: int) -> tuple[int, int, int, int]:
    """The square around a face box grown by `margin` times its size on each side, moved (and if need be shrunk)
    to lie inside the photo."""
    x, y, w, h = (float(v) for v in box)
    side = min(round(max(w, h) * (1 + 2 * margin)), height, width)
    left = int(round(x + w / 2 - side / 2))
    top = int(round(y + h / 2 - side / 2))
    left = min(max(left, 0), width - side)
    top = min(max(top, 0), height - side)
    return left, top, side, side


def load_faces(paths_or_folder, *, size: int = 48, channels: int = 1, margin: float = 0.2, detect: bool = True,
               cascade_path=None, detector: FaceDetector | None = None,
               max_pixels: int | None = MAX_IMAGE_PIXELS) -> FaceBatch:
    """Face crops from a folder, one photo, or a list of photos, ready for a generator or classifier.

    detect=True finds the largest face with OpenCV's Haar cascade (or `detector`), grows its box by `margin` on each
    side and crops a square; a photo without a face is an error that names it. detect=False takes the centred
    square of each photo (for photos that are already face crops, e.g. FER2013 or UTKFace chips). A photo of more
    than `max_pixels` pixels is an error that names it, its size and the limit (see `MAX_IMAGE_PIXELS`).
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (gray) or 3 (RGB), got {channels}")
    if size <= 0 or margin < 0:
        raise ValueError(f"size must be positive and margin non-negative, got size={size}, margin={margin}")
    if isinstance(paths_or_folder, (str, os.PathLike)):
        single = os.fspath(paths_or_folder)
        paths = list_images(single) if os.path.isdir(single) else [single]
        if not paths:
            raise DataError(single, f"no image files ({', '.join(IMAGE_SUFFIXES)}) in this folder")
    else:
        paths = [os.fspath(p) for p in paths_or_folder]
        if not paths:
            raise ValueError("no photos given")
    if detect and detector is None:
        detector = haar_face_detector(cascade_path)

    images, boxes = [], []
    for path in paths:
        rgb = read_image(path, channels=3, max_pixels=max_pixels)
        height, width = rgb.shape[:2]
        if detect:
            faces = [tuple(int(v) for v in face) for face in detector(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))]
            if not faces:
                raise DataError(path, "no face found; crop the photo around the face, or pass detect=False if it "
                                      "is already a face crop")
            box = square_box(max(faces, key=lambda f: f[2] * f[3]), margin, height, width)
        else:
            box = square_box((0, 0, width, height), 0.0, height, width)
        left, top, side, _ = box
        crop = rgb[top:top + side, left:left + side]
        if channels == 1:
            crop = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)[..., np.newaxis]
        images.append(resize_image(crop, size))
        boxes.append(box)
    return FaceBatch(np.stack(images).astype(np.uint8), paths, np.array(boxes, dtype=np.int64))
