"""Where a trainer's data come from: `--dataset` and `--data` resolved to a validated data set, the same for every
family. Real data sets are never downloaded; the synthetic ones are rendered on first use and then read back
through the real readers, so the real code path is exercised end to end.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ccyclegan.errors import DataError

DATASETS = ("fer2013", "synthetic")
DEFAULT_FER2013_CSV = Path("datasets") / "fer2013.csv"
DEFAULT_SYNTHETIC_DIR = Path("datasets") / "synthetic"
SYNTHETIC_FER_SIZE = 35887  # the size of the real FER2013
FER2013_DOWNLOAD_HELP = (
    "FER2013 is not bundled: download fer2013.csv from Kaggle's 'Challenges in Representation Learning: Facial "
    "Expression Recognition Challenge' (35,887 rows, columns emotion,pixels,Usage), put it at {path} (or pass "
    "--data /path/to/fer2013.csv), or run on the bundled synthetic faces instead with --dataset synthetic"
)


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


def load_fer_source(dataset: str = "fer2013", data: str | Path | None = None, *, synthetic_n: int = SYNTHETIC_FER_SIZE,
                    seed: int = 0, merge_test_into_train: bool = False) -> FerSource:
    """Read FER2013 (`datasets/fer2013.csv` unless `data` names another file) or the synthetic FER-format set.

    For `synthetic`, `data` is the folder holding `fer2013.csv` and its ground-truth sidecar; both are written with
    `synthetic_n` faces from `seed` if the CSV is not there yet.
    """
    from ccyclegan.data.fer2013 import read_fer2013

    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {DATASETS}")
    if dataset == "fer2013":
        csv_path = Path(data) if data else DEFAULT_FER2013_CSV
        if not csv_path.exists():
            raise FileNotFoundError(f"{csv_path}: no such file. " + FER2013_DOWNLOAD_HELP.format(path=csv_path))
        fer = read_fer2013(csv_path, normalize=False, merge_test_into_train=merge_test_into_train)
        return FerSource(fer, csv_path, None)

    from ccyclegan.data import synthetic

    folder = Path(data) if data else DEFAULT_SYNTHETIC_DIR
    csv_path = folder / "fer2013.csv"
    if not csv_path.exists():
        print(f"Rendering {synthetic_n} synthetic FER2013-format faces into {folder} (once; seed {seed})")
        synthetic.write_fer2013(folder, n=synthetic_n, seed=seed)
    fer = read_fer2013(csv_path, normalize=False, merge_test_into_train=merge_test_into_train)
    records = synthetic.load_records(synthetic.records_path(csv_path))
    num_rows = sum(len(split) for split in (fer.train, fer.public_test, fer.private_test)) if not \
        merge_test_into_train else len(fer.train)
    if len(records) != num_rows:
        raise DataError(csv_path, f"{num_rows} rows but {len(records)} ground-truth records beside it; delete the "
                                  f"folder to render it again")
    return FerSource(fer, csv_path, records)
