"""Write synthetic faces in the exact format of each real data set, with a ground-truth sidecar beside it.

The sidecar (`<data file>.records.jsonl`, one JSON FaceRecord per line, in the data set's own order) lets
`true_translation` re-render any sample with another expression. Each record's `name` is the identifier the format
itself uses: the 0-based data row for FER2013, the image file name for the others.

Formats (see /work/shared/reference and docs/synthetic.md):
  fer2013    <out>/fer2013.csv: `emotion,pixels,Usage`, 2,304 space-separated gray values per row, Training rows then
             PublicTest then PrivateTest in the real proportions 28,709 / 3,589 / 3,589 of 35,887.
  openface   <out>/<subdir>/processed/EmotioNet.csv (OpenFace 2.x FeatureExtraction columns, ", " separated) and
             <out>/<subdir>/processed/EmotioNet_aligned/frame_det_00_%06d.bmp (112x112 RGB, black outside the face).
  ganimation <out>/list_attr_synthetic.txt (`<file> v1 .. v17`, raw 0..5 intensities with 2 decimals, after 2 header
             lines as StarGAN's CelebA attribute file, or none) and <out>/images_aligned/<file> (128x128 RGB).
  utkface    <out>/UTKFace/<age>_<gender>_<race>_<yyyymmddHHMMSSFFF>.jpg.chip.jpg (200x200 RGB).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from ccyclegan.data.synthetic_faces import make_faces, with_names
from ccyclegan.data.synthetic_model import FaceRecord
from ccyclegan.errors import DataError
from ccyclegan.labels import AU_CODES

FER2013_SPLITS = (("Training", 28709), ("PublicTest", 3589), ("PrivateTest", 3589))
FER2013_ROWS = sum(count for _, count in FER2013_SPLITS)
OPENFACE_CSV_NAME = "EmotioNet.csv"
OPENFACE_ALIGNED_DIR = "EmotioNet_aligned"
OPENFACE_FRAME_PATTERN = "frame_det_00_{:06d}.bmp"
AU_FILE_NAME = "list_attr_synthetic.txt"
AU_IMAGE_DIR = "images_aligned"
UTKFACE_DIR = "UTKFace"
UTKFACE_TASKS = ("age", "gender", "ethnicity")
AU_PRESENCE_THRESHOLD = 1.0  # AUxx_c = 1 when the intensity is at least this (OpenFace's presence is a classifier)
# Zoom (1.0 = FER2013's tight crop) and size of each format's faces.
OPENFACE_ZOOM, GANIMATION_ZOOM, UTKFACE_ZOOM = 0.95, 0.85, 0.8
_PIXEL_TEXT = np.array([str(v) for v in range(256)], dtype=object)


# --- sidecars ------------------------------------------------------------------------------------------------------


def records_path(data_path) -> Path:
    """The ground-truth sidecar of a data file or folder: `fer2013.csv` -> `fer2013.records.jsonl` beside it."""
    path = Path(data_path)
    stem = path.name.split(".")[0] if path.suffix else path.name
    return path.with_name(stem + ".records.jsonl")


def save_records(path, records: Sequence[FaceRecord]) -> Path:
    path = Path(path)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for record in records:
            f.write(json.dumps(record.to_dict(), separators=(",", ":")) + "\n")
    return path


def load_records(sidecar_path) -> list[FaceRecord]:
    """The FaceRecords of a sidecar written next to a synthetic data set, in the data set's order."""
    path = Path(sidecar_path)
    if not path.is_file():
        raise DataError(path, "no such ground-truth sidecar (written by ccyclegan.data.synthetic next to the data)")
    records = []
    with open(path, encoding="utf-8") as f:
        for line_number, line in enumerate(f, start=1):
            if not line.strip():
                raise DataError(path, "empty line; expected one JSON face record per line", line_number)
            try:
                records.append(FaceRecord.from_dict(json.loads(line)))
            except json.JSONDecodeError as e:
                raise DataError(path, f"not valid JSON ({e.msg} at column {e.colno})", line_number) from None
            except (ValueError, TypeError, KeyError) as e:
                raise DataError(path, str(e), line_number) from None
    if not records:
        raise DataError(path, "no face records in the file")
    return records


def _write_image(path: Path, image: np.ndarray, jpeg_quality: int = 95) -> None:
    bgr = image[..., ::-1] if image.shape[-1] == 3 else image
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)] if path.suffix.lower() in (".jpg", ".jpeg") else []
    if not cv2.imwrite(str(path), np.ascontiguousarray(bgr), params):
        raise OSError(f"{path}: OpenCV could not write the image")


def _check_count(n: int) -> None:
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive number of faces, got {n!r}")


# --- FER2013 -------------------------------------------------------------------------------------------------------


