"""Reader of OpenFace 2.x FeatureExtraction output: a CSV of per-frame AUs plus a folder of aligned faces.

The layout the AU-conditioned GAN expects (run `FeatureExtraction -fdir EmotioNet` inside each data folder):

    <root>/<folder>/processed/EmotioNet.csv                       frame, face_id, ..., success, AU01_r .. AU45_c
    <root>/<folder>/processed/EmotioNet_aligned/frame_det_00_000001.bmp   112x112 aligned face of frame 1

Header names carry a space after each comma; they are stripped. Rows with `success == 0` (OpenFace found no face)
are dropped and counted. The 17 AUs come in OpenFace order (`ccyclegan.labels.AU_CODES`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ccyclegan.data.photos import load_listed_images
from ccyclegan.errors import DataError
from ccyclegan.labels import AU_CODES, AU_MAX_INTENSITY, NUM_AUS

AU_NORMALIZATIONS = ("5", "column_max", "none")
AU_KINDS = {"intensity": "_r", "presence": "_c"}
IMAGE_NAME = "frame_det_{face:02d}_{frame:06d}.bmp"
_HINT = "run OpenFace's FeatureExtraction on the image folder; see datasets/README.md"


@dataclass
class OpenFaceData:
    """Faces and their AU vectors, one entry per successfully tracked OpenFace row, in file order.

    images: uint8 (N, H, W, 3) RGB, or None when load_images=False; aus: float32 (N, 17) in OpenFace order;
    frames: int64 (N,) OpenFace frame numbers (1-based); image_paths: the aligned face of each row;
    dropped_unsuccessful: rows with success == 0; skipped: malformed rows skipped because skip_bad_rows=True.
    """

    images: np.ndarray | None
    aus: np.ndarray
    frames: np.ndarray
    image_paths: list[str]
    dropped_unsuccessful: int = 0
    skipped: int = 0

    def __len__(self) -> int:
        return len(self.aus)


def au_column_names(au_kind: str = "intensity") -> list[str]:
    """`AU01_r` .. `AU45_r` (intensity) or `AU01_c` .. `AU45_c` (presence; AU28_c has no intensity and is left out)."""
    if au_kind not in AU_KINDS:
        raise ValueError(f"au_kind must be one of {tuple(AU_KINDS)}, got {au_kind!r}")
    return [f"AU{code:02d}{AU_KINDS[au_kind]}" for code in AU_CODES]


def normalize_aus(aus: np.ndarray, au_normalization: str = "5", au_kind: str = "intensity") -> np.ndarray:
    """Scale AU intensities: "5" divides by 5 (0..5 -> 0..1, as GANimation); "column_max" divides each AU by its
    largest value in the data (the original AU-GAN at HEAD; a column whose max is 0 is left as is); "none" keeps the
    raw 0..5. Presence values (0/1) are returned unchanged."""
    if au_normalization not in AU_NORMALIZATIONS:
        raise ValueError(f"au_normalization must be one of {AU_NORMALIZATIONS}, got {au_normalization!r}")
    aus = np.asarray(aus, dtype=np.float32)
    if au_kind == "presence" or au_normalization == "none":
        return aus
    if au_normalization == "5":
        return aus / np.float32(AU_MAX_INTENSITY)
    column_max = aus.max(axis=0) if len(aus) else np.zeros(aus.shape[1], np.float32)
    return aus / np.where(column_max > 0, column_max, np.float32(1.0))


def read_openface(csv_path, image_dir=None, *, au_normalization: str = "5", load_images: bool = True,
                  skip_bad_rows: bool = False, au_kind: str = "intensity", size: int | None = None,
                  check_images: bool = True) -> OpenFaceData:
    """Read one OpenFace CSV and its aligned faces (default folder: `<csv stem>_aligned` next to the CSV).

    au_kind: "intensity" (`AUxx_r`, 0..5, default) or "presence" (`AUxx_c`, 0/1, what the original's working
        PyTorch models used). au_normalization: see `normalize_aus`.
    size: resize every face to size x size (default: keep; then all faces must have the same size).
    check_images: with load_images=False, still check that every face file exists (cheap; catches a wrong folder
        before training starts).
    skip_bad_rows: skip malformed rows, rows whose face file is missing or unreadable, and count them in `.skipped`.
    """
    data = _read_one(csv_path, image_dir, load_images=load_images, skip_bad_rows=skip_bad_rows, au_kind=au_kind,
                     size=size, check_images=check_images)
    data.aus = normalize_aus(data.aus, au_normalization, au_kind)
    return data


def read_openface_root(root, *, csv_name: str = "EmotioNet.csv", au_normalization: str = "5",
                       **options) -> OpenFaceData:
    """Read every `<root>/<folder>/processed/<csv_name>` with its `<stem>_aligned/` faces, folders in name order.

    "column_max" normalisation uses the maximum over all folders together, as the original did. Hidden folders
    (e.g. `.git`) are ignored; any other folder without the CSV is an error, so that no data is silently left out.
    """
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise DataError(root, "no such folder" if not os.path.exists(root) else "is a file, expected a folder")
    if "image_dir" in options:
        raise ValueError("read_openface_root finds each folder's aligned faces itself; image_dir is not accepted")
    folders = sorted(name for name in os.listdir(root)
                     if not name.startswith(".") and os.path.isdir(os.path.join(root, name)))
    if not folders:
        raise DataError(root, f"no data folders; expected <root>/<folder>/processed/{csv_name}; {_HINT}")
    parts = []
    for folder in folders:
        csv_path = os.path.join(root, folder, "processed", csv_name)
        if not os.path.isfile(csv_path):
            raise DataError(os.path.join(root, folder),
                            f"has no processed/{csv_name}: every folder of {root} must hold OpenFace output; {_HINT}")
        parts.append(_read_one(csv_path, None, **options))
    aus = np.concatenate([p.aus for p in parts])
    images = None if parts[0].images is None else _stack_same_size([p.images for p in parts], parts)
    return OpenFaceData(
        images=images,
        aus=normalize_aus(aus, au_normalization, options.get("au_kind", "intensity")),
        frames=np.concatenate([p.frames for p in parts]),
        image_paths=[path for p in parts for path in p.image_paths],
        dropped_unsuccessful=sum(p.dropped_unsuccessful for p in parts),
        skipped=sum(p.skipped for p in parts),
    )


# ------------------------------------------------------------------------------------------------------------- parsing

def _read_one(csv_path, image_dir, *, load_images: bool = True, skip_bad_rows: bool = False,
              au_kind: str = "intensity", size: int | None = None, check_images: bool = True) -> OpenFaceData:
    """One CSV + its faces, AUs raw (0..5 or 0/1)."""
    csv_path = os.fspath(csv_path)
    if not os.path.isfile(csv_path):
        raise DataError(csv_path, f"no such OpenFace CSV; {_HINT}")
    au_columns = au_column_names(au_kind)
    header = _read_header(csv_path)
    has_face_id = "face_id" in header
    wanted = ["frame", "success", *au_columns] + (["face_id"] if has_face_id else [])
    missing = [name for name in wanted if name not in header]
    if missing:
        raise DataError(csv_path, f"missing OpenFace column(s) {', '.join(missing)}; found {len(header)} columns "
                                  f"starting {', '.join(header[:5])}", line=1)
    table = _read_columns(csv_path, header, wanted)
    widths = _field_counts(csv_path)
    if len(widths) != len(table):
        raise DataError(csv_path, f"{len(widths)} lines but {len(table)} CSV rows: quoted line breaks are not "
                                  f"OpenFace output")
    values = np.column_stack([pd.to_numeric(table[name], errors="coerce").to_numpy(np.float64) for name in wanted])
    valid = _valid_values(values, wanted, au_kind)
    keep = valid.all(axis=1) & (widths == len(header))
    bad_rows = np.flatnonzero(~keep)
    if bad_rows.size and not skip_bad_rows:
        row = bad_rows[0]
        if widths[row] == 0:
            problem = "blank line; expected an OpenFace row"
        elif widths[row] != len(header):
            problem = f"row has {widths[row]} values, the header has {len(header)} columns"
        else:
            problem = _describe_row(table.iloc[row], values[row], valid[row], wanted)
        raise DataError(csv_path, problem, line=row + 2)
    skipped = int(bad_rows.size)
    successful = keep & (values[:, 1] == 1)
    dropped_unsuccessful = int(np.count_nonzero(keep & (values[:, 1] == 0)))
    rows = np.flatnonzero(successful)

    frames = values[rows, 0].astype(np.int64)
    faces = values[rows, wanted.index("face_id")].astype(np.int64) if has_face_id else np.zeros_like(frames)
    aus = values[rows, 2:2 + NUM_AUS].astype(np.float32)
    if load_images or check_images:
        image_dir = _image_dir(csv_path, image_dir)
    elif image_dir is None:
        image_dir = _default_image_dir(csv_path)
    paths = [os.path.join(image_dir, IMAGE_NAME.format(face=face, frame=frame)) for face, frame in zip(faces, frames)]

    sources = [(csv_path, int(row) + 2) for row in rows]
    images, usable = load_listed_images(paths, sources, load=load_images, check=check_images, size=size,
                                        skip_bad=skip_bad_rows)
    skipped += int(np.count_nonzero(~usable))
    if not usable.all():
        frames, aus = frames[usable], aus[usable]
        paths = [path for path, ok in zip(paths, usable) if ok]
    if len(frames) == 0:
        raise DataError(csv_path, f"no usable rows: {dropped_unsuccessful} with success == 0, {skipped} malformed")
    return OpenFaceData(images, aus, frames, paths, dropped_unsuccessful, skipped)


def _read_header(csv_path: str) -> list[str]:
    with open(csv_path, encoding="utf-8", errors="replace") as file:
        line = file.readline()
    names = [name.strip() for name in line.lstrip("\ufeff").split(",")]
    if not line.strip():
        raise DataError(csv_path, f"the file is empty; expected OpenFace's header (frame, face_id, timestamp, "
                                  f"confidence, success, ..., AU01_r, ...); {_HINT}", line=1)
    return names


def _read_columns(csv_path: str, header: list[str], wanted: list[str]) -> pd.DataFrame:
    """The wanted columns as text (so that every bad value can be quoted), one row per line after the header."""
    positions = [header.index(name) for name in wanted]
    try:
        table = pd.read_csv(csv_path, usecols=positions, header=0, dtype=str, skipinitialspace=True,
                            skip_blank_lines=False, keep_default_na=False, engine="c")
    except pd.errors.ParserError as error:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(error))
        if found:
            expected, line, saw = found.groups()
            raise DataError(csv_path, f"row has {saw} values, the header has {expected} columns",
                            line=int(line)) from None
        raise DataError(csv_path, f"cannot be parsed as CSV ({str(error).strip()})") from None
    except (UnicodeDecodeError, pd.errors.EmptyDataError) as error:
        raise DataError(csv_path, f"cannot be parsed as CSV ({error})") from None
    table.columns = [name.strip() for name in table.columns]
    return table[wanted]


def _field_counts(csv_path: str) -> np.ndarray:
    """Values per data line (0 for a blank line): pandas drops a row's extra values silently when reading columns
    by position, so the width of every row is checked here."""
    with open(csv_path, "rb") as file:
        file.readline()
        return np.array([line.count(b",") + 1 if line.strip() else 0 for line in file], dtype=np.int64)


def _valid_values(values: np.ndarray, wanted: list[str], au_kind: str) -> np.ndarray:
    """Per value: is it a number in its column's range? (frame > 0 integer, success 0/1, AUs 0..5 or 0/1.)"""
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(values)
        frame, success, aus = values[:, 0], values[:, 1], values[:, 2:2 + NUM_AUS]
        valid[:, 0] &= (frame >= 0) & (frame == np.round(frame))
        valid[:, 1] &= (success == 0) | (success == 1)
        if au_kind == "presence":
            valid[:, 2:2 + NUM_AUS] &= (aus == 0) | (aus == 1)
        else:
            valid[:, 2:2 + NUM_AUS] &= (aus >= 0) & (aus <= AU_MAX_INTENSITY)
        if len(wanted) > 2 + NUM_AUS:  # face_id
            valid[:, -1] &= (values[:, -1] >= 0) & (values[:, -1] == np.round(values[:, -1]))
    return valid


