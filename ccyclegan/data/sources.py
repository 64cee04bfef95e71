"""Where a trainer's data come from: `--dataset` and `--data` resolved to a validated data set, the same for every
family. Real data sets are never downloaded; the synthetic ones are rendered on first use and then read back
through the real readers, so the real code path is exercised end to end.

    spec = source_spec("openface")          # what it conditions on, its class/AU/domain names, image size
    data = load_source("synthetic-utkface", task="gender")
    data.train.images, data.train.labels    # uint8 (N, 200, 200, 3), int64 domain 0 (A) / 1 (B)

`SOURCES` is the registry (one `SourceSpec` per name); `DATASETS` are the names `--dataset` accepts, including the
alias `synthetic` (= `synthetic-fer2013`). `load_fer_source` is the FER2013-only entry point of the CCycleGAN
trainer and the classifier; it is built on the same resolution and reading steps as `load_source`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ccyclegan.errors import DataError, UsageError
from ccyclegan.labels import AU_CODES, FER_CLASSES

FORMATS = ("fer2013", "openface", "ganimation", "utkface")
CONDITIONINGS = ("classes", "aus", "domains")
DEFAULT_FER2013_CSV = Path("datasets") / "fer2013.csv"
DEFAULT_SYNTHETIC_DIR = Path("datasets") / "synthetic"
SYNTHETIC_FER_SIZE = 35887  # the size of the real FER2013
SYNTHETIC_OTHER_SIZE = 5000  # large formats: 5,000 faces render in about a minute
DEFAULT_HELD_OUT_FRACTION = 0.1
UTKFACE_DEFAULT_TASK = "age"  # the original's "model_input" task: 20s vs 50s
AU_CLASS_NAMES = tuple(f"AU{code:02d}" for code in AU_CODES)
# domains of the default UTKFace task, as the reader names them (str of utkface.DOMAIN_PRESETS["age"])
UTKFACE_AGE_DOMAINS = ("age 20..29", "age 50..59")

FER2013_DOWNLOAD_HELP = (
    "FER2013 is not bundled: download fer2013.csv from Kaggle's 'Challenges in Representation Learning: Facial "
    "Expression Recognition Challenge' (35,887 rows, columns emotion,pixels,Usage), put it at {path} (or pass "
    "--data /path/to/fer2013.csv), or run on the bundled synthetic faces instead with --dataset synthetic"
)
OPENFACE_DOWNLOAD_HELP = (
    "EmotioNet with OpenFace AUs is not bundled: get the EmotioNet images (on request, EmotioNet Challenge, Ohio "
    "State University), run OpenFace 2.x 'FeatureExtraction -fdir EmotioNet' in each image folder so that "
    "{path}/<folder>/processed/EmotioNet.csv and EmotioNet_aligned/ exist (see datasets/README.md), or pass --data "
    "/path/to/root, or run on synthetic faces in the same format with --dataset synthetic-openface"
)
GANIMATION_DOWNLOAD_HELP = (
    "The GANimation AU file is not bundled: align faces to 128x128 (e.g. CelebA), run OpenFace 'FaceLandmarkImg "
    "-aus' on them and write one line '<file> <17 AUxx_r values>' per face to {path}, with the faces in "
    "images_aligned/ beside it (see datasets/README.md), or pass --data /path/to/au_file.txt, or run on synthetic "
    "faces in the same format with --dataset synthetic-ganimation"
)
UTKFACE_DOWNLOAD_HELP = (
    "UTKFace is not bundled: download 'Aligned&Cropped Faces' (UTKFace.tar.gz) from the UTKFace project page "
    "(susanqq.github.io/UTKFace) and unpack it to {path} (or pass --data /path/to/UTKFace), or run on synthetic "
    "faces in the same format with --dataset synthetic-utkface"
)


@dataclass(frozen=True)
class SourceSpec:
    """One data set by name: its file format, what a model conditions on, and where its files are by default.

    conditioning: "classes" (one label of `class_names` per face), "aus" (a 17-value AU vector, `class_names` are
    the AU codes) or "domains" (two unpaired domains A and B, `class_names` their names for the default task).
    default_path: the real data file or folder, or for a synthetic source the folder it is rendered into.
    """

    name: str
    format: str
    synthetic: bool
    conditioning: str
    class_names: tuple[str, ...]
    image_size: int
    channels: int
    default_path: Path
    about: str
    how_to_get: str = ""  # for real data: where to get it ("{path}" is the expected location)
    synthetic_n: int = 0  # for synthetic data: how many faces are rendered by default

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.image_size, self.image_size, self.channels

    @property
    def num_conditions(self) -> int:
        """Number of classes, AUs or domains: the size of the conditioning input of a model."""
        return len(self.class_names)


def _spec(name, fmt, synthetic, path, about, how_to_get="", synthetic_n=0) -> SourceSpec:
    conditioning, class_names, size, channels = {
        "fer2013": ("classes", FER_CLASSES, 48, 1),
        "openface": ("aus", AU_CLASS_NAMES, 112, 3),
        "ganimation": ("aus", AU_CLASS_NAMES, 128, 3),
        "utkface": ("domains", UTKFACE_AGE_DOMAINS, 200, 3),
    }[fmt]
    return SourceSpec(name, fmt, synthetic, conditioning, tuple(class_names), size, channels, Path(path), about,
                      how_to_get, synthetic_n)


_DATASETS_DIR = Path("datasets")
SOURCES: dict[str, SourceSpec] = {spec.name: spec for spec in (
    _spec("fer2013", "fer2013", False, DEFAULT_FER2013_CSV,
          "FER2013 CSV (datasets/fer2013.csv): 48x48 gray faces, 7 expression classes", FER2013_DOWNLOAD_HELP),
    _spec("openface", "openface", False, _DATASETS_DIR / "emotionet",
          "EmotioNet faces + OpenFace AUs (datasets/emotionet/<folder>/processed/): 112x112 RGB, 17 AU intensities",
          OPENFACE_DOWNLOAD_HELP),
    _spec("ganimation", "ganimation", False, _DATASETS_DIR / "celeba" / "list_attr_celeba.txt",
          "GANimation AU file + aligned faces (datasets/celeba/): 128x128 RGB, 17 AU intensities",
          GANIMATION_DOWNLOAD_HELP),
    _spec("utkface", "utkface", False, _DATASETS_DIR / "UTKFace",
          "UTKFace chips (datasets/UTKFace/): 200x200 RGB, two domains (task age: 20s vs 50s, gender, ethnicity)",
          UTKFACE_DOWNLOAD_HELP),
    _spec("synthetic-fer2013", "fer2013", True, DEFAULT_SYNTHETIC_DIR,
          "synthetic faces with ground truth as a FER2013 CSV, rendered on first use into datasets/synthetic/",
          synthetic_n=SYNTHETIC_FER_SIZE),
    _spec("synthetic-openface", "openface", True, DEFAULT_SYNTHETIC_DIR / "openface",
          "synthetic faces with ground truth as OpenFace output, rendered on first use into "
          "datasets/synthetic/openface/",
          synthetic_n=SYNTHETIC_OTHER_SIZE),
    _spec("synthetic-ganimation", "ganimation", True, DEFAULT_SYNTHETIC_DIR / "ganimation",
          "synthetic faces with ground truth as a GANimation AU file, rendered on first use into "
          "datasets/synthetic/ganimation/", synthetic_n=SYNTHETIC_OTHER_SIZE),
    _spec("synthetic-utkface", "utkface", True, DEFAULT_SYNTHETIC_DIR / "utkface",
          "synthetic faces with ground truth as UTKFace chips, rendered on first use into "
          "datasets/synthetic/utkface/<task>/", synthetic_n=SYNTHETIC_OTHER_SIZE),
)}
ALIASES = {"synthetic": "synthetic-fer2013"}  # the README's `--dataset synthetic`
DATASETS = tuple(SOURCES) + tuple(ALIASES)

# Options each format passes on to its reader (plus `task`/`domain_a`/`domain_b` for UTKFace).
FORMAT_OPTIONS = {
    "fer2013": ("merge_test_into_train", "skip_bad_rows", "cache"),
    "openface": ("au_normalization", "au_kind", "size", "skip_bad_rows", "csv_name"),
    "ganimation": ("image_dir", "header_lines", "normalize_by", "size", "skip_bad_rows"),
    "utkface": ("task", "domain_a", "domain_b", "size", "skip_bad_names"),
}


def source_spec(name: str) -> SourceSpec:
    """The spec of a data set name (or alias); a UsageError lists the names there are."""
    spec = SOURCES.get(ALIASES.get(name, name))
    if spec is None:
        raise UsageError(f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)}")
    return spec


def datasets_help() -> str:
    """Each name with its one-line `about`, joined by "; " for `--dataset`'s help (argparse rewraps it)."""
    lines = [f"{name}: {spec.about}" for name, spec in SOURCES.items()]
    return "; ".join(lines + [f"{alias}: same as {target}" for alias, target in ALIASES.items()])