def fer2013_split_sizes(n: int) -> list[tuple[str, int]]:
    """Usage counts for n rows in the real proportions (35,887 -> 28,709 / 3,589 / 3,589)."""
    test = round(n * FER2013_SPLITS[1][1] / FER2013_ROWS)
    return [("Training", n - 2 * test), ("PublicTest", test), ("PrivateTest", test)]


def write_fer2013(out_dir, n: int = FER2013_ROWS, seed: int = 0, *, class_frequencies="uniform",
                  nuisance_strength: float = 1.0, progress: bool = False) -> Path:
    """`<out_dir>/fer2013.csv` of n 48x48 gray faces (+ `fer2013.records.jsonl`); returns the CSV path."""
    _check_count(n)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    faces = make_faces(n, seed=seed, size=48, channels=1, labels="fer", class_frequencies=class_frequencies,
                       nuisance_strength=nuisance_strength, progress=progress)
    usage = [name for name, count in fer2013_split_sizes(n) for _ in range(count)]
    csv_path = out / "fer2013.csv"
    pixels = faces.images.reshape(n, -1)
    with open(csv_path, "w", encoding="ascii", newline="\n") as f:
        f.write("emotion,pixels,Usage\n")
        for label, row, split in zip(faces.labels.tolist(), pixels, usage):
            f.write(f"{label},{' '.join(_PIXEL_TEXT[row])},{split}\n")
    save_records(records_path(csv_path), with_names(faces.records, [str(i) for i in range(n)]))
    return csv_path


# --- OpenFace (EmotioNet layout) -----------------------------------------------------------------------------------


def openface_columns() -> list[str]:
    """OpenFace 2.x FeatureExtraction columns this writer fills (landmark and shape columns are left out)."""
    gaze = [f"gaze_{e}_{a}" for e in (0, 1) for a in "xyz"] + ["gaze_angle_x", "gaze_angle_y"]
    pose = [f"pose_{k}" for k in ("Tx", "Ty", "Tz", "Rx", "Ry", "Rz")]
    intensity = [f"AU{c:02d}_r" for c in AU_CODES]
    presence = [f"AU{c:02d}_c" for c in AU_CODES if c != 45] + ["AU28_c", "AU45_c"]
    return ["frame", "face_id", "timestamp", "confidence", "success"] + gaze + pose + intensity + presence


def write_openface(out_dir, n: int, seed: int = 0, *, size: int = 112, subdirs: int = 1, labels="sparse_aus",
                   nuisance_strength: float = 1.0, progress: bool = False) -> Path:
    """OpenFace output for n faces split over `subdirs` folders `<out>/dataFile_XXXX/processed/`; returns `out_dir`
    (the root for `read_openface_root`). Each CSV has its sidecar `EmotioNet.records.jsonl` beside it."""
    _check_count(n)
    if not isinstance(subdirs, int) or not 1 <= subdirs <= n:
        raise ValueError(f"subdirs must be within 1..n={n}, got {subdirs!r}")
    root = Path(out_dir)
    faces = make_faces(n, seed=seed, size=size, channels=3, labels=labels, nuisance_strength=nuisance_strength,
                       zoom=OPENFACE_ZOOM, face_mask=True, aligned=True, progress=progress)
    header = ", ".join(openface_columns())
    bounds = np.linspace(0, n, subdirs + 1).round().astype(int)
    for folder_index, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:])):
        processed = root / f"dataFile_{folder_index:04d}" / "processed"
        aligned = processed / OPENFACE_ALIGNED_DIR
        aligned.mkdir(parents=True, exist_ok=True)
        names, lines = [], [header]
        for frame, i in enumerate(range(start, stop), start=1):
            name = OPENFACE_FRAME_PATTERN.format(frame)
            _write_image(aligned / name, faces.images[i])
            names.append(name)
            record = faces.records[i]
            intensity = [f"{a:.2f}" for a in record.aus]
            presence = [f"{float(a >= AU_PRESENCE_THRESHOLD):.2f}" for a in record.aus]
            presence = presence[:-1] + ["0.00", presence[-1]]  # AU28_c (lip suck) is never drawn
            roll = np.deg2rad(record.nuisance.rotation)
            values = [str(frame), "0", f"{(frame - 1) / 30:.3f}", "0.98", "1"] + ["0.000000"] * 8 + \
                ["0.000", "0.000", "500.000", "0.000", "0.000", f"{roll:.3f}"] + intensity + presence
            lines.append(", ".join(values))
        csv_path = processed / OPENFACE_CSV_NAME
        csv_path.write_text("\n".join(lines) + "\n", encoding="ascii")
        save_records(records_path(csv_path), with_names(faces.records[start:stop], names))
    return root