def _describe_row(raw: pd.Series, values: np.ndarray, valid: np.ndarray, wanted: list[str]) -> str:
    column = int(np.flatnonzero(~valid)[0])
    name, text = wanted[column], raw.iloc[column]
    if _blank(text):
        return f"{name} is empty, expected a number"
    if not np.isfinite(values[column]):
        return f"{name} is {str(text)[:30]!r}, not a number"
    expected = {"frame": "a non-negative integer", "success": "0 or 1", "face_id": "a non-negative integer"}
    return f"{name} = {text} is outside the expected range ({expected.get(name, _au_range(name))})"


def _blank(text) -> bool:
    return text is None or bool(pd.isna(text)) or not str(text).strip()


def _au_range(name: str) -> str:
    return "0 or 1" if name.endswith("_c") else f"0..{AU_MAX_INTENSITY:g}"


# -------------------------------------------------------------------------------------------------------------- images

def _default_image_dir(csv_path: str) -> str:
    return os.path.splitext(csv_path)[0] + "_aligned"


def _image_dir(csv_path: str, image_dir) -> str:
    folder = os.fspath(image_dir) if image_dir is not None else _default_image_dir(csv_path)
    if not os.path.isdir(folder):
        raise DataError(folder, f"no such folder of aligned faces for {os.path.basename(csv_path)} (OpenFace writes "
                                f"<name>_aligned/ next to <name>.csv); pass image_dir= if they are elsewhere")
    return folder


def _stack_same_size(arrays: list[np.ndarray], parts: list[OpenFaceData]) -> np.ndarray:
    shapes = {a.shape[1:] for a in arrays if len(a)}
    if len(shapes) > 1:
        first = {a.shape[1:]: p.image_paths[0] for a, p in zip(arrays, parts) if len(a)}
        raise DataError(next(iter(first.values())), f"folders hold faces of different sizes {sorted(shapes)}; "
                                                    f"pass size= to resize them all")
    return np.concatenate(arrays)
