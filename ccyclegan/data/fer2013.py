"""Reader of the FER2013 CSV (`emotion,pixels,Usage`; 35,887 rows of 48x48 grayscale faces).

The original loader read the file with pandas and converted each row with `np.array(pixels.split(' '), 'float32')`,
which takes about 20 s and peaks near 3 GB. This reader parses each row's pixel string in C (`np.fromstring`), keeps
images as uint8 (83 MB for the whole file), validates every field, and caches the arrays in a `.npz` next to the
CSV so that the next load is a single file read. See docs/data.md for every difference from the original.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass

import numpy as np

from ccyclegan.atomic import atomic_output
from ccyclegan.errors import DataError
from ccyclegan.labels import FER_CLASSES, NUM_FER_CLASSES

IMAGE_SIZE = 48
NUM_PIXELS = IMAGE_SIZE * IMAGE_SIZE
USAGES = ("Training", "PublicTest", "PrivateTest")
REQUIRED_COLUMNS = ("emotion", "pixels", "Usage")
CACHE_SUFFIX = ".cache.npz"
_CACHE_VERSION = 2
_FINGERPRINT_BYTES = 1 << 16
_USAGE_CODES = {name.encode(): code for code, name in enumerate(USAGES)}
_DOWNLOAD_HINT = "download fer2013.csv (Kaggle 'challenges-in-representation-learning-facial-expression-" \
    "recognition-challenge') into datasets/; see datasets/README.md"


@dataclass
class Split:
    """One FER2013 split: images (N, 48, 48, 1), uint8 0..255 or float32 in [-1, 1]; labels int64 0..6.

    rows: each image's data row in the CSV (0-based, header and blank lines not counted, skipped rows counted), so
    that per-row side information (e.g. the synthetic faces' ground truth) can be matched to the images.
    """

    images: np.ndarray
    labels: np.ndarray
    rows: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class Fer2013:
    """The three FER2013 splits of one CSV, in file order within each split."""

    train: Split
    public_test: Split
    private_test: Split
    path: str
    skipped: int = 0  # rows skipped because skip_bad_rows=True
    from_cache: bool = False

    @property
    def test(self) -> Split:
        """PublicTest + PrivateTest, which the original loader called "test" (every Usage other than Training)."""
        return _concat(self.public_test, self.private_test)

    def summary(self) -> str:
        counts = np.bincount(self.train.labels, minlength=NUM_FER_CLASSES)
        per_class = ", ".join(f"{name} {count}" for name, count in zip(FER_CLASSES, counts))
        return (f"{self.path}: train {len(self.train)} ({per_class}), public_test {len(self.public_test)}, "
                f"private_test {len(self.private_test)}, skipped {self.skipped}")


@dataclass
class _Parsed:
    images: np.ndarray  # (N, 48, 48) uint8
    labels: np.ndarray  # (N,) int64
    usage: np.ndarray  # (N,) int8, index into USAGES
    rows: np.ndarray  # (N,) int64, data row in the file
    skipped: int


def read_fer2013(path, *, normalize: bool = True, merge_test_into_train: bool = False, skip_bad_rows: bool = False,
                 cache: bool = True) -> Fer2013:
    """Read and validate a FER2013 CSV; return its Training / PublicTest / PrivateTest splits.

    normalize: float32 images in [-1, 1] (x / 127.5 - 1, as the original); False keeps uint8 0..255, which is 4x
        smaller and what `ccyclegan.data.pipeline` wants (it converts per batch).
    merge_test_into_train: reproduce the original's `use_test_in_batch=True`: train becomes Training + PublicTest +
        PrivateTest while the test splits stay as they are. This is test-set leakage; off by default.
    skip_bad_rows: skip malformed rows and report their number in `.skipped` instead of raising.
    cache: reuse (or write) `<name>.cache.npz` next to the CSV; it is rebuilt when the CSV's size, modification time
        or first/last 64 KiB change. A cache that cannot be written only gives a warning.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        problem = "is a directory, expected the FER2013 CSV file" if os.path.isdir(path) else "no such file"
        raise DataError(path, f"{problem}; {_DOWNLOAD_HINT}")
    parsed = _load_cache(path, skip_bad_rows) if cache else None
    from_cache = parsed is not None
    if parsed is None:
        parsed = _parse_csv(path, skip_bad_rows)
        if cache:
            _write_cache(path, parsed)
    return _assemble(path, parsed, normalize, merge_test_into_train, from_cache)


def cache_path(csv_path) -> str:
    """Where `read_fer2013` keeps its cache for `csv_path`."""
    root, _ = os.path.splitext(os.fspath(csv_path))
    return root + CACHE_SUFFIX


# ----------------------------------------------------------------------------------------------------------- parsing

def _parse_csv(path: str, skip_bad_rows: bool) -> _Parsed:
    """Stream the CSV row by row; only the current row is held as text."""
    capacity = os.path.getsize(path) // (2 * NUM_PIXELS) + 1  # a row takes at least 2 bytes per pixel
    images = np.empty((capacity, NUM_PIXELS), dtype=np.uint8)
    labels = np.empty(capacity, dtype=np.int64)
    usage = np.empty(capacity, dtype=np.int8)
    rows = np.empty(capacity, dtype=np.int64)
    count = skipped = 0
    with open(path, "rb") as file, warnings.catch_warnings():
        # np.fromstring warns (future: raises) when it stops at a non-numeric token; both are handled below.
        warnings.simplefilter("ignore", DeprecationWarning)
        emotion_col, pixels_col, usage_col, num_fields = _read_header(path, file.readline())
        for line_number, line in enumerate(file, start=2):
            row = line.rstrip(b"\r\n")
            if not row.strip():
                continue  # a blank line holds no row
            data_row = count + skipped
            fields = row.split(b",")
            problem = None
            if len(fields) != num_fields:
                problem = (f"expected {num_fields} comma-separated fields ({','.join(REQUIRED_COLUMNS)}), "
                           f"found {len(fields)}")
            else:
                label, problem = _parse_emotion(fields[emotion_col])
                code = _USAGE_CODES.get(fields[usage_col].strip().strip(b'"'))
                if problem is None and code is None:
                    problem = (f"unknown Usage {_text(fields[usage_col])!r}; expected one of {', '.join(USAGES)}")
                if problem is None:
                    pixels = fields[pixels_col].strip().strip(b'"')
                    values = _parse_pixels(pixels)
                    if values is None:
                        problem = _describe_pixel_problem(pixels)
            if problem is not None:
                if not line.endswith(b"\n"):
                    problem += " (the last line has no line end: the file looks truncated)"
                if not skip_bad_rows:
                    raise DataError(path, problem, line=line_number)
                skipped += 1
                continue
            images[count] = values
            labels[count] = label
            usage[count] = code
            rows[count] = data_row
            count += 1
    if count == 0:
        detail = f"all {skipped} rows are malformed" if skipped else "the file has a header but no data rows"
        raise DataError(path, f"no FER2013 rows: {detail}")
    return _Parsed(images[:count].reshape(count, IMAGE_SIZE, IMAGE_SIZE), labels[:count], usage[:count], rows[:count],
                   skipped)


def _read_header(path: str, header: bytes) -> tuple[int, int, int, int]:
    if not header:
        raise DataError(path, f"the file is empty; expected the header {','.join(REQUIRED_COLUMNS)} and 35,887 rows",
                        line=1)
    names = [_text(name).strip().strip('"').strip() for name in header.removeprefix(b"\xef\xbb\xbf").split(b",")]
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise DataError(path, f"missing column(s) {', '.join(missing)}: expected the header "
                        f"{','.join(REQUIRED_COLUMNS)}, found {','.join(names)!r}", line=1)
    return (*(names.index(name) for name in REQUIRED_COLUMNS), len(names))


def _parse_emotion(field: bytes) -> tuple[int, str | None]:
    field = field.strip().strip(b'"')
    if len(field) == 1 and 48 <= field[0] < 48 + NUM_FER_CLASSES:  # the common case: one digit 0..6
        return field[0] - 48, None
    try:
        value = int(field)
    except ValueError:
        return -1, f"emotion {_text(field)!r} is not an integer 0..{NUM_FER_CLASSES - 1}"
    if not 0 <= value < NUM_FER_CLASSES:
        return -1, f"emotion {value} is outside 0..{NUM_FER_CLASSES - 1} ({', '.join(FER_CLASSES)})"
    return value, None


def _parse_pixels(pixels: bytes) -> np.ndarray | None:
    """The 2,304 values of a pixel string, or None if anything is off (then `_describe_pixel_problem` says what)."""
    try:
        values = np.fromstring(pixels, dtype=np.int32, sep=" ")
    except ValueError:  # what future numpy does instead of the DeprecationWarning
        return None
    # Viewed as uint32, negative values become huge, so one max() checks both ends of 0..255.
    if values.size != NUM_PIXELS or values.view(np.uint32).max() > 255:
        return None
    return values


def _describe_pixel_problem(pixels: bytes) -> str:
    """The first thing wrong with a pixel string, in words (the slow path, only for bad rows)."""
    tokens = pixels.split()
    for position, token in enumerate(tokens, start=1):
        if not token.isdigit():
            return f"pixel {position} is {_text(token)!r}, not an integer 0..255"
        if int(token) > 255:
            return f"pixel {position} is {int(token)}, outside 0..255"
    if not tokens:
        return f"pixels is empty, expected {NUM_PIXELS} values"
    return f"pixels has {len(tokens)} values, expected {NUM_PIXELS} ({IMAGE_SIZE}x{IMAGE_SIZE})"


def _text(raw: bytes) -> str:
    text = raw.decode("utf-8", errors="replace")
    return text if len(text) <= 40 else text[:37] + "..."


# ---------------------------------------------------------------------------------------------------------- assembly

def _assemble(path: str, parsed: _Parsed, normalize: bool, merge_test_into_train: bool, from_cache: bool) -> Fer2013:
    images = parsed.images[..., np.newaxis]
    if normalize:
        images = _to_unit_range(images)  # once for the whole file; the splits below are views where possible
    splits = [_select(images, parsed.labels, parsed.rows, parsed.usage == code) for code in range(len(USAGES))]
    if merge_test_into_train:
        splits[0] = _concat(*splits)
    return Fer2013(*splits, path=path, skipped=parsed.skipped, from_cache=from_cache)


def _select(images: np.ndarray, labels: np.ndarray, rows: np.ndarray, mask: np.ndarray) -> Split:
    """The rows in `mask`, as views when they are contiguous (the real file lists the splits one after the other)."""
    index = np.flatnonzero(mask)
    if index.size and index[-1] - index[0] + 1 == index.size:
        index = slice(index[0], index[-1] + 1)
    return Split(images[index], labels[index], rows[index])


def _concat(*splits: Split) -> Split:
    return Split(*(np.concatenate([getattr(s, field) for s in splits]) for field in ("images", "labels", "rows")))


def _to_unit_range(images: np.ndarray) -> np.ndarray:
    """uint8 0..255 -> float32 [-1, 1] (x / 127.5 - 1, bit-identical to the pipeline) with no temporary array."""
    out = np.empty(images.shape, dtype=np.float32)
    np.divide(images, np.float32(127.5), out=out)
    out -= np.float32(1.0)
    return out


# ------------------------------------------------------------------------------------------------------------- cache

def _fingerprint(path: str) -> np.ndarray:
    """Size, modification time and a hash of the first and last 64 KiB: cheap, and catches truncation or edits."""
    stat = os.stat(path)
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as file:
        digest.update(file.read(_FINGERPRINT_BYTES))
        file.seek(max(0, stat.st_size - _FINGERPRINT_BYTES))
        digest.update(file.read(_FINGERPRINT_BYTES))
    return np.array([_CACHE_VERSION, stat.st_size, stat.st_mtime_ns, *np.frombuffer(digest.digest(), np.int64)],
                    dtype=np.int64)


def _load_cache(path: str, skip_bad_rows: bool) -> _Parsed | None:
    """The cached arrays if the cache matches the CSV, else None (the caller re-parses)."""
    cached = cache_path(path)
    if not os.path.isfile(cached):
        return None
    try:
        with np.load(cached, allow_pickle=False) as data:
            if not np.array_equal(data["fingerprint"], _fingerprint(path)):
                return None
            skipped = int(data["skipped"])
            if skipped and not skip_bad_rows:
                return None  # the CSV has bad rows: re-parse so that the error is raised
            return _Parsed(data["images"], data["labels"].astype(np.int64), data["usage"],
                           data["rows"].astype(np.int64), skipped)
    except (OSError, ValueError, KeyError, EOFError) as error:
        warnings.warn(f"{cached}: ignoring an unreadable FER2013 cache ({error}); re-reading the CSV", stacklevel=3)
        return None


def _write_cache(path: str, parsed: _Parsed) -> None:
    """Write atomically (temp file + rename) so that an interrupted write never leaves a half cache behind."""
    cached = cache_path(path)
    try:
        with atomic_output(cached) as temporary, open(temporary, "wb") as file:
            np.savez(file, fingerprint=_fingerprint(path), images=parsed.images,
                     labels=parsed.labels.astype(np.int8), usage=parsed.usage, rows=parsed.rows.astype(np.int32),
                     skipped=np.int64(parsed.skipped))
    except OSError as error:
        warnings.warn(f"{cached}: could not write the FER2013 cache ({error}); the next load parses the CSV again",
                      stacklevel=3)