# ---------------------------------------------------------------------------------------------------- loaded data


@dataclass
class SourceSplit:
    """One split: images uint8 (N, H, W, C); labels int64 (N,) (class index, or domain 0 = A / 1 = B) or None for AU
    data; aus float32 (N, 17) in the reader's scale (0..1 by default) or None; names identify each face in its
    files (the CSV data row for FER2013, the image path otherwise); records: the ground truth (synthetic only)."""

    images: np.ndarray
    labels: np.ndarray | None
    aus: np.ndarray | None
    names: list[str]
    records: list | None = None

    def __len__(self) -> int:
        return len(self.images)

    def images_of(self, label: int) -> np.ndarray:
        """The images with one label: a class, or a domain (0 = A, 1 = B)."""
        return self.images[self.labels == label]


@dataclass
class LoadedSource:
    """A data set read by name: its spec, the file or folder read, and its splits (train first, then held out).

    class_names: the spec's, except for UTKFace, where they name the domains actually chosen.
    reader_data: what the format's reader returned (Fer2013, OpenFaceData, AuFileData or UTKFaceDomains).
    """

    spec: SourceSpec
    path: Path
    splits: dict[str, SourceSplit]
    class_names: tuple[str, ...]
    reader_data: object
    skipped: int = 0

    @property
    def train(self) -> SourceSplit:
        return self.splits["train"]

    @property
    def held_out(self) -> SourceSplit:
        """Faces never trained on: FER2013's PublicTest (the original's sample split), else the seeded `test`."""
        return self.splits["public_test" if "public_test" in self.splits else "test"]

    @property
    def synthetic(self) -> bool:
        return self.spec.synthetic

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train.images.shape[1:])


