"""Reader of GANimation's AU text file: one line per face, `<filename> v1 .. v17`, with its image folder.

The 17 values are OpenFace AU intensities (0..5) in OpenFace order. Training files in the CelebA/StarGAN style start
with two header lines (a row count, then names), which vipermu's loader always skipped; other files (e.g. the
animation `attributes.txt`, or what vipermu's `create_csv.py` writes) have none, so vipermu silently lost their first
two faces. Here `header_lines="auto"` tells the two apart, and a wrong count in a StarGAN header is reported.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from ccyclegan.data.photos import load_listed_images
from ccyclegan.errors import DataError
from ccyclegan.labels import AU_CODES, AU_MAX_INTENSITY, NUM_AUS

_FORMAT = f"'<filename> v1 .. v{NUM_AUS}' (AU intensities 0..{AU_MAX_INTENSITY:g} in OpenFace order)"


@dataclass
class AuFileData:
    """filenames as written in the file; aus float32 (N, 17) divided by `normalize_by`; images uint8 (N, H, W, 3) RGB
    or None; image_paths the files in the image folder; header_lines the number skipped; skipped bad rows."""

    filenames: list[str]
    aus: np.ndarray
    images: np.ndarray | None
    image_paths: list[str]
    header_lines: int = 0
    skipped: int = 0

    def __len__(self) -> int:
        return len(self.filenames)


def read_au_file(path, image_dir=None, *, header_lines: int | str = "auto", normalize_by: float = 5.0,
                 load_images: bool = True, size: int | None = None, check_images: bool = True,
                 skip_bad_rows: bool = False) -> AuFileData:
    """Read a GANimation AU file and (by default) the faces it names.

    image_dir: where the named files are (default: the AU file's folder, as in vipermu's animation folders).
    header_lines: "auto" (2 if line 1 is a lone row count as in StarGAN's list_attr_celeba.txt, 1 if line 1 is a
        names-only header, 0 if it is already data), or a number to skip.
    normalize_by: AU values are divided by it (5.0 maps 0..5 to 0..1 as GANimation; 1.0 keeps the raw values).
    check_images: with load_images=False, still check that every named file exists.
    skip_bad_rows: skip malformed lines and lines naming a missing or unreadable image; their number is `.skipped`.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DataError(path, "no such AU file" if not os.path.isdir(path) else "is a folder, expected an AU file")
    if not normalize_by > 0:
        raise ValueError(f"normalize_by must be positive, got {normalize_by}")
    with open(path, encoding="utf-8", errors="replace") as file:
        lines = file.read().lstrip("\ufeff").splitlines()
    if not any(line.strip() for line in lines):
        raise DataError(path, f"the file is empty; expected lines {_FORMAT}", line=1)
    skip = _header_lines(path, lines, header_lines)

    filenames, rows, sources, skipped = [], [], [], 0
    for number, line in enumerate(lines[skip:], start=skip + 1):
        if not line.strip():
            continue
        filename, values, problem = _parse_line(line)
        if problem:
            if not skip_bad_rows:
                raise DataError(path, problem, line=number)
            skipped += 1
            continue
        filenames.append(filename)
        rows.append(values)
        sources.append((path, number))
    if not filenames:
        raise DataError(path, f"no AU rows after {skip} header line(s)" + (f"; all {skipped} are malformed"
                                                                             if skipped else ""))

    folder = os.fspath(image_dir) if image_dir is not None else os.path.dirname(os.path.abspath(path))
    if (load_images or check_images) and not os.path.isdir(folder):
        raise DataError(folder, f"no such image folder for {os.path.basename(path)}")
    image_paths = [os.path.join(folder, name) for name in filenames]
    images, usable = load_listed_images(image_paths, sources, load=load_images, check=check_images, size=size,
                                        skip_bad=skip_bad_rows)
    keep = np.flatnonzero(usable)
    aus = np.asarray(rows, dtype=np.float32)[keep] / np.float32(normalize_by)
    return AuFileData(filenames=[filenames[i] for i in keep], aus=aus, images=images,
                      image_paths=[image_paths[i] for i in keep], header_lines=skip,
                      skipped=skipped + int(len(usable) - len(keep)))


def _header_lines(path: str, lines: list[str], header_lines: int | str) -> int:
    if header_lines != "auto":
        if not isinstance(header_lines, int) or header_lines < 0:
            raise ValueError(f"header_lines must be 'auto' or a non-negative int, got {header_lines!r}")
        return header_lines
    first = lines[0].split()
    if len(first) == 1 and first[0].isdigit():  # StarGAN / CelebA list_attr style: count, then names
        declared = int(first[0])
        found = sum(1 for line in lines[2:] if line.strip())
        if declared != found:
            raise DataError(path, f"the header declares {declared} rows but {found} follow (a truncated file?); "
                                  f"pass header_lines=2 to ignore the count", line=1)
        return 2
    if _parse_line(lines[0])[2] is None:
        return 0
    if first and not any(_is_number(token) for token in first[1:]):
        return 1  # a line of names only
    raise DataError(path, f"line 1 is neither a row count, a header of names, nor a row {_FORMAT}; pass "
                          f"header_lines=", line=1)


def _parse_line(line: str) -> tuple[str, list[float], str | None]:
    """(filename, 17 values, None) or (.., .., what is wrong)."""
    tokens = line.split()
    if len(tokens) != NUM_AUS + 1:
        return "", [], f"expected a file name and {NUM_AUS} AU values, found {len(tokens) - 1} values"
    values = []
    for code, token in zip(AU_CODES, tokens[1:]):
        try:
            value = float(token)
        except ValueError:
            return "", [], f"AU{code:02d} value {token[:30]!r} is not a number"
        if not (math.isfinite(value) and 0.0 <= value <= AU_MAX_INTENSITY):
            return "", [], f"AU{code:02d} = {token} is outside 0..{AU_MAX_INTENSITY:g}"
        values.append(value)
    return tokens[0], values, None


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True
