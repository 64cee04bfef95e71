"""Reader of a UTKFace folder split into two unpaired domains for CycleGAN.

UTKFace encodes the labels in the file name: `[age]_[gender]_[race]_[yyyymmddHHMMSSFFF].jpg`, and the aligned and
cropped 200x200 faces as `....jpg.chip.jpg`; age 0..116, gender 0 male / 1 female, race 0 White, 1 Black, 2 Asian,
3 Indian, 4 Others. A few real files break the pattern (e.g. `39_1_20170116174525125.jpg.chip.jpg` has no race);
such names are reported, never guessed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ccyclegan.data.photos import IMAGE_SUFFIXES, list_images, read_images
from ccyclegan.errors import DataError

GENDERS = ("male", "female")
RACES = ("White", "Black", "Asian", "Indian", "Others")
MAX_AGE = 116
CHIP_SUFFIX = ".chip.jpg"
NAME_PATTERN = "age_gender_race_datetime.jpg (or .jpg.chip.jpg)"


@dataclass(frozen=True)
class UTKFaceLabel:
    age: int
    gender: int  # 0 male, 1 female
    race: int  # index into RACES
    datetime: str = ""  # yyyymmddHHMMSSFFF as in the name


@dataclass(frozen=True)
class LabelRange:
    """A domain predicate: `low <= label.<attribute> <= high`, readable when printed (e.g. "age 20..29")."""

    attribute: str
    low: int
    high: int

    def __call__(self, label: UTKFaceLabel) -> bool:
        return self.low <= getattr(label, self.attribute) <= self.high

    def __str__(self) -> str:
        return f"{self.attribute} {self.low}" if self.low == self.high else f"{self.attribute} {self.low}..{self.high}"


# The three tasks of the UTKFace CycleGAN (see docs/data.md): (domain A, domain B).
DOMAIN_PRESETS: dict[str, tuple[LabelRange, LabelRange]] = {
    "age": (LabelRange("age", 20, 29), LabelRange("age", 50, 59)),
    "gender": (LabelRange("gender", 0, 0), LabelRange("gender", 1, 1)),
    "ethnicity": (LabelRange("race", 0, 0), LabelRange("race", 1, 1)),
}
_SPEC = re.compile(r"^(age|gender|race)=(\d+)(?:-(\d+))?$")

Domain = Callable[[UTKFaceLabel], bool] | str


@dataclass
class UTKFaceDomains:
    """Two domains of faces: images uint8 (N, H, W, 3) RGB (None with load_images=False), labels, paths.
    skipped: malformed names skipped (skip_bad_names=True); unmatched: well-named faces in neither domain."""

    images_a: np.ndarray | None
    images_b: np.ndarray | None
    labels_a: list[UTKFaceLabel]
    labels_b: list[UTKFaceLabel]
    paths_a: list[str]
    paths_b: list[str]
    domain_a: str = ""
    domain_b: str = ""
    skipped: int = 0
    unmatched: int = 0
    skipped_names: list[str] = field(default_factory=list)


def parse_utkface_name(name) -> UTKFaceLabel:
    """Labels from a UTKFace file name; ValueError saying what is malformed."""
    base = os.path.basename(os.fspath(name))
    stem = base[:-len(CHIP_SUFFIX)] if base.lower().endswith(CHIP_SUFFIX) else base
    root, extension = os.path.splitext(stem)
    if extension.lower() not in IMAGE_SUFFIXES:
        raise ValueError(f"{base!r}: no image extension; expected {NAME_PATTERN}")
    parts = root.split("_")
    if len(parts) != 4:
        raise ValueError(f"{base!r}: {len(parts)} field(s) separated by '_', expected 4: {NAME_PATTERN}")
    age, gender, race, stamp = parts
    if not age.isdigit() or int(age) > MAX_AGE:
        raise ValueError(f"{base!r}: age {age!r} is not an integer 0..{MAX_AGE}")
    if gender not in ("0", "1"):
        raise ValueError(f"{base!r}: gender {gender!r} is not 0 (male) or 1 (female)")
    if not (race.isdigit() and int(race) < len(RACES)):
        raise ValueError(f"{base!r}: race {race!r} is not 0..4 ({', '.join(RACES)})")
    if not stamp.isdigit():
        raise ValueError(f"{base!r}: date-time {stamp!r} is not digits (yyyymmddHHMMSSFFF)")
    return UTKFaceLabel(int(age), int(gender), int(race), stamp)


def domain_predicate(domain: Domain, which: int = 0) -> Callable[[UTKFaceLabel], bool]:
    """A predicate from a callable, a preset name ("age", "gender", "ethnicity": `which` 0 is domain A, 1 is B),
    or a spec "age=20-29", "gender=1", "race=0", or comparisons "age>=20,age<=29" (`parse_domain`)."""
    if callable(domain):
        return domain
    if domain in DOMAIN_PRESETS:
        return DOMAIN_PRESETS[domain][which]
    text = str(domain).replace(" ", "")
    match = _SPEC.match(text)
    if match:
        attribute, low, high = match.groups()
        return LabelRange(attribute, int(low), int(high if high is not None else low))
    if "," in text or any(op in text for op in ("<", ">", "==")):
        return parse_domain(text)
    raise ValueError(f"unknown domain {domain!r}; expected a predicate on UTKFaceLabel, a preset "
                     f"({', '.join(DOMAIN_PRESETS)}) or a spec like 'age=20-29', 'gender=1', 'race=0'")


_COMPARISON = re.compile(r"^(age|gender|race|ethnicity)\s*(>=|<=|==|=|>|<)\s*(\d+)$")


def parse_domain(spec: str) -> Callable[[UTKFaceLabel], bool]:
    """A domain from the command line: a core spec (`age=20-29`, `gender=1`, `race=0`) or comparisons joined by
    commas (`age>=20,age<=29`, `gender==1`); comparisons on one attribute become a `LabelRange` (named like the
    presets, e.g. "age 20..29", so that a judge trained on the preset recognises it). ValueError says what is
    wrong."""
    text = str(spec).replace(" ", "")
    if not text:
        raise ValueError("a domain spec is empty; expected e.g. 'age>=20,age<=29' or 'age=20-29'")
    if "," not in text and not any(op in text for op in ("<", ">", "==")):
        return domain_predicate(text)  # preset names and core specs, with the core's error
    limits: dict[str, list[int]] = {}
    for part in text.split(","):
        match = _COMPARISON.match(part)
        if not match:
            raise ValueError(f"domain {spec!r}: {part!r} is not a comparison like age>=20, gender==1 or race=0 "
                             f"(attributes age, gender, race)")
        attribute, op, value = match.group(1).replace("ethnicity", "race"), match.group(2), int(match.group(3))
        upper = {"age": MAX_AGE, "gender": 1, "race": len(RACES) - 1}[attribute]
        low, high = limits.setdefault(attribute, [0, upper])
        if op in (">=", ">"):
            low = max(low, value + (op == ">"))
        if op in ("<=", "<"):
            high = min(high, value - (op == "<"))
        if op in ("=", "=="):
            low, high = max(low, value), min(high, value)
        limits[attribute] = [low, high]
    for attribute, (low, high) in limits.items():
        if low > high:
            raise ValueError(f"domain {spec!r}: no {attribute} satisfies it ({attribute} {low}..{high} is empty)")
    ranges = [LabelRange(attribute, low, high) for attribute, (low, high) in limits.items()]
    if len(ranges) == 1:
        return ranges[0]

    def predicate(label) -> bool:
        return all(r(label) for r in ranges)

    predicate.__name__ = " and ".join(str(r) for r in ranges)
    return predicate


def read_utkface(folder, domain_a: Domain, domain_b: Domain | None = None, *, size: int | None = None,
                 load_images: bool = True, skip_bad_names: bool = False) -> UTKFaceDomains:
    """Split the faces of a UTKFace folder (files directly in it, by name) into domains A and B.

    domain_a / domain_b: a predicate on `UTKFaceLabel`, a preset name, or a spec (see `domain_predicate`);
    `read_utkface(folder, "age")` uses both sides of the preset (20s vs 50s). size: resize the faces (the chips are
    200x200; the in-the-wild photos vary, so they need it). Malformed names are an error listing the first few, or
    with skip_bad_names=True are skipped and counted.
    """
    folder = os.fspath(folder)
    if domain_b is None:
        if not (isinstance(domain_a, str) and domain_a in DOMAIN_PRESETS):
            raise ValueError("domain_b is needed unless domain_a is a preset name "
                             f"({', '.join(DOMAIN_PRESETS)})")
        domain_b = domain_a
    predicate_a, predicate_b = domain_predicate(domain_a, 0), domain_predicate(domain_b, 1)
    paths = list_images(folder)
    if not paths:
        raise DataError(folder, f"no image files named {NAME_PATTERN}")

    labelled, problems = [], []
    for path in paths:
        try:
            labelled.append((path, parse_utkface_name(path)))
        except ValueError as error:
            problems.append(str(error))
    if problems and not skip_bad_names:
        shown = "; ".join(problems[:3]) + (f"; and {len(problems) - 3} more" if len(problems) > 3 else "")
        raise DataError(folder, f"{len(problems)} file name(s) do not follow {NAME_PATTERN}: {shown}. Rename or "
                                f"remove them, or pass skip_bad_names=True to skip them")

    side_a = [(p, label) for p, label in labelled if predicate_a(label)]
    side_b = [(p, label) for p, label in labelled if predicate_b(label)]
    for side, name, predicate in ((side_a, "A", predicate_a), (side_b, "B", predicate_b)):
        if not side:
            raise DataError(folder, f"no face of the {len(labelled)} well-named ones is in domain {name} "
                                    f"({_describe(predicate)})")
    in_either = {p for p, _ in side_a} | {p for p, _ in side_b}
    images_a = images_b = None
    if load_images:
        images_a = read_images([p for p, _ in side_a], channels=3, size=size)[0]
        images_b = read_images([p for p, _ in side_b], channels=3, size=size)[0]
        if images_a.shape[1:] != images_b.shape[1:]:
            raise DataError(folder, f"domain A faces are {images_a.shape[2]}x{images_a.shape[1]} but domain B "
                                    f"faces {images_b.shape[2]}x{images_b.shape[1]}; pass size= to resize")
    return UTKFaceDomains(
        images_a=images_a, images_b=images_b,
        labels_a=[label for _, label in side_a], labels_b=[label for _, label in side_b],
        paths_a=[p for p, _ in side_a], paths_b=[p for p, _ in side_b],
        domain_a=_describe(predicate_a), domain_b=_describe(predicate_b),
        skipped=len(problems), unmatched=len(labelled) - len(in_either), skipped_names=problems,
    )


def _describe(predicate) -> str:
    return str(predicate) if isinstance(predicate, LabelRange) else getattr(predicate, "__name__", repr(predicate))