@dataclass
class FerSource:
    """A FER2013-format data set: the splits as uint8 images, and for synthetic data the per-row ground truth."""

    data: object  # ccyclegan.data.fer2013.Fer2013 (uint8 images)
    csv_path: Path
    records: list | None  # synthetic.FaceRecord per CSV row (None for real data)

    @property
    def synthetic(self) -> bool:
        return self.records is not None

    def split_records(self, split: str) -> list | None:
        """The ground-truth records of one split ('train', 'public_test', 'private_test'), in the split's order."""
        if self.records is None:
            return None
        return [self.records[i] for i in getattr(self.data, split).rows]


# ------------------------------------------------------------------------------------------------------- loading


def load_source(name: str, path: str | os.PathLike | None = None, *, synthetic_n: int | None = None, seed: int = 0,
                held_out_fraction: float | None = None, split_seed: int = 0, **format_options) -> LoadedSource:
    """Read a data set by name: real files from `path` (default `spec.default_path`), or synthetic faces rendered
    into the folder `path` on first use (`synthetic_n` faces from `seed`; default `spec.synthetic_n`) and read back.

    Splits: FER2013 has its own (train, public_test, private_test; `held_out_fraction` is refused). The other
    formats have none, so `held_out_fraction` (default 0.1) of the faces, at least one, go to `test`, drawn from
    `split_seed` (fixed by default, so that runs with different seeds evaluate on the same faces); for UTKFace each
    domain is split on its own. Both splits keep file order.

    format_options go to the reader (see `FORMAT_OPTIONS`). UTKFace: `task` ("age" 20s vs 50s by default, "gender",
    "ethnicity") names the two domains, or `domain_a` and `domain_b` (predicates or specs like "age=20-29") replace
    them; a synthetic set is rendered balanced for `task` into `<default_path>/<task>/`.
    """
    spec = source_spec(name)
    unknown = sorted(set(format_options) - set(FORMAT_OPTIONS[spec.format]))
    if unknown:
        raise UsageError(f"dataset {name}: unknown option(s) {', '.join(unknown)}; the {spec.format} format accepts "
                         f"{', '.join(FORMAT_OPTIONS[spec.format])}")
    if spec.format == "fer2013":
        if held_out_fraction is not None:
            raise UsageError(f"dataset {name}: FER2013 has its own splits (the Usage column); held_out_fraction is "
                             "only for formats without splits")
        fer = _load_fer(spec, path, synthetic_n, seed, **format_options)
        return _fer_loaded(spec, fer)
    fraction = DEFAULT_HELD_OUT_FRACTION if held_out_fraction is None else float(held_out_fraction)
    if not 0.0 <= fraction < 1.0:
        raise UsageError(f"held_out_fraction must be in [0, 1), got {held_out_fraction}")
    reader = {"openface": _load_openface, "ganimation": _load_au_file, "utkface": _load_utkface}[spec.format]
    return reader(spec, path, synthetic_n, seed, fraction, split_seed, **format_options)


