"""The two pictures of the synthetic faces shown in the README: the 7 classes over several identities, and one
identity across the intensities of every AU (`python -m ccyclegan.data.synthetic pictures --out images/`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ccyclegan.data.synthetic_faces import make_faces, render, true_translations
from ccyclegan.data.synthetic_model import sample_identity
from ccyclegan.labels import AU_CODES, AU_NAMES, FER_CLASSES, NUM_AUS, NUM_FER_CLASSES

SWEEP_INTENSITIES = (0.0, 1.0, 2.0, 3.0, 4.0, 5.0)


def class_grid(identities: int = 8, seed: int = 0, size: int = 48, channels: int = 1) -> np.ndarray:
    """(7, identities, size, size, channels) uint8: each identity (with its own nuisance) in every class, drawn at
    the class prototype's mean intensity (the faces `true_translation` uses as targets)."""
    faces = make_faces(identities, seed=seed, size=size, channels=channels)
    return np.stack([true_translations(faces.records, [c] * identities) for c in range(NUM_FER_CLASSES)])


def au_sweep(seed: int = 0, size: int = 128, channels: int = 3, intensities=SWEEP_INTENSITIES) -> np.ndarray:
    """(17, len(intensities), size, size, channels) uint8: one identity, upright and evenly lit (aligned framing as
    the AU data sets), each AU alone at each intensity."""
    identity = sample_identity(np.random.default_rng(seed), age_look=30)
    rows = []
    for index in range(NUM_AUS):
        row = []
        for value in intensities:
            aus = np.zeros(NUM_AUS, np.float32)
            aus[index] = value
            row.append(render(identity, aus, size, channels, zoom=0.85, aligned=True))
        rows.append(np.stack(row))
    return np.stack(rows)


def _save_grid(grid: np.ndarray, row_labels, column_labels, path: Path, title: str, cell_inches: float) -> Path:
    """A (rows, columns, H, W, C) uint8 grid with its row and column labels as a framed PNG."""
    from ccyclegan.viz import rows_grid, save_png

    picture = rows_grid(list(grid), row_titles=list(row_labels), column_titles=column_labels, title=title,
                        panel_inches=cell_inches, frame=True, dpi=80)
    return save_png(picture, path)


def save_pictures(out_dir, seed: int = 0) -> list[Path]:
    """Write `synthetic_classes.png` and `synthetic_au_sweep.png` into out_dir."""
    out = Path(out_dir)
    classes = _save_grid(class_grid(seed=seed), FER_CLASSES, None, out / "synthetic_classes.png",
                         "Synthetic FER2013 faces (48x48 gray): 7 classes x 8 identities", 0.9)
    labels = [f"AU{code:02d} {name}" for code, name in zip(AU_CODES, AU_NAMES)]
    sweep = _save_grid(au_sweep(seed=seed), labels, [f"{v:g}" for v in SWEEP_INTENSITIES],
                       out / "synthetic_au_sweep.png", "One identity, each AU alone at intensity 0..5 (128x128 RGB)", 1.5)
    return [classes, sweep]
