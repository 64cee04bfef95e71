"""The label vocabularies shared by every family: FER2013's 7 classes and OpenFace's 17 AU intensities."""

# FER2013 `emotion` column values, in index order (the originals' class-name map).
FER_CLASSES = ("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral")
NUM_FER_CLASSES = len(FER_CLASSES)

# The 17 OpenFace AU intensity columns (`AUxx_r`), in OpenFace order; index i of every AU vector is AU_CODES[i].
AU_CODES = (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 25, 26, 45)
AU_NAMES = (
    "inner brow raiser", "outer brow raiser", "brow lowerer", "upper lid raiser", "cheek raiser",
    "lid tightener", "nose wrinkler", "upper lip raiser", "lip corner puller", "dimpler",
    "lip corner depressor", "chin raiser", "lip stretcher", "lip tightener", "lips part", "jaw drop", "blink",
)
NUM_AUS = len(AU_CODES)
AU_MAX_INTENSITY = 5.0


def au_index(code: int) -> int:
    """Position of AU `code` (e.g. 12) in every 17-value AU vector."""
    try:
        return AU_CODES.index(int(code))
    except ValueError:
        raise ValueError(f"AU{code:02d} is not one of the 17 OpenFace intensity AUs {AU_CODES}") from None


def class_index(name_or_index, class_names=FER_CLASSES, what: str = "expression") -> int:
    """Accept a class as a name ('happy', case-insensitive) or an index ('3' or 3) of `class_names`; return the
    index."""
    text = str(name_or_index).strip()
    count = len(class_names)
    if text.lstrip("-").isdigit():
        index = int(text)
        if 0 <= index < count:
            return index
        raise ValueError(f"{what} index {index} is outside 0..{count - 1}")
    for index, name in enumerate(class_names):
        if name.lower() == text.lower():
            return index
    raise ValueError(f"unknown {what} {text!r}; expected one of {', '.join(class_names)} or an index 0..{count - 1}")


def fer_class_index(name_or_index) -> int:
    """A FER2013 class as a name or an index -> its index."""
    return class_index(name_or_index, FER_CLASSES)

# What an AU-conditioned generator is given: the target AU vector (the originals), or the change target - own AUs
# (difference-vector conditioning, as STGAN and RelGAN); a "change" generator needs the faces' own AUs to be used.
AU_CONDITIONS = ("target", "change")


def check_au_condition(au_condition: str) -> None:
    if au_condition not in AU_CONDITIONS:
        raise ValueError(f"au_condition must be one of {AU_CONDITIONS}, got {au_condition!r}")


def condition_vector(au_condition: str, targets, own=None):
    """What a generator conditioned on `au_condition` is given for `targets`: the targets, or target - own AUs."""
    check_au_condition(au_condition)
    if au_condition == "target":
        return targets
    if own is None:
        raise ValueError("this generator is conditioned on the AU change (target - own): it needs the faces' own AUs")
    return targets - own