def load_fer_source(dataset: str = "fer2013", data: str | Path | None = None, *, synthetic_n: int | None = None,
                    seed: int = 0, merge_test_into_train: bool = False) -> FerSource:
    """Read FER2013 (`datasets/fer2013.csv` unless `data` names another file) or the synthetic FER-format set.

    For `synthetic` / `synthetic-fer2013`, `data` is the folder holding `fer2013.csv` and its ground-truth sidecar;
    both are written with `synthetic_n` faces (default: FER2013's 35,887) from `seed` if the CSV is not there yet.
    Other sources are refused:
    they do not have FER2013's classes.
    """
    spec = source_spec(dataset)
    if spec.format != "fer2013":
        fer_names = ", ".join(n for n in DATASETS if source_spec(n).format == "fer2013")
        raise UsageError(f"dataset {dataset} conditions on {spec.conditioning} ({spec.format} format); this command "
                         f"needs FER2013's 7 classes: {fer_names}")
    return _load_fer(spec, data, synthetic_n, seed, merge_test_into_train=merge_test_into_train)


def _load_fer(spec: SourceSpec, path, synthetic_n, seed, **options) -> FerSource:
    from ccyclegan.data.fer2013 import read_fer2013

    if spec.synthetic:
        folder = _rendered_folder(spec, path, synthetic_n, seed)
        csv_path = folder / "fer2013.csv"
    else:
        csv_path = _real_path(spec, path)
    fer = read_fer2013(csv_path, normalize=False, **options)
    if not spec.synthetic:
        return FerSource(fer, csv_path, None)
    records = _sidecar_records(csv_path)
    num_rows = np.unique(np.concatenate([fer.train.rows, fer.public_test.rows, fer.private_test.rows])).size
    if len(records) != num_rows:
        raise DataError(csv_path, f"{num_rows} rows but {len(records)} ground-truth records beside it; delete the "
                                  f"folder to render it again")
    return FerSource(fer, csv_path, records)


def _fer_loaded(spec: SourceSpec, source: FerSource) -> LoadedSource:
    fer = source.data
    splits = {}
    for split_name in ("train", "public_test", "private_test"):
        split = getattr(fer, split_name)
        splits[split_name] = SourceSplit(split.images, split.labels, None, [str(row) for row in split.rows],
                                         source.split_records(split_name))
    return LoadedSource(spec, source.csv_path, splits, spec.class_names, fer, fer.skipped)


def _load_openface(spec, path, synthetic_n, seed, fraction, split_seed, **options) -> LoadedSource:
    from ccyclegan.data.openface import read_openface_root
    from ccyclegan.data.synthetic_writers import OPENFACE_CSV_NAME

    root = _rendered_folder(spec, path, synthetic_n, seed) if spec.synthetic else _real_path(spec, path)
    data = read_openface_root(root, **options)
    records = None
    if spec.synthetic:  # each image is <folder>/processed/EmotioNet_aligned/<name>, its sidecar beside the CSV
        records = _records_for(data.image_paths, lambda image: Path(image).parent.parent / OPENFACE_CSV_NAME)
    split = SourceSplit(data.images, None, data.aus, list(data.image_paths), records)
    return LoadedSource(spec, root, _held_out_split(split, fraction, split_seed), spec.class_names, data, data.skipped)


