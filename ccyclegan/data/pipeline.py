"""The one tf.data pipeline every trainer uses.

Readers hand over uint8 images (N, H, W, C) or float images already in [-1, 1]; the pipeline converts to float32
[-1, 1] per batch element, so a whole data set is never held as floats. Every random choice (order, flips, draws with
replacement) comes from the `seed`, so two pipelines built with the same seed yield the same batches.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

SAMPLING_MODES = ("epoch", "replacement")


def to_unit_range(images: tf.Tensor) -> tf.Tensor:
    """uint8 0..255 -> float32 [-1, 1]; float input is taken to be in [-1, 1] already."""
    if images.dtype == tf.uint8:
        return tf.cast(images, tf.float32) / 127.5 - 1.0
    return tf.cast(images, tf.float32)


def unit_range_array(images: np.ndarray) -> np.ndarray:
    """The numpy twin of `to_unit_range`, for code that feeds models outside tf.data (evaluation, sample grids)."""
    images = np.asarray(images)
    return images.astype(np.float32) / 127.5 - 1.0 if images.dtype == np.uint8 else images.astype(np.float32)


def steps_per_epoch(num_examples: int, batch_size: int) -> int:
    """Full batches in one pass over the data (the originals' `n_batches = int(N / B)`)."""
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    steps = num_examples // batch_size
    if steps == 0:
        raise ValueError(f"{num_examples} examples make no full batch of {batch_size}; lower the batch size")
    return steps


def _check_arrays(images: np.ndarray, labels) -> None:
    if images.ndim != 4:
        raise ValueError(f"images must be (N, H, W, C); got shape {images.shape}")
    if len(images) == 0:
        raise ValueError("no images to build a data set from")
    if labels is not None and len(labels) != len(images):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")


def check_faces_and_aus(images, aus, image_shape: tuple[int, int, int], num_aus: int,
                        au_max: float | None = None, au_units: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Faces (N, H, W, C) of the networks' `image_shape` and their (N, num_aus) AU vectors, as arrays; a ValueError
    names the shape that differs, or (given `au_max`) AU values outside 0..au_max (`au_units` says which units)."""
    images, aus = np.asarray(images), np.asarray(aus, np.float32)
    if images.ndim != 4 or images.shape[1:] != tuple(image_shape):
        raise ValueError(f"the networks take {'x'.join(map(str, image_shape))} faces; the data are "
                         f"{images.shape[1:]} (set --image-size to read them at the networks' size)")
    if aus.shape != (len(images), num_aus):
        raise ValueError(f"{len(images)} faces need AU vectors of shape ({len(images)}, {num_aus}), got {aus.shape}")
    if au_max is not None and (not np.all(np.isfinite(aus)) or aus.min() < 0 or aus.max() > au_max + 1e-6):
        units = f" ({au_units})" if au_units else ""
        raise ValueError(f"AU vectors must lie in 0..{au_max:g}{units}; got {np.nanmin(aus):g}..{np.nanmax(aus):g}")
    return images, aus


def _augment(seed: int, flip: bool):
    """Map function: normalise, then flip left-right with p=0.5 from a per-element stateless seed."""

    def apply(index, element):
        image, *rest = element if isinstance(element, tuple) else (element,)
        image = to_unit_range(image)
        if flip:
            image = tf.image.stateless_random_flip_left_right(image, seed=tf.stack([tf.cast(seed, tf.int64), index]))
        return (image, *rest) if rest else image

    return apply


PREFETCH_BATCHES = 2


def _batched(ds: tf.data.Dataset, batch_size: int, drop_remainder: bool = True) -> tf.data.Dataset:
    """Batches, prefetched, with tf.data's autotuning thread off.

    Why: the training loop makes a new iterator every epoch and drops the last one, and with the autotuner on,
    dropping it waited on the autotuner's thread (the stack: `~RootDataset::Iterator` joining it; that thread's
    rounds grow up to a minute apart): 25-60 s at every epoch's end of an AU run, a fifth to a third of its time
    (`bench/bench_pipeline.py`). The map functions are light (normalise, flip), so the default parallelism and a
    fixed prefetch lose nothing.
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(PREFETCH_BATCHES).with_options(options)


def image_dataset(
    images: np.ndarray,
    labels: np.ndarray | None = None,
    *,
    batch_size: int,
    shuffle: bool = True,
    flip: bool = False,
    seed: int = 0,
    repeat: bool = True,
    drop_remainder: bool = True,
    sampling: str = "epoch",
    extra: Sequence[np.ndarray] = (),
) -> tf.data.Dataset:
    """Batches of `(images, labels, *extra)` (or `(images, *extra)` without labels), images float32 in [-1, 1].

    sampling: "epoch" visits every example once per pass in a fresh order (the default); "replacement" draws each
    batch with replacement as the originals' loaders do (`np.random.choice`), so about 37% of examples are unseen
    in an "epoch". `extra` arrays (e.g. AU vectors, identities) travel with each image.
    """
    if sampling not in SAMPLING_MODES:
        raise ValueError(f"sampling must be one of {SAMPLING_MODES}, got {sampling!r}")
    _check_arrays(images, labels)
    for array in extra:
        if len(array) != len(images):
            raise ValueError(f"{len(images)} images but an extra array of length {len(array)}")
    tensors = (images,) + (() if labels is None else (labels,)) + tuple(extra)
    n = len(images)

    if sampling == "replacement":
        constants = tuple(tf.constant(t) for t in tensors)
        indices = tf.data.Dataset.random(seed=seed).map(lambda r: tf.math.floormod(r, n))
        if not repeat:
            indices = indices.take(n)
        ds = indices.map(lambda i: tuple(tf.gather(t, i) for t in constants), num_parallel_calls=tf.data.AUTOTUNE)
    else:
        ds = tf.data.Dataset.from_tensor_slices(tensors)
        if shuffle:
            ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
        if repeat:
            ds = ds.repeat()
    ds = ds.enumerate().map(_augment(seed, flip), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return _batched(ds, batch_size, drop_remainder)


def class_balanced_dataset(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    num_classes: int,
    batch_size: int,
    flip: bool = False,
    seed: int = 0,
) -> tf.data.Dataset:
    """Endless batches in which every class is equally likely: one shuffled stream per class, sampled uniformly.

    For class-conditional sampling (e.g. rare FER2013 Disgust, 547 of 35,887). Every class must have an example.
    """
    _check_arrays(images, labels)
    labels = np.asarray(labels)
    missing = [c for c in range(num_classes) if not np.any(labels == c)]
    if missing:
        raise ValueError(f"class-balanced sampling needs every class; classes {missing} have no example")
    streams = []
    for c in range(num_classes):
        members = np.flatnonzero(labels == c)
        stream = tf.data.Dataset.from_tensor_slices((images[members], labels[members]))
        streams.append(stream.shuffle(len(members), seed=seed + c).repeat())
    ds = tf.data.Dataset.sample_from_datasets(streams, weights=[1.0 / num_classes] * num_classes, seed=seed)
    ds = ds.enumerate().map(_augment(seed, flip), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return _batched(ds, batch_size)


def unpaired_domains(domain_a: np.ndarray, domain_b: np.ndarray, *, batch_size: int, flip: bool = True,
                     seed: int = 0) -> tf.data.Dataset:
    """Endless batches `(images_a, images_b)` from two independently shuffled domains (CycleGAN's unpaired data)."""
    stream_a = image_dataset(domain_a, batch_size=batch_size, flip=flip, seed=seed)
    stream_b = image_dataset(domain_b, batch_size=batch_size, flip=flip, seed=seed + 1)
    return tf.data.Dataset.zip((stream_a, stream_b))


def file_dataset(
    paths: Sequence[str],
    labels: np.ndarray | None = None,
    *,
    size: int,
    channels: int,
    batch_size: int,
    shuffle: bool = True,
    flip: bool = False,
    seed: int = 0,
    repeat: bool = True,
) -> tf.data.Dataset:
    """Like `image_dataset`, but decodes image files (JPEG, PNG, BMP) on the fly and resizes them to `size`.

    For data sets too large to hold in memory (e.g. 128,580 EmotioNet faces are 19 GB as float32).
    """
    if len(paths) == 0:
        raise ValueError("no image files to build a data set from")
    if labels is not None and len(labels) != len(paths):
        raise ValueError(f"{len(paths)} files but {len(labels)} labels")
    tensors = (list(map(str, paths)),) + (() if labels is None else (labels,))
    ds = tf.data.Dataset.from_tensor_slices(tensors)
    if shuffle:
        ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()

    def decode(path, *rest):
        image = tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)
        image = tf.image.resize(image, (size, size), method="area")
        return (tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8), *rest)

    ds = ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.enumerate().map(_augment(seed, flip), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return _batched(ds, batch_size)
