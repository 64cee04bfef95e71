"""Action Unit vectors for every AU-conditioned family: parsing what users type, edits, training targets, sweeps.

Models see AU intensities in *model units*: the 17 OpenFace intensities (0..5, `labels.AU_CODES` order) divided by
`scale` (5 by default, as the data sources normalise them), so in [0, 1]. Users type intensities in OpenFace units
("AU12=3"); the functions here convert, validate and name the offending item in every error.
"""

from __future__ import annotations

import re

import numpy as np
import tensorflow as tf

from ccyclegan.errors import UsageError
from ccyclegan.labels import AU_CODES, AU_MAX_INTENSITY, NUM_AUS, au_index

# FACS prototypes of the basic expressions (the AU family's AU2Emotion table, from the iMotions FACS guide), by AU
# code. Disgust (AU9, AU15, AU16 in FACS) was commented out in the original; AU16 is not one of OpenFace's 17
# intensities, so it is AU9 + AU15 here. Neutral is every AU at 0.
EXPRESSION_AUS = {
    "happy": (6, 12),
    "sad": (1, 4, 15),
    "surprise": (1, 2, 5, 26),
    "fear": (1, 2, 4, 5, 7, 20, 26),
    "angry": (4, 5, 7, 23),
    "contempt": (12, 14),
    "disgust": (9, 15),
    "neutral": (),
}
_EXPRESSION_ALIASES = {"joy": "happy", "sadness": "sad", "anger": "angry"}
_ITEM = re.compile(r"^AU0*(\d+)\s*=\s*(.+)$", re.IGNORECASE)