def _load_au_file(spec, path, synthetic_n, seed, fraction, split_seed, image_dir=None, **options) -> LoadedSource:
    from ccyclegan.data.au_file import read_au_file
    from ccyclegan.data.synthetic_writers import AU_FILE_NAME, AU_IMAGE_DIR

    if spec.synthetic:
        au_path = _rendered_folder(spec, path, synthetic_n, seed) / AU_FILE_NAME
    else:
        au_path = _real_path(spec, path)
    if image_dir is None and (au_path.parent / AU_IMAGE_DIR).is_dir():
        image_dir = au_path.parent / AU_IMAGE_DIR  # the layout of datasets/README.md; else the AU file's folder
    data = read_au_file(au_path, image_dir, **options)
    records = _records_for(data.image_paths, lambda _: au_path) if spec.synthetic else None
    split = SourceSplit(data.images, None, data.aus, list(data.image_paths), records)
    return LoadedSource(spec, au_path, _held_out_split(split, fraction, split_seed), spec.class_names, data,
                        data.skipped)


def _load_utkface(spec, path, synthetic_n, seed, fraction, split_seed, task: str | None = UTKFACE_DEFAULT_TASK,
                  domain_a=None, domain_b=None, **options) -> LoadedSource:
    from ccyclegan.data.synthetic_writers import UTKFACE_DIR, UTKFACE_TASKS
    from ccyclegan.data.utkface import read_utkface

    if task is not None and task not in UTKFACE_TASKS:
        raise UsageError(f"dataset {spec.name}: unknown task {task!r}; expected one of {', '.join(UTKFACE_TASKS)}, "
                         f"or task=None with domain_a and domain_b")
    if (domain_a is None) != (domain_b is None):
        raise UsageError(f"dataset {spec.name}: give both domain_a and domain_b, or neither (then task names them)")
    if domain_a is None and task is None:
        raise UsageError(f"dataset {spec.name}: task=None needs domain_a and domain_b")
    if spec.synthetic:
        default = spec.default_path / (task or "mixed")  # each task renders its own balanced set
        folder = _rendered_folder(spec, path, synthetic_n, seed, default=default, task=task) / UTKFACE_DIR
    else:
        folder = _real_path(spec, path)
    data = read_utkface(folder, domain_a if domain_a is not None else task, domain_b, **options)
    images = np.concatenate([data.images_a, data.images_b])
    labels = np.repeat(np.array([0, 1], np.int64), [len(data.paths_a), len(data.paths_b)])
    paths = list(data.paths_a) + list(data.paths_b)
    records = _records_for(paths, lambda _: folder) if spec.synthetic else None
    split = SourceSplit(images, labels, None, paths, records)
    return LoadedSource(spec, folder, _held_out_split(split, fraction, split_seed, stratify=True),
                        (data.domain_a, data.domain_b), data, data.skipped)


# ------------------------------------------------------------------------------------------- paths and rendering


def _real_path(spec: SourceSpec, path) -> Path:
    """The real data file or folder; missing: say how to get it."""
    location = Path(path) if path else spec.default_path
    if not location.exists():
        kind = "file" if spec.default_path.suffix else "folder"
        raise FileNotFoundError(f"{location}: no such {kind}. " + spec.how_to_get.format(path=location))
    return location


# The entry each writer creates last in its folder; while it is missing, the folder is (re-)rendered.
_RENDERED_MARKERS = {"fer2013": "fer2013.csv", "openface": "dataFile_0000", "ganimation": "list_attr_synthetic.txt",
                     "utkface": "UTKFace"}