# --- GANimation AU file --------------------------------------------------------------------------------------------


def write_au_file(out_dir, n: int, seed: int = 0, *, size: int = 128, header_lines: int = 2, image_format: str = "jpg",
                  labels="sparse_aus", nuisance_strength: float = 1.0, jpeg_quality: int = 95,
                  progress: bool = False) -> Path:
    """`<out>/list_attr_synthetic.txt` + `<out>/images_aligned/NNNNNN.<image_format>`; returns the AU file path.

    header_lines: 2 (a count line and a names line, as StarGAN's CelebA file that vipermu's loader skips) or 0 (as
    OpenFace conversions and animation files). image_format "png" keeps pixels exact (the real files are JPEGs).
    """
    _check_count(n)
    if header_lines not in (0, 2):
        raise ValueError(f"header_lines must be 2 (count + names, CelebA style) or 0, got {header_lines!r}")
    if image_format not in ("jpg", "png"):
        raise ValueError(f"image_format must be 'jpg' or 'png', got {image_format!r}")
    out = Path(out_dir)
    images_dir = out / AU_IMAGE_DIR
    images_dir.mkdir(parents=True, exist_ok=True)
    faces = make_faces(n, seed=seed, size=size, channels=3, labels=labels, nuisance_strength=nuisance_strength,
                       zoom=GANIMATION_ZOOM, aligned=True, progress=progress)
    names = [f"{i + 1:06d}.{image_format}" for i in range(n)]
    lines = [str(n), " ".join(f"AU{c:02d}" for c in AU_CODES)] if header_lines == 2 else []
    for name, image, aus in zip(names, faces.images, faces.aus.tolist()):
        _write_image(images_dir / name, image, jpeg_quality)
        lines.append(name + " " + " ".join(f"{a:.2f}" for a in aus))
    au_path = out / AU_FILE_NAME
    au_path.write_text("\n".join(lines) + "\n", encoding="ascii")
    save_records(records_path(au_path), with_names(faces.records, names))
    return au_path


# --- UTKFace -------------------------------------------------------------------------------------------------------


def _utkface_attributes(n: int, seed: int, task: str | None) -> dict:
    """Fixed attributes that balance the two domains of a task (the rest are drawn as in UTKFace)."""
    if task is None:
        return {}
    if task not in UTKFACE_TASKS:
        raise ValueError(f"task must be one of {UTKFACE_TASKS} or None, got {task!r}")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x07CF]))
    in_b = rng.random(n) < 0.5
    if task == "age":  # 20s vs 50s
        return {"age_look": np.where(in_b, 50, 20) + rng.integers(0, 10, n)}
    if task == "gender":
        return {"gender_look": in_b.astype(np.int64)}
    return {"ethnicity_look": in_b.astype(np.int64)}  # 0 White vs 1 Black


def write_utkface(out_dir, n: int, seed: int = 0, *, task: str | None = None, size: int = 200,
                  nuisance_strength: float = 1.0, jpeg_quality: int = 95, progress: bool = False) -> Path:
    """`<out>/UTKFace/<age>_<gender>_<race>_<datetime>.jpg.chip.jpg` faces; returns the folder.

    task: None (UTKFace-like mix of ages, genders and races), or "age" (half in their 20s, half in their 50s),
    "gender" (half 0 male, half 1 female), "ethnicity" (half race 0 White, half 1 Black) so that both domains of
    that task are equally large. Expressions are FER classes (the label is in the sidecar `UTKFace.records.jsonl`).
    """
    _check_count(n)
    folder = Path(out_dir) / UTKFACE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    faces = make_faces(n, seed=seed, size=size, channels=3, labels="fer", nuisance_strength=nuisance_strength,
                       identity=_utkface_attributes(n, seed, task), zoom=UTKFACE_ZOOM, aligned=True, progress=progress)
    start = datetime.datetime(2017, 1, 9, 12, 0, 0)
    milliseconds = np.random.default_rng(np.random.SeedSequence([int(seed), 0x71E]))
    milliseconds = milliseconds.integers(0, 1000, n).tolist()
    names = []
    for i, (record, image) in enumerate(zip(faces.records, faces.images)):
        stamp = (start + datetime.timedelta(seconds=i)).strftime("%Y%m%d%H%M%S") + f"{milliseconds[i]:03d}"
        idn = record.identity
        name = f"{idn.age_look}_{idn.gender_look}_{idn.ethnicity_look}_{stamp}.jpg.chip.jpg"
        _write_image(folder / name, image, jpeg_quality)
        names.append(name)
    save_records(records_path(folder), with_names(faces.records, names))
    return folder


WRITERS = {"fer2013": write_fer2013, "openface": write_openface, "ganimation": write_au_file, "utkface": write_utkface}
