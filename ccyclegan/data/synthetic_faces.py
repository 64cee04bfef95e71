"""Rendering faces from a seed, re-rendering them from their records, and the ground truth of a translation.

A data set of faces is drawn from four independent random streams of one seed (identities, nuisances, class
labels, AUs), each consumed row by row, so the first k faces of `make_faces(n, seed=s)` are the faces of
`make_faces(k, seed=s)`, and a face re-rendered from its `FaceRecord` has the same bytes as in the data set.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ccyclegan.data import synthetic_render
from ccyclegan.data.photos import resize_image
from ccyclegan.data.synthetic_model import (
    ALIGNED_GEOMETRY,
    AU_SAMPLING_MODES,
    FER2013_CLASS_COUNTS,
    NUM_IDENTITY_UNIFORMS,
    NUM_NUISANCE_UNIFORMS,
    FaceRecord,
    Identity,
    Nuisance,
    aus_for_classes,
    class_mean_aus,
    columns_from_identities,
    columns_from_nuisances,
    identities_from_columns,
    identity_columns,
    nuisance_columns,
    nuisances_from_columns,
    sample_aus,
    sample_nuisance,
    validate_aus,
)
from ccyclegan.labels import FER_CLASSES, NUM_AUS, NUM_FER_CLASSES

L1_UNIT = "mean absolute pixel difference in [-1, 1] units (uint8 x -> x / 127.5 - 1; 1.0 = 127.5 gray levels)"
# A pixel counts as changed by the expression when input and truth differ by more than one gray level; input and
# truth share identity, nuisances and noise, so only the expression moves pixels.
CHANGED_PIXEL_THRESHOLD = 1.0 / 127.5
CLASS_SAMPLE_SEED = 0  # the random class expressions of the `class_sample` reference (fixed: a report is repeatable)
CLASS_FREQUENCIES = ("uniform", "fer2013")
_PIXELS_PER_BATCH = 1 << 21  # canvas pixels per rendering batch (bounds memory at large sizes)


@dataclass
class SyntheticFaces:
    """Rendered faces: images uint8 (n, size, size, channels), FER labels int64 (n,) or None, AUs float32 (n, 17),
    and one FaceRecord per face for re-rendering and ground truth."""

    images: np.ndarray
    labels: np.ndarray | None
    aus: np.ndarray
    records: list[FaceRecord]

    def __len__(self) -> int:
        return len(self.images)


def check_size(size: int, channels: int) -> None:
    if not (isinstance(size, (int, np.integer)) and synthetic_render.MIN_SIZE <= size <= synthetic_render.MAX_SIZE):
        raise ValueError(f"size must be an integer within {synthetic_render.MIN_SIZE}..{synthetic_render.MAX_SIZE} "
                         f"pixels, got {size!r}")
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (gray) or 3 (RGB), got {channels!r}")


def _render_batches(identity: dict, aus: np.ndarray, nuisance: dict, size: int, channels: int, zoom: float,
                    face_mask: bool, aligned: bool, progress=None) -> np.ndarray:
    n = len(aus)
    images = np.empty((n, size, size, channels), np.uint8)
    side = size * (2 if size < synthetic_render.SUPERSAMPLED_BELOW else 1)
    batch = max(1, min(256, _PIXELS_PER_BATCH // (side * side * channels)))
    for start in range(0, n, batch):
        rows = slice(start, min(n, start + batch))
        images[rows] = synthetic_render.render_columns(
            {k: v[rows] for k, v in identity.items()}, aus[rows], {k: v[rows] for k, v in nuisance.items()},
            size, channels, zoom, face_mask, aligned)
        if progress is not None:
            progress.update(rows.stop - rows.start)
    return images


def render(identity: Identity, aus, size: int = 48, channels: int = 1, rng: np.random.Generator | None = None,
           nuisance: Nuisance | None = None, *, zoom: float = 1.0, face_mask: bool = False,
           aligned: bool = False) -> np.ndarray:
    """One face as uint8 (size, size, channels), deterministic from its inputs.

    `aus`: 17 intensities 0..5 in ccyclegan.labels.AU_CODES order. Without `nuisance`, one is drawn from `rng`, and
    without either the face is drawn upright and centred, evenly lit, noise-free on a gray background. `zoom` < 1
    shows more of the head (1.0 is FER2013's tight crop); `aligned` puts the eye and mouth lines at fixed heights,
    as landmark-aligned crops do; `face_mask` blacks out everything but the face, as OpenFace's aligned images.
    """
    check_size(size, channels)
    if not isinstance(identity, Identity):
        raise TypeError(f"identity must be an Identity, got {type(identity).__name__}")
    aus = validate_aus(aus)
    if nuisance is not None and not isinstance(nuisance, Nuisance):
        raise TypeError(f"nuisance must be a Nuisance, got {type(nuisance).__name__}")
    if nuisance is None:
        nuisance = sample_nuisance(rng) if rng is not None else Nuisance()
    return _render_batches(columns_from_identities([identity]), aus[None], columns_from_nuisances([nuisance]), size,
                           channels, zoom, face_mask, aligned)[0]


def _class_cumulative(class_frequencies) -> np.ndarray:
    if isinstance(class_frequencies, str):
        if class_frequencies not in CLASS_FREQUENCIES:
            raise ValueError(f"class_frequencies must be one of {CLASS_FREQUENCIES} or 7 weights, "
                             f"got {class_frequencies!r}")
        weights = np.ones(NUM_FER_CLASSES) if class_frequencies == "uniform" else np.array(FER2013_CLASS_COUNTS, float)
    else:
        weights = np.asarray(class_frequencies, dtype=np.float64)
        if weights.shape != (NUM_FER_CLASSES,) or np.any(weights < 0) or weights.sum() <= 0:
            raise ValueError(f"class_frequencies must be 7 non-negative weights in the order {FER_CLASSES}")
    return np.cumsum(weights) / weights.sum()


def make_faces(n: int, *, seed: int, size: int = 48, channels: int = 1, labels="fer", nuisance_strength: float = 1.0,
               class_frequencies="uniform", identity: dict | None = None, zoom: float = 1.0, aligned: bool = False,
               face_mask: bool = False, progress: bool = False) -> SyntheticFaces:
    """Render `n` faces from `seed`.

    labels: "fer" (a FER class per face, AUs from its prototype with jitter; `class_frequencies` "uniform",
    "fer2013" (the real imbalance) or 7 weights), a sequence of n class indices, "random_aus" (every AU ~ U(0, 5)
    independently, no labels), "sparse_aus" (EmotioNet-like: each AU on with p=0.3, no labels), or None (no
    expression: every AU 0, no labels). identity: Identity fields to fix, each a value or n values (e.g.
    {"gender_look": 1} or {"age_look": ages}). nuisance_strength scales shifts, rotation, scale, lighting and noise;
    aligned faces (eye and mouth lines at fixed heights, as OpenFace/CelebA/UTKFace crops) keep only 30% of the
    shift, rotation and scale. zoom and face_mask: see `render`.
    """
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    check_size(size, channels)
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(4)]
    identity_rng, nuisance_rng, label_rng, au_rng = streams
    id_columns = identity_columns(identity_rng.random((n, NUM_IDENTITY_UNIFORMS)), identity)
    geometry = nuisance_strength * (ALIGNED_GEOMETRY if aligned else 1.0)
    nu_columns = nuisance_columns(nuisance_rng.random((n, NUM_NUISANCE_UNIFORMS)), nuisance_strength, geometry)
    label_uniforms, au_uniforms = label_rng.random(n), au_rng.random((n, 2 * NUM_AUS))

    class_labels = None
    if isinstance(labels, str) and labels == "fer":
        cumulative = _class_cumulative(class_frequencies)
        class_labels = np.minimum((label_uniforms[:, None] >= cumulative).sum(1), NUM_FER_CLASSES - 1).astype(np.int64)
        aus = sample_aus("fer", au_uniforms, class_labels)
    elif labels is None:
        aus = sample_aus("neutral", au_uniforms)
    elif isinstance(labels, str):
        if labels not in AU_SAMPLING_MODES or labels == "neutral":
            raise ValueError(f"labels must be 'fer', 'random_aus', 'sparse_aus', None or n class indices, got {labels!r}")
        aus = sample_aus(labels, au_uniforms)
    else:
        class_labels = np.asarray(labels, dtype=np.int64)
        if class_labels.shape != (n,) or np.any((class_labels < 0) | (class_labels >= NUM_FER_CLASSES)):
            raise ValueError(f"labels must hold {n} class indices within 0..{NUM_FER_CLASSES - 1}")
        aus = sample_aus("fer", au_uniforms, class_labels)

    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n, desc="rendering faces", unit="face")
    try:
        images = _render_batches(id_columns, aus, nu_columns, size, channels, zoom, face_mask, aligned, bar)
    finally:
        if bar is not None:
            bar.close()
    identities, nuisances = identities_from_columns(id_columns), nuisances_from_columns(nu_columns)
    label_list = [None] * n if class_labels is None else class_labels.tolist()
    records = [FaceRecord(identity=i, nuisance=u, aus=tuple(a), label=c, size=size, channels=channels,
                          face_mask=face_mask, zoom=zoom, aligned=aligned)
               for i, u, a, c in zip(identities, nuisances, aus.tolist(), label_list)]
    return SyntheticFaces(images=images, labels=class_labels, aus=aus, records=records)


# --- re-rendering and ground truth ----------------------------------------------------------------------------------


def _target_aus(target) -> np.ndarray:
    """A FER class index -> its prototype at mean intensity (`class_mean_aus`); 17 AUs -> themselves."""
    if np.ndim(target) == 0:
        index = int(target)
        if not 0 <= index < NUM_FER_CLASSES or index != target:
            raise ValueError(f"target class must be an integer 0..{NUM_FER_CLASSES - 1}, got {target!r}")
        return class_mean_aus(index)
    return validate_aus(target, "target AUs")


def render_records(records: Sequence[FaceRecord], aus=None, *, size: int | None = None,
                   channels: int | None = None) -> np.ndarray:
    """Re-render records (with their own AUs, or `aus` (n, 17) instead) as uint8 (n, size, size, channels).

    size/channels default to each record's own; records must then agree on them (a batch has one shape). At a size
    other than a record's own, the face is drawn at its own size and resized as the data loaders resize a stored face
    (`photos.resize_image`), so that it matches, pixel for pixel, what a model reading the data at that size was
    given; drawn directly at the smaller size, the strokes' anti-aliasing differs (0.016 mean L1 at 112 -> 64 px).
    """
    records = list(records)
    if not records:
        raise ValueError("no records to render")
    for i, r in enumerate(records):
        if not isinstance(r, FaceRecord):
            raise TypeError(f"records[{i}] is a {type(r).__name__}, not a FaceRecord")
    size = size if size is not None else records[0].size
    channels = channels if channels is not None else records[0].channels
    check_size(size, channels)
    aus = np.stack([r.aus_array() for r in records]) if aus is None else np.asarray(aus, np.float32)
    images = np.empty((len(records), size, size, channels), np.uint8)
    groups: dict[tuple, list[int]] = {}
    for i, r in enumerate(records):
        groups.setdefault((r.zoom, r.face_mask, r.aligned, r.size), []).append(i)
    for (zoom, face_mask, aligned, own_size), rows in groups.items():
        group = [records[i] for i in rows]
        drawn = _render_batches(columns_from_identities([r.identity for r in group]), aus[rows],
                                columns_from_nuisances([r.nuisance for r in group]), own_size, channels, zoom,
                                face_mask, aligned)
        if own_size != size:
            drawn = np.stack([resize_image(image, size).reshape(size, size, channels) for image in drawn])
        images[rows] = drawn
    return images


def true_translations(records: Sequence[FaceRecord], targets, *, size: int | None = None,
                      channels: int | None = None) -> np.ndarray:
    """The same identities and nuisances rendered with target expressions: targets (n,) FER classes (each class's
    prototype at its mean intensity, see `class_mean_aus`) or (n, 17) AU vectors."""
    records = list(records)
    targets = np.asarray(targets)
    shape_ok = targets.ndim == 1 or (targets.ndim == 2 and targets.shape[1] == NUM_AUS)
    if not shape_ok or len(targets) != len(records):
        raise ValueError(f"targets must be {len(records)} class indices or a ({len(records)}, {NUM_AUS}) AU array, "
                         f"got shape {targets.shape}")
    aus = np.stack([_target_aus(t) for t in targets]) if len(records) else np.zeros((0, NUM_AUS), np.float32)
    return render_records(records, aus, size=size, channels=channels)


def true_translation(record: FaceRecord, target, size: int | None = None, channels: int | None = None) -> np.ndarray:
    """The true translation of one sample: its identity and nuisance rendered with `target` (a FER class index,
    drawn at the class prototype's mean intensity, or 17 AU intensities). size/channels default to the record's."""
    target_aus = _target_aus(target)
    return render_records([record], target_aus[None], size=size, channels=channels)[0]


def _unit_range(images, what: str) -> np.ndarray:
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images.astype(np.float32) / 127.5 - 1.0
    images = images.astype(np.float32)
    if images.size and (not np.all(np.isfinite(images)) or images.min() < -1.0001 or images.max() > 1.0001):
        raise ValueError(f"{what}: float images must be finite and within [-1, 1]")
    return images


def mean_faces_by_class(images, labels) -> np.ndarray:
    """(7, H, W, C) float32 mean face of each FER class in [-1, 1]; every class must occur."""
    images = _unit_range(images, "images")
    labels = np.asarray(labels, dtype=np.int64)
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    counts = np.bincount(labels, minlength=NUM_FER_CLASSES)
    if counts.size > NUM_FER_CLASSES or np.any(counts == 0):
        missing = [FER_CLASSES[c] for c in range(NUM_FER_CLASSES) if counts[c] == 0]
        raise ValueError(f"class mean faces need every class; missing {missing}")
    return np.stack([images[labels == c].mean(axis=0) for c in range(NUM_FER_CLASSES)])


def ground_truth_errors(translated, records: Sequence[FaceRecord], targets, *, class_mean_faces=None,
                        attention=None) -> dict:
    """How far translations are from the truth, next to two baselines, as mean pixel L1 in [-1, 1] units.

    translated: (n, H, W, C) uint8 or float in [-1, 1]; records: the inputs' FaceRecords; targets: (n,) FER classes
    or (n, 17) AUs. The truth is rendered at the translations' size and channels. Baselines: `unchanged` (returning
    the input as it is) and, for class targets, `class_mean` (the mean face of the target class; pass
    `class_mean_faces` (7, H, W, C) from real training data, otherwise the inputs' own class means are used).
    For class targets, `class_sample` is a reference, not a baseline: the same faces rendered with a random
    expression of the target class (as the training data draws them), i.e. the score of a perfect generator that
    samples the class as the data does instead of returning its mean prototype.
    Returns {"translation", "unchanged", "class_mean", "class_sample" (both None for AU targets), "n", "unit",
    "per_class", "regions"};
    "regions" says where the error sits: the fraction of pixels the expression changes, and the translation's and
    the unchanged input's error on those pixels and on the rest (their sum, weighted by the fractions, is the mean).
    attention: the translations' (n, H, W, 1) masks in [0, 1] (1 = input kept), when the generator has an attention
    head; "regions" then also gives the mean mask on the changed pixels and on the rest (a good mask is low on the
    first, where the expression must be redrawn, and near 1 on the rest).
    """
    translated = _unit_range(translated, "translated")
    records = list(records)
    if translated.ndim != 4 or len(translated) != len(records) or translated.shape[1] != translated.shape[2]:
        raise ValueError(f"translated must be (n, H, H, C) with n = {len(records)} records, got {translated.shape}")
    size, channels = translated.shape[1], translated.shape[3]
    targets = np.asarray(targets)
    truth = _unit_range(true_translations(records, targets, size=size, channels=channels), "truth")
    inputs = _unit_range(render_records(records, size=size, channels=channels), "inputs")
    pixel_errors, pixel_changes = np.abs(translated - truth), np.abs(inputs - truth)
    if attention is not None:
        attention = np.asarray(attention, np.float32)
        if attention.shape != translated.shape[:3] + (1,):
            raise ValueError(f"attention must be {translated.shape[:3] + (1,)} (one mask per translation), "
                             f"got {attention.shape}")
        if not np.all((attention >= 0) & (attention <= 1)):
            raise ValueError("attention masks must lie in [0, 1]")
        attention = np.broadcast_to(attention, translated.shape)
    errors = pixel_errors.mean(axis=(1, 2, 3))
    result = {"translation": float(errors.mean()), "unchanged": float(pixel_changes.mean()),
              "class_mean": None, "class_sample": None, "n": len(records), "unit": L1_UNIT, "per_class": None,
              "regions": _error_regions(pixel_errors, pixel_changes, attention)}
    if targets.ndim == 1:
        if class_mean_faces is None:
            labels = [r.label for r in records]
            if any(label is None for label in labels):
                raise ValueError("records without a FER label: pass class_mean_faces for the class-mean baseline")
            means = mean_faces_by_class(inputs, labels)
        else:
            means = _unit_range(class_mean_faces, "class_mean_faces")
            if means.shape != (NUM_FER_CLASSES,) + truth.shape[1:]:
                raise ValueError(f"class_mean_faces must be {(NUM_FER_CLASSES,) + truth.shape[1:]}, got {means.shape}")
        result["class_mean"] = float(np.abs(means[targets.astype(np.int64)] - truth).mean())
        sampled_aus = aus_for_classes(targets, np.random.default_rng(CLASS_SAMPLE_SEED).random((len(records), NUM_AUS)))
        sampled = _unit_range(render_records(records, sampled_aus, size=size, channels=channels), "class samples")
        result["class_sample"] = float(np.abs(sampled - truth).mean())
        result["per_class"] = {FER_CLASSES[c]: float(errors[targets == c].mean())
                               for c in range(NUM_FER_CLASSES) if np.any(targets == c)}
    return result


def _error_regions(pixel_errors: np.ndarray, pixel_changes: np.ndarray, attention: np.ndarray | None = None) -> dict:
    changed = pixel_changes > CHANGED_PIXEL_THRESHOLD

    def mean_over(values, mask):
        return float(values[mask].mean()) if mask.any() else None

    regions = {"changed_fraction": float(changed.mean()),
               "translation_on_changed": mean_over(pixel_errors, changed),
               "translation_on_unchanged": mean_over(pixel_errors, ~changed),
               "unchanged_on_changed": mean_over(pixel_changes, changed)}
    if attention is not None:
        regions.update(attention_on_changed=mean_over(attention, changed),
                       attention_on_unchanged=mean_over(attention, ~changed))
    return regions


def with_names(records: Sequence[FaceRecord], names: Sequence[str]) -> list[FaceRecord]:
    """Records with their place in a written data set filled in."""
    return [dataclasses.replace(r, name=name) for r, name in zip(records, names)]