def _number(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{where}: {text!r} is not a number") from None
    if not np.isfinite(value):
        raise UsageError(f"{where}: {text!r} is not a finite number")
    return value


def _items(text: str, what: str) -> list[str]:
    if not isinstance(text, str) or not text.strip():
        raise UsageError(f"{what} is empty; give e.g. 'AU12=3,AU06=2' (intensities 0..5) or 17 comma-separated values")
    return [item.strip() for item in re.split(r"[,;]", text.strip()) if item.strip()]


def _named_values(items: list[str], what: str) -> dict[int, str]:
    """{AU index: value text} of 'AUxx=value' items; an unknown AU or one named twice is an error."""
    values: dict[int, str] = {}
    for item in items:
        match = _ITEM.match(item)
        if not match:
            raise UsageError(f"{what}: {item!r} is not of the form AUxx=value (e.g. AU12=3)")
        code = int(match.group(1))
        try:
            index = au_index(code)
        except ValueError as error:
            raise UsageError(f"{what}: {item!r}: {error}") from None
        if index in values:
            raise UsageError(f"{what}: AU{code:02d} is given twice")
        values[index] = match.group(2).strip()
    return values


def _check_scale(scale: float) -> float:
    scale = float(scale)
    if not scale > 0:
        raise UsageError(f"the AU scale must be positive, got {scale}")
    return scale


def parse_aus(text: str, scale: float = AU_MAX_INTENSITY, *, what: str = "--aus") -> np.ndarray:
    """A target AU vector from 'AU12=3,AU06=2' (unnamed AUs are 0) or 17 comma-separated intensities, in OpenFace
    units 0..`scale`; returned in model units (divided by `scale`), float32 of shape (17,)."""
    scale = _check_scale(scale)
    items = _items(text, what)
    vector = np.zeros(NUM_AUS, np.float64)
    if any("=" in item for item in items):
        for index, value in _named_values(items, what).items():
            vector[index] = _number(value, f"{what}: AU{AU_CODES[index]:02d}")
    else:
        if len(items) != NUM_AUS:
            raise UsageError(f"{what}: {len(items)} values given; a bare vector needs all {NUM_AUS} AU intensities in "
                             f"the order {', '.join(f'AU{code:02d}' for code in AU_CODES)} (or name them: AU12=3)")
        for index, item in enumerate(items):
            vector[index] = _number(item, f"{what}: value {index + 1} (AU{AU_CODES[index]:02d})")
    for index, value in enumerate(vector):
        if not 0.0 <= value <= scale:
            raise UsageError(f"{what}: AU{AU_CODES[index]:02d}={value:g} is outside the intensity range 0..{scale:g}")
    return (vector / scale).astype(np.float32)


def parse_au_deltas(text: str, scale: float = AU_MAX_INTENSITY, *, what: str = "--aus-delta") -> np.ndarray:
    """Relative edits 'AU12=+2,AU04=-1' (OpenFace units) as a (17,) float32 vector of changes in model units."""
    scale = _check_scale(scale)
    deltas = np.zeros(NUM_AUS, np.float64)
    for index, value in _named_values(_items(text, what), what).items():
        delta = _number(value, f"{what}: AU{AU_CODES[index]:02d}")
        if abs(delta) > scale:
            raise UsageError(f"{what}: AU{AU_CODES[index]:02d} changes by {delta:+g}, more than the whole range "
                             f"0..{scale:g}")
        deltas[index] = delta
    return (deltas / scale).astype(np.float32)


def _au_array(aus, what: str) -> np.ndarray:
    array = np.asarray(aus, np.float32)
    if array.shape[-1:] != (NUM_AUS,):
        raise UsageError(f"{what} must have {NUM_AUS} AU values in its last axis, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise UsageError(f"{what} holds NaN or infinite values")
    return array


def apply_au_deltas(aus, deltas) -> np.ndarray:
    """`aus` (17,) or (N, 17) in model units plus `deltas` (17,), clipped to the valid range [0, 1]."""
    return np.clip(_au_array(aus, "the AU vectors") + _au_array(deltas, "the AU changes"), 0.0, 1.0)


def targets_from_other_samples(aus, seed, noise: float = 0.1, clip: bool = True, count: int = 1) -> tf.Tensor:
    """Training targets: the AU vectors of randomly chosen samples of the batch plus U(-noise, noise) on every AU.

    GANimation (vipermu) and the AU family draw the targets from random training samples (with replacement, so a
    sample may draw its own AUs) and add uniform noise; here each of `count` targets per sample comes from a random
    permutation of the batch (a sample may get its own AUs back, as there; the targets keep the data's joint AU
    statistics), the result (count * B, 17) in the order [target 1 of every sample, target 2, ...].
    `clip` keeps the targets in [0, 1] (vipermu clamps; the official GANimation does not). `seed` is a stateless
    seed (shape (2,) int), so a step is reproducible and resumable.
    """
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    aus = tf.convert_to_tensor(aus, tf.float32)
    batch = tf.shape(aus)[0]
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=2 * count)
    targets = []
    for k in range(count):
        order = tf.argsort(tf.random.stateless_uniform([batch], seed=seeds[2 * k]))
        jitter = tf.random.stateless_uniform(tf.shape(aus), seed=seeds[2 * k + 1], minval=-noise, maxval=noise)
        targets.append(tf.gather(aus, order) + jitter)
    targets = tf.concat(targets, axis=0)
    return tf.clip_by_value(targets, 0.0, 1.0) if clip else targets


def interpolate_aus(start, end, steps: int) -> np.ndarray:
    """`steps` AU vectors from `start` to `end` (both included), linearly: the frames of an animation."""
    if int(steps) < 2:
        raise UsageError(f"an interpolation needs at least 2 steps (start and end), got {steps}")
    start, end = _au_array(start, "the start AU vector"), _au_array(end, "the end AU vector")
    weights = np.linspace(0.0, 1.0, int(steps), dtype=np.float32)[:, None]
    return ((1.0 - weights) * start + weights * end).astype(np.float32)


def au_sweep(base, au_codes, intensities=(0, 1, 2, 3, 4, 5), scale: float = AU_MAX_INTENSITY) -> np.ndarray:
    """The AU-edit grid's targets, (len(au_codes), len(intensities), 17): row r is `base` with AU au_codes[r] set
    to each intensity (OpenFace units) in turn."""
    scale = _check_scale(scale)
    base = _au_array(base, "the base AU vector")
    if base.ndim != 1:
        raise UsageError(f"the base AU vector must be one vector of {NUM_AUS}, got shape {base.shape}")
    if not au_codes:
        raise UsageError("name at least one AU to sweep")
    values = np.asarray(intensities, np.float32)
    if values.size == 0 or np.any(values < 0) or np.any(values > scale):
        raise UsageError(f"sweep intensities must be in 0..{scale:g}, got {list(values)}")
    grid = np.repeat(np.repeat(base[None, None], len(au_codes), 0), len(values), 1)
    for row, code in enumerate(au_codes):
        try:
            grid[row, :, au_index(code)] = values / scale
        except ValueError as error:
            raise UsageError(str(error)) from None
    return grid


def expression_aus(name: str, intensity: float = 3.0, scale: float = AU_MAX_INTENSITY) -> np.ndarray:
    """The FACS prototype of expression `name` (happy, sad, surprise, fear, angry, contempt, disgust, neutral;
    FER names and joy/sadness/anger accepted) with its AUs at `intensity`, in model units."""
    scale = _check_scale(scale)
    key = _EXPRESSION_ALIASES.get(str(name).strip().lower(), str(name).strip().lower())
    if key not in EXPRESSION_AUS:
        raise UsageError(f"unknown expression {name!r}; expected one of {', '.join(EXPRESSION_AUS)}")
    if not 0 <= intensity <= scale:
        raise UsageError(f"expression intensity must be in 0..{scale:g}, got {intensity}")
    vector = np.zeros(NUM_AUS, np.float32)
    for code in EXPRESSION_AUS[key]:
        vector[au_index(code)] = intensity / scale
    return vector


def format_aus(vector, scale: float = AU_MAX_INTENSITY, threshold: float = 0.05) -> str:
    """'AU06=2.0,AU12=3.0': the AUs of a model-unit vector at or above `threshold` (OpenFace units), for titles and
    file names; 'neutral' when none is."""
    values = _au_array(vector, "the AU vector").reshape(-1)
    if values.size != NUM_AUS:
        raise UsageError(f"format_aus takes one vector of {NUM_AUS} AUs, got {values.size} values")
    active = [f"AU{code:02d}={value * scale:.1f}" for code, value in zip(AU_CODES, values) if value * scale >= threshold]
    return ",".join(active) if active else "neutral"