def _rendered_folder(spec: SourceSpec, path, n, seed, *, default: Path | None = None, **writer_options) -> Path:
    """The folder of a synthetic source, rendered first if its data are not there yet.

    The writer works in a hidden staging folder inside it, whose entries are moved in with the marker last, so
    that an interrupted render is redone on the next use instead of being read half-written. Processes that start on
    the same folder at once (two runs, the workers of one multi-worker run) take turns: one renders, the others wait
    for it and then read its faces.
    """
    from ccyclegan.data.synthetic_writers import WRITERS

    folder = Path(path) if path else (default or spec.default_path)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder}: is a file; for {spec.name} the path (--data) is the folder the synthetic faces "
                         f"are rendered into and read from")
    marker = _RENDERED_MARKERS[spec.format]
    if (folder / marker).exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / f".rendering-{spec.format}.lock"
    with _render_lock(lock):
        if (folder / marker).exists():  # rendered by the process that held the lock before this one
            return folder
        n = spec.synthetic_n if n is None else int(n)
        print(f"Rendering {n} synthetic {spec.format}-format faces into {folder} (once; seed {seed})")
        staging = folder / f".rendering-{spec.format}"
        shutil.rmtree(staging, ignore_errors=True)
        WRITERS[spec.format](staging, n=n, seed=seed, **writer_options)
        for entry in sorted(staging.iterdir(), key=lambda entry: entry.name == marker):
            target = folder / entry.name
            if target.is_dir():
                shutil.rmtree(target)  # left by an interrupted render (the marker is still missing)
            os.replace(entry, target)
        staging.rmdir()
        # Tidy, once the marker is in: a process still waiting on this lock finds the folder rendered when its turn
        # comes, and a later one sees the marker first. After a failed render the lock stays, to keep turns.
        lock.unlink(missing_ok=True)  # (no lock file where there is no fcntl)
    return folder


@contextlib.contextmanager
def _render_lock(path: Path):
    """An exclusive lock on `path` for as long as the block runs; the system drops it if the process dies. Where
    there is no fcntl (Windows) the block runs unlocked: one render at a time is then the user's to ensure."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _sidecar_records(data_path) -> list:
    from ccyclegan.data.synthetic_writers import load_records, records_path

    return load_records(records_path(data_path))


def _records_for(image_paths, data_path_of) -> list:
    """The ground-truth record of each image, matched by file name in the sidecar of `data_path_of(image)`."""
    from ccyclegan.data.synthetic_writers import records_path

    by_sidecar: dict[Path, dict] = {}
    records = []
    for image in image_paths:
        sidecar = records_path(data_path_of(image))
        if sidecar not in by_sidecar:
            by_sidecar[sidecar] = {record.name: record for record in _sidecar_records(data_path_of(image))}
        record = by_sidecar[sidecar].get(os.path.basename(image))
        if record is None:
            raise DataError(image, f"has no ground-truth record in {sidecar}; delete the folder to render it again")
        records.append(record)
    return records


# ----------------------------------------------------------------------------------------------------- splitting


def held_out_mask(n: int, fraction: float, seed: int, stream: int = 0) -> np.ndarray:
    """Which of n faces are held out: round(fraction * n) of them (at least 1 when fraction > 0, always leaving one
    to train on), chosen by a generator keyed by (seed, stream, n), so the same data give the same split."""
    count = 0 if fraction <= 0 or n < 2 else min(n - 1, max(1, round(fraction * n)))
    chosen = np.random.default_rng(np.random.SeedSequence([int(seed), int(stream), int(n)])).permutation(n)[:count]
    mask = np.zeros(n, dtype=bool)
    mask[chosen] = True
    return mask


def _held_out_split(data: SourceSplit, fraction: float, seed: int, *, stratify: bool = False) -> dict:
    if stratify:  # each domain / class split on its own, so that both splits have all of them
        mask = np.zeros(len(data), dtype=bool)
        for label in np.unique(data.labels):
            where = np.flatnonzero(data.labels == label)
            mask[where] = held_out_mask(len(where), fraction, seed, stream=int(label) + 1)
    else:
        mask = held_out_mask(len(data), fraction, seed)
    return {"train": _subset(data, ~mask), "test": _subset(data, mask)}


def _subset(data: SourceSplit, mask: np.ndarray) -> SourceSplit:
    index = np.flatnonzero(mask)
    return SourceSplit(
        images=data.images[index],
        labels=None if data.labels is None else data.labels[index],
        aus=None if data.aus is None else data.aus[index],
        names=[data.names[i] for i in index],
        records=None if data.records is None else [data.records[i] for i in index],
    )
