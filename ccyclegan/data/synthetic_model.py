"""What a synthetic face is made of: its identity, the nuisances of one photo, and its expression as 17 AUs.

Everything here is plain data plus the samplers that draw it from a seed; `synthetic_render` turns it into pixels.
Sampled floats are rounded to 4 decimals (AUs to 2, as OpenFace writes them) so that a JSON sidecar stores them
exactly in few characters and a face re-rendered from its record is byte-identical to the one written.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field

import numpy as np

from ccyclegan.labels import AU_CODES, AU_MAX_INTENSITY, FER_CLASSES, NUM_AUS, au_index

# Bump when the drawing changes: records written by another version would not re-render to the same pixels.
RENDERER_VERSION = 1

Color = tuple[float, float, float]  # RGB, 0..255

# --- expressions ---------------------------------------------------------------------------------------------------

# FER2013 class index (ccyclegan.labels.FER_CLASSES order) -> the AUs of its prototype (FACS / EMFACS).
CLASS_PROTOTYPE_AU_CODES: dict[int, tuple[int, ...]] = {
    FER_CLASSES.index("Angry"): (4, 5, 7, 23),
    FER_CLASSES.index("Disgust"): (9, 10, 15, 17),
    FER_CLASSES.index("Fear"): (1, 2, 4, 5, 7, 20, 26),
    FER_CLASSES.index("Happy"): (6, 12),
    FER_CLASSES.index("Sad"): (1, 4, 15),
    FER_CLASSES.index("Surprise"): (1, 2, 5, 26),
    FER_CLASSES.index("Neutral"): (),
}
# A prototype AU is drawn from U(ACTIVE_AU_RANGE) (subtle to extreme, as FER2013's faces); every other AU from
# U(0, INACTIVE_AU_MAX) ("small noise only").
ACTIVE_AU_RANGE = (1.0, 5.0)
INACTIVE_AU_MAX = 0.5
# Real FER2013 class counts (anchors.md), for data sets that mimic its imbalance.
FER2013_CLASS_COUNTS = (4953, 547, 5121, 8989, 6077, 4002, 6198)
# How likely each AU is to be active in "sparse_aus" sampling (EmotioNet-like: most AUs off in most faces).
SPARSE_AU_PROBABILITY = 0.3

AU_SAMPLING_MODES = ("fer", "random_aus", "sparse_aus", "neutral")


def _prototype_mask(fer_class: int) -> np.ndarray:
    if not 0 <= int(fer_class) < len(FER_CLASSES):
        raise ValueError(f"FER class {fer_class} is outside 0..{len(FER_CLASSES) - 1}")
    mask = np.zeros(NUM_AUS, bool)
    for code in CLASS_PROTOTYPE_AU_CODES[int(fer_class)]:
        mask[au_index(code)] = True
    return mask


def _round_aus(aus: np.ndarray) -> np.ndarray:
    return np.round(np.clip(aus, 0.0, AU_MAX_INTENSITY), 2).astype(np.float32)


def aus_for_classes(labels, uniforms: np.ndarray) -> np.ndarray:
    """(n, 17) float32 AUs of faces of the given FER classes from (n, 17) uniform numbers (see `class_aus`)."""
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    masks = np.stack([_prototype_mask(c) for c in range(len(FER_CLASSES))])[labels]
    low, high = ACTIVE_AU_RANGE
    return _round_aus(np.where(masks, low + (high - low) * uniforms, INACTIVE_AU_MAX * uniforms))


def class_aus(fer_class: int, rng: np.random.Generator) -> np.ndarray:
    """(17,) float32 AU intensities of one face of `fer_class`: its prototype AUs ~ U(1, 5), the rest ~ U(0, 0.5)."""
    _prototype_mask(fer_class)
    return aus_for_classes([fer_class], rng.random((1, NUM_AUS)))[0]


def class_mean_aus(fer_class: int) -> np.ndarray:
    """The expected value of `class_aus`: prototype AUs at 3.0, the others at 0.25 (the class's true target)."""
    mask = _prototype_mask(fer_class)
    return _round_aus(np.where(mask, sum(ACTIVE_AU_RANGE) / 2, INACTIVE_AU_MAX / 2))


def sample_aus(mode: str, uniforms: np.ndarray, labels=None) -> np.ndarray:
    """(n, 17) AU vectors from (n, 34) uniform numbers: 'fer' (class prototypes of `labels`), 'random_aus' (every
    AU ~ U(0, 5) independently), 'sparse_aus' (each AU on with p=0.3 at U(0.5, 5), like EmotioNet where most AUs are
    off in most faces), 'neutral' (all zero)."""
    u = np.asarray(uniforms, dtype=np.float64)
    if mode == "fer":
        if labels is None or len(labels) != len(u):
            raise ValueError("'fer' AU sampling needs one class label per face")
        return aus_for_classes(labels, u[:, :NUM_AUS])
    if mode == "random_aus":
        return _round_aus(u[:, :NUM_AUS] * AU_MAX_INTENSITY)
    if mode == "sparse_aus":
        return _round_aus(np.where(u[:, :NUM_AUS] < SPARSE_AU_PROBABILITY, 0.5 + 4.5 * u[:, NUM_AUS:], 0.0))
    if mode == "neutral":
        return np.zeros((len(u), NUM_AUS), np.float32)
    raise ValueError(f"unknown AU sampling mode {mode!r}; expected one of {AU_SAMPLING_MODES}")


def validate_aus(aus, where: str = "aus") -> np.ndarray:
    """(17,) float32 in 0..5, or a one-line error saying what is wrong."""
    array = np.asarray(aus, dtype=np.float32)
    if array.shape != (NUM_AUS,):
        raise ValueError(f"{where}: expected {NUM_AUS} AU intensities in the order {AU_CODES}, got shape {array.shape}")
    if not np.all(np.isfinite(array)) or array.min() < 0 or array.max() > AU_MAX_INTENSITY:
        raise ValueError(f"{where}: AU intensities must be finite and within 0..{AU_MAX_INTENSITY:g}, got {array}")
    return array


# --- identity ------------------------------------------------------------------------------------------------------

HAIR_STYLES = ("buzz", "short", "side_part", "fringe", "long", "bob")
UTKFACE_RACES = ("White", "Black", "Asian", "Indian", "Others")


@dataclass(frozen=True)
class Identity:
    """Who the face is: geometry, colours, hair and the UTKFace-style attributes, in canonical face units.

    Canonical units: the image spans -1..1 in x (right) and y (down) before the nuisance transform, so 0.1 is 5% of
    the image width. `age_look` is in years, `gender_look` 0 male / 1 female, `ethnicity_look` 0..4 in UTKFace's
    race order (White, Black, Asian, Indian, Others); they drive wrinkles, grey hair, hair length, beard and the
    skin-tone range when sampled, and are written into UTKFace file names.
    """

    face_width: float = 0.69  # half width of the face
    face_height: float = 0.95  # half height of the face
    jaw: float = 0.5  # 0 pointed chin .. 1 square jaw
    skin: Color = (220.0, 180.0, 150.0)
    eye_spacing: float = 0.30  # half distance between the eye centres
    eye_size: float = 1.0  # multiplier of the base eye half-width 0.13
    eye_height: float = -0.06  # y of the eye centres
    iris: Color = (90.0, 60.0, 40.0)
    brow_thickness: float = 0.05
    brow_gap: float = 0.165  # brow above the eye centre
    brow_arch: float = 0.02
    nose_length: float = 0.33  # nose tip below the eye line
    nose_width: float = 0.12  # half width of the nostrils
    mouth_gap: float = 0.175  # mouth line below the nose tip
    mouth_width: float = 0.235  # half width of the mouth
    lip_thickness: float = 0.045
    lips: Color = (180.0, 100.0, 100.0)
    hair_style: int = 1  # index into HAIR_STYLES
    hair: Color = (60.0, 40.0, 30.0)
    hairline: float = 0.5  # 0 low forehead .. 1 high (receding)
    hair_volume: float = 0.06
    ear_size: float = 1.0
    beard: float = 0.0  # 0 none .. 1 full beard (0.2-0.4 reads as stubble)
    wrinkles: float = 0.0  # 0 .. 1, grows with age
    grey: float = 0.0  # share of grey in hair and brows
    shirt: Color = (60.0, 90.0, 140.0)
    age_look: int = 30
    gender_look: int = 0
    ethnicity_look: int = 0

    def __post_init__(self):
        if not 0 <= self.hair_style < len(HAIR_STYLES):
            raise ValueError(f"hair_style {self.hair_style} is outside 0..{len(HAIR_STYLES) - 1} {HAIR_STYLES}")
        if self.gender_look not in (0, 1):
            raise ValueError(f"gender_look must be 0 (male) or 1 (female), got {self.gender_look}")
        if not 0 <= self.ethnicity_look < len(UTKFACE_RACES):
            raise ValueError(f"ethnicity_look {self.ethnicity_look} is outside 0..4 {UTKFACE_RACES}")
        if not 0 <= self.age_look <= 116:
            raise ValueError(f"age_look {self.age_look} is outside UTKFace's 0..116 years")

    def to_dict(self) -> dict:
        return _to_dict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Identity:
        return _from_dict(cls, data)


@dataclass(frozen=True)
class Nuisance:
    """What changes between two photos of the same face in the same expression.

    shift_x/shift_y are fractions of the image width/height, rotation is in degrees (clockwise), scale multiplies
    the face size; lighting multiplies each pixel by 1 + light_strength * (its position along light_angle, -1..1);
    Gaussian noise of noise_sigma gray levels comes from noise_seed; background is the RGB colour behind the head.
    """

    shift_x: float = 0.0
    shift_y: float = 0.0
    scale: float = 1.0
    rotation: float = 0.0
    light_angle: float = 0.0
    light_strength: float = 0.0
    noise_sigma: float = 0.0
    noise_seed: int = 0
    background: Color = (128.0, 128.0, 128.0)

    def to_dict(self) -> dict:
        return _to_dict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Nuisance:
        return _from_dict(cls, data)


def _to_dict(instance) -> dict:
    return {f.name: list(v) if isinstance(v := getattr(instance, f.name), tuple) else v
            for f in dataclasses.fields(instance)}


@functools.cache
def _schema(cls) -> dict[str, str]:
    """Field name -> annotated type name ('float', 'int', 'Color') of a dataclass."""
    return {f.name: f.type for f in dataclasses.fields(cls)}


def _from_dict(cls, data: dict):
    """Rebuild a dataclass from `to_dict` output; unknown or missing keys are an error, not ignored."""
    if not isinstance(data, dict):
        raise ValueError(f"{cls.__name__}: expected a JSON object, got {type(data).__name__}")
    schema = _schema(cls)
    if data.keys() != schema.keys():
        unknown, missing = sorted(set(data) - set(schema)), sorted(set(schema) - set(data))
        raise ValueError(f"{cls.__name__}: unknown keys {unknown}, missing keys {missing}")
    values = {}
    try:
        for name, kind in schema.items():
            value = data[name]
            if kind == "Color":
                if not (isinstance(value, list) and len(value) == 3):
                    raise ValueError(f"{cls.__name__}.{name}: expected an [R, G, B] list, got {value!r}")
                value = (float(value[0]), float(value[1]), float(value[2]))
            else:
                value = int(value) if kind == "int" else float(value)
            values[name] = value
    except TypeError:
        raise ValueError(f"{cls.__name__}.{name}: not a number: {data[name]!r}") from None
    return cls(**values)


def _round(values, decimals: int = 4) -> np.ndarray:
    """Round sampled parameters so that JSON stores them exactly in few characters."""
    return np.round(np.asarray(values, dtype=np.float64), decimals)


def _colors(values) -> np.ndarray:
    return _round(np.clip(values, 0.0, 255.0), 2)


def _mix(a, b, k) -> np.ndarray:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return a + (b - a) * np.asarray(k, float).reshape(-1, 1)


def _pick(u: np.ndarray, cumulative: np.ndarray) -> np.ndarray:
    """Index drawn from per-row cumulative weights (n, k) by one uniform number each."""
    return np.minimum((u[:, None] >= cumulative).sum(axis=1), cumulative.shape[1] - 1)


def _cumulative(weights) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    return np.cumsum(w, axis=-1) / w.sum(axis=-1, keepdims=True)


# Skin tone per ethnicity: a lightness range between a dark and a light anchor colour, and a yellow tint.
_SKIN_DARK, _SKIN_LIGHT = np.array([70.0, 45.0, 35.0]), np.array([250.0, 222.0, 200.0])
_SKIN_TONE_LOW = np.array([0.72, 0.12, 0.62, 0.38, 0.45])
_SKIN_TONE_HIGH = np.array([0.95, 0.42, 0.86, 0.62, 0.8])
_SKIN_YELLOW = np.array([0.0, 0.0, 0.6, 0.2, 0.3])
_HAIR_COLORS = np.array([(25, 20, 18), (60, 40, 28), (110, 75, 45), (200, 160, 100), (150, 70, 35)], float)
_HAIR_COLOR_CUMULATIVE = _cumulative([(0.2, 0.35, 0.2, 0.17, 0.08), (0.85, 0.15, 0, 0, 0), (0.85, 0.15, 0, 0, 0),
                                      (0.8, 0.2, 0, 0, 0), (0.6, 0.3, 0.07, 0.03, 0)])
_IRIS_COLORS = np.array([(70, 45, 30), (110, 75, 45), (80, 110, 150), (90, 110, 80), (100, 100, 100)], float)
_IRIS_CUMULATIVE = _cumulative([(0.5, 0.25, 0.15, 0.1, 0.05)] + [(0.8, 0.2, 0, 0, 0)] * 4)
_RACE_CUMULATIVE = _cumulative([(0.42, 0.19, 0.15, 0.17, 0.07)])  # UTKFace's rough mix
_AGE_KNOTS = np.array([1, 5, 13, 20, 30, 40, 50, 60, 70, 80, 90], float)
_AGE_CUMULATIVE = np.concatenate([[0.0], _cumulative([(0.06, 0.05, 0.05, 0.22, 0.22, 0.12, 0.1, 0.08, 0.06, 0.04)])[0]])
_FEMALE_STYLES = np.array([HAIR_STYLES.index(s) for s in ("long", "long", "bob", "fringe", "side_part")])
_MALE_STYLES = np.array([HAIR_STYLES.index(s) for s in ("buzz", "short", "short", "side_part", "fringe", "long")])
NUM_IDENTITY_UNIFORMS = 40
NUM_NUISANCE_UNIFORMS = 12
_IDENTITY_FIELDS = tuple(f.name for f in dataclasses.fields(Identity))
_ATTRIBUTES = ("age_look", "gender_look", "ethnicity_look")


def ages_from_uniform(u: np.ndarray) -> np.ndarray:
    """UTKFace-like ages in years (many 20-40, children and the elderly present), one per uniform number."""
    return np.floor(np.interp(u, _AGE_CUMULATIVE, _AGE_KNOTS)).astype(np.int64)


def identity_columns(uniforms: np.ndarray, fixed: dict | None = None) -> dict[str, np.ndarray]:
    """Identities as columns (field -> (n,) array, colours (n, 3)) from (n, 40) uniform numbers.

    The UTKFace attributes come first and the rest depend on them (beard only on adult men, grey hair and wrinkles
    with age, skin tone within the ethnicity's range). `fixed` maps fields to a value or an (n,) array of values;
    fixing an attribute keeps that consistency, and every column consumes the same uniforms whatever is fixed.
    """
    fixed = dict(fixed or {})
    unknown = sorted(set(fixed) - set(_IDENTITY_FIELDS))
    if unknown:
        raise ValueError(f"unknown Identity fields {unknown}; expected some of {list(_IDENTITY_FIELDS)}")
    uniforms = np.asarray(uniforms, dtype=np.float64)
    if uniforms.ndim != 2 or uniforms.shape[1] != NUM_IDENTITY_UNIFORMS:
        raise ValueError(f"identity uniforms must be (n, {NUM_IDENTITY_UNIFORMS}), got {uniforms.shape}")
    n = len(uniforms)
    for name, value in fixed.items():
        shape = np.shape(value)
        if shape not in ((), (3,), (n,), (n, 3)):
            raise ValueError(f"fixed identity field {name!r}: one value or {n} values expected, got shape {shape}")
    columns = iter(uniforms.T)

    def uniform(low, high) -> np.ndarray:
        return low + (np.asarray(high) - low) * next(columns)

    def attribute(name: str, sampled: np.ndarray) -> np.ndarray:
        return np.broadcast_to(np.asarray(fixed[name], dtype=np.int64), (n,)).copy() if name in fixed else sampled

    age = attribute("age_look", ages_from_uniform(next(columns)))
    gender = attribute("gender_look", (next(columns) < 0.48).astype(np.int64))
    race = attribute("ethnicity_look", _pick(next(columns), np.repeat(_RACE_CUMULATIVE, n, axis=0)))
    if np.any((race < 0) | (race >= len(UTKFACE_RACES))):
        raise ValueError(f"ethnicity_look must be within 0..{len(UTKFACE_RACES) - 1}")
    child, female = (age < 13).astype(float), (gender == 1).astype(float)
    male_adult = (gender == 0) & (age >= 17)

    race_index = np.clip(race, 0, len(UTKFACE_RACES) - 1)
    tone = uniform(_SKIN_TONE_LOW[race_index], _SKIN_TONE_HIGH[race_index])
    skin = _mix(_SKIN_DARK, _SKIN_LIGHT, tone)
    skin = skin + np.array([6.0, 4.0, -14.0]) * (_SKIN_YELLOW[race_index] * uniform(0.5, 1.0))[:, None]
    lips = _mix(skin, (150.0, 55.0, 65.0), uniform(0.25, 0.45) + 0.12 * female)
    age_factor = np.clip((age - 30) / 45.0, 0.0, 1.0)
    grey = np.clip((age - 38) / 35.0 + uniform(-0.2, 0.2), 0.0, 1.0)
    hair = _mix(_HAIR_COLORS[_pick(next(columns), _HAIR_COLOR_CUMULATIVE[race_index])], (185.0, 185.0, 180.0), grey)
    style_u = next(columns)
    hair_style = np.where(female > 0, _FEMALE_STYLES[np.minimum((style_u * 5).astype(int), 4)],
                          np.where(style_u < 0.96, _MALE_STYLES[np.minimum((style_u * 6).astype(int), 5)],
                                   HAIR_STYLES.index("bob")))
    receding = age_factor * uniform(0.0, 0.8) * (gender == 0)
    beard_u, beard_amount = next(columns), uniform(0.25, 1.0)
    # Eye-to-mouth distance varies little (aligned face crops put eyes and mouth near fixed places).
    eye_to_mouth = uniform(0.48, 0.53) * (1 - 0.08 * child)
    nose_share = uniform(0.62, 0.68)

    values = dict(
        face_width=uniform(0.64, 0.74) * (1 + 0.03 * child),
        face_height=uniform(0.9, 1.0) * (1 - 0.05 * child),
        jaw=uniform(0.0, 0.55) + 0.35 * (1 - female) - 0.2 * child,
        skin=skin,
        eye_spacing=uniform(0.28, 0.32),
        eye_size=uniform(0.88, 1.12) * (1 + 0.15 * child),
        eye_height=uniform(-0.08, -0.04),
        iris=_IRIS_COLORS[_pick(next(columns), _IRIS_CUMULATIVE[race_index])],
        brow_thickness=uniform(0.035, 0.05) + 0.012 * (1 - female),
        brow_gap=uniform(0.14, 0.19),
        brow_arch=uniform(0.0, 0.035) + 0.01 * female,
        nose_length=eye_to_mouth * nose_share,
        nose_width=uniform(0.1, 0.14) + 0.015 * (race == 1),
        mouth_gap=eye_to_mouth * (1 - nose_share),
        mouth_width=uniform(0.21, 0.26),
        lip_thickness=uniform(0.035, 0.05) + 0.008 * female + 0.01 * (race == 1),
        lips=lips,
        hair_style=hair_style.astype(np.int64),
        hair=hair,
        hairline=np.minimum(1.0, uniform(0.2, 0.6) + receding),
        hair_volume=uniform(0.03, 0.09),
        ear_size=uniform(0.9, 1.1),
        beard=np.where(male_adult & (beard_u < 0.25), beard_amount, 0.0),
        wrinkles=np.minimum(1.0, age_factor * uniform(0.7, 1.2)),
        grey=grey,
        shirt=np.stack([uniform(20, 235), uniform(20, 235), uniform(20, 235)], axis=-1),
        age_look=age,
        gender_look=gender,
        ethnicity_look=race,
    )
    for name, value in values.items():
        if value.ndim == 2:
            values[name] = _colors(value)
        elif value.dtype.kind == "f":
            values[name] = _round(value)
    for name, value in fixed.items():
        if name in _ATTRIBUTES:
            continue
        shape = (n, 3) if values[name].ndim == 2 else (n,)
        values[name] = np.broadcast_to(np.asarray(value, dtype=values[name].dtype), shape).copy()
    return values


def identities_from_columns(columns: dict[str, np.ndarray]) -> list[Identity]:
    """One validated Identity per row of `identity_columns` output."""
    lists = {name: [tuple(c) for c in columns[name].tolist()] if columns[name].ndim == 2 else columns[name].tolist()
             for name in _IDENTITY_FIELDS}
    return [Identity(**dict(zip(_IDENTITY_FIELDS, row))) for row in zip(*(lists[f] for f in _IDENTITY_FIELDS))]


def columns_from_identities(identities) -> dict[str, np.ndarray]:
    """The inverse of `identities_from_columns` (what the renderer consumes)."""
    return {name: np.array([getattr(i, name) for i in identities]) for name in _IDENTITY_FIELDS}


def sample_identity(rng: np.random.Generator, **fixed) -> Identity:
    """Draw one identity; keyword arguments fix fields (e.g. gender_look=1, age_look=55), see `identity_columns`."""
    return identities_from_columns(identity_columns(rng.random((1, NUM_IDENTITY_UNIFORMS)), fixed))[0]


ALIGNED_GEOMETRY = 0.3  # residual shift/scale/rotation of landmark-aligned crops, relative to unaligned ones


def nuisance_columns(uniforms: np.ndarray, strength: float = 1.0, geometry: float | None = None) -> dict:
    """Nuisances as columns from (n, 12) uniform numbers. `strength` scales lighting and noise, `geometry` (default:
    `strength`) shift, scale and rotation: up to 2% of the image, 4% and 4 degrees at 1."""
    geometry = strength if geometry is None else geometry
    if not (strength >= 0 and geometry >= 0):
        raise ValueError(f"nuisance strengths must be >= 0, got {strength} and {geometry}")
    u = np.asarray(uniforms, dtype=np.float64).T
    s, g = float(strength), float(geometry)
    gray = 25 + 210 * u[8]
    return dict(
        shift_x=_round((u[0] * 2 - 1) * 0.02 * g),
        shift_y=_round((u[1] * 2 - 1) * 0.02 * g),
        scale=_round(1.0 + (u[2] * 2 - 1) * 0.04 * g),
        rotation=_round((u[3] * 2 - 1) * 4.0 * g),
        light_angle=_round(u[4] * 2 * math.pi),
        light_strength=_round(u[5] * 0.25 * s),
        noise_sigma=_round(u[6] * 6.0 * s),
        noise_seed=(u[7] * 2**31).astype(np.int64),
        background=_colors(gray[:, None] + np.stack([u[9], u[10], u[11]], axis=-1) * 60 - 30),
    )


_NUISANCE_FIELDS = tuple(f.name for f in dataclasses.fields(Nuisance))


def nuisances_from_columns(columns: dict[str, np.ndarray]) -> list[Nuisance]:
    lists = {name: [tuple(c) for c in columns[name].tolist()] if columns[name].ndim == 2 else columns[name].tolist()
             for name in _NUISANCE_FIELDS}
    return [Nuisance(**dict(zip(_NUISANCE_FIELDS, row))) for row in zip(*(lists[f] for f in _NUISANCE_FIELDS))]


def columns_from_nuisances(nuisances) -> dict[str, np.ndarray]:
    return {name: np.array([getattr(x, name) for x in nuisances]) for name in _NUISANCE_FIELDS}


def sample_nuisance(rng: np.random.Generator, strength: float = 1.0, geometry: float | None = None) -> Nuisance:
    """Draw the nuisances of one photo; `strength` scales lighting and noise and, unless `geometry` is given, shift,
    scale and rotation too (0 = none)."""
    return nuisances_from_columns(nuisance_columns(rng.random((1, NUM_NUISANCE_UNIFORMS)), strength, geometry))[0]


# --- a sample that can be re-rendered ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaceRecord:
    """Everything needed to re-render one sample exactly: identity, nuisance, AUs and how it was rendered.

    `label` is the FER class the AUs were drawn from (None for AU-only data); `size`, `channels`, `face_mask`,
    `zoom` and `aligned` say how it was rendered; `name` is where the sample lives in its data set (the CSV row, or the image path
    relative to the data set folder).
    """

    identity: Identity
    nuisance: Nuisance
    aus: tuple[float, ...]
    label: int | None = None
    size: int = 48
    channels: int = 1
    face_mask: bool = False
    zoom: float = 1.0
    aligned: bool = False
    name: str | None = None
    version: int = field(default=RENDERER_VERSION)

    def aus_array(self) -> np.ndarray:
        return np.asarray(self.aus, dtype=np.float32)

    def to_dict(self) -> dict:
        return {"name": self.name, "label": self.label, "aus": [float(a) for a in self.aus],
                "size": self.size, "channels": self.channels, "face_mask": self.face_mask, "zoom": self.zoom,
                "aligned": self.aligned, "version": self.version,
                "identity": self.identity.to_dict(), "nuisance": self.nuisance.to_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> FaceRecord:
        expected = {"name", "label", "aus", "size", "channels", "face_mask", "zoom", "aligned", "version", "identity",
                    "nuisance"}
        if not isinstance(data, dict) or set(data) != expected:
            keys = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise ValueError(f"a face record needs the keys {sorted(expected)}, got {keys}")
        if data["version"] != RENDERER_VERSION:
            raise ValueError(f"record written by renderer version {data['version']}, this library renders version "
                             f"{RENDERER_VERSION}: its faces would not re-render identically; write the data again")
        aus = data["aus"]
        if not (isinstance(aus, list) and len(aus) == NUM_AUS
                and all(isinstance(a, (int, float)) and 0 <= a <= AU_MAX_INTENSITY for a in aus)):
            raise ValueError(f"aus must be {NUM_AUS} intensities within 0..{AU_MAX_INTENSITY:g}, got {aus!r}")
        label = data["label"]
        if label is not None and not (isinstance(label, int) and 0 <= label < len(FER_CLASSES)):
            raise ValueError(f"label must be null or a FER class 0..6, got {label!r}")
        return cls(identity=Identity.from_dict(data["identity"]), nuisance=Nuisance.from_dict(data["nuisance"]),
                   aus=tuple(float(a) for a in aus), label=label, size=int(data["size"]),
                   channels=int(data["channels"]), face_mask=bool(data["face_mask"]), zoom=float(data["zoom"]),
                   aligned=bool(data["aligned"]), name=data["name"])
