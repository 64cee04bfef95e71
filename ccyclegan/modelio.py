"""Saving and loading `.keras` model files so that a run cannot leave a broken export and a bad path is one line.

`save_model_atomic` writes the model under a temporary name in the same folder and renames it into place, so an
export interrupted by a crash, a kill or a full disk never leaves a truncated file under the real name (a rename
within one folder is atomic). `load_keras_model` checks the path before Keras sees it and turns every failure into a
`ModelFileError` (a `UsageError`) whose one-line message starts with the path and says what was expected instead.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from pathlib import Path

from ccyclegan.atomic import TEMPORARY_MARKER, atomic_output
from ccyclegan.errors import UsageError

KERAS_SUFFIX = ".keras"
# Temporary exports are named `.<final name>.tmp-<pid>-<random>.keras` (Keras insists on the .keras suffix).
# What a .keras archive holds (Keras 3): the architecture and the weights.
KERAS_ARCHIVE_MEMBERS = ("config.json", "model.weights.h5")
DEFAULT_HINT = "the .keras file a `python train.py` run exports into its --out folder (e.g. runs/NAME/generator.keras)"


class ModelFileError(UsageError):
    """A model path that cannot be loaded: missing, a folder, the wrong kind of file, truncated, or the wrong model.

    The message starts with the path; `path` holds it for callers that want to point at it.
    """

    def __init__(self, path: str | os.PathLike, message: str):
        self.path = os.fspath(path)
        super().__init__(f"{self.path}: {message}")


def save_model_atomic(model, path: str | os.PathLike) -> Path:
    """Save `model` to `path` (.keras) through a temporary file in the same folder; returns the final path.

    The temporary file is flushed to disk before the rename, and removed if saving fails for any reason (including
    KeyboardInterrupt), so `path` is either the previous complete file, or the new complete file, never a part.
    """
    final = Path(path)
    if final.suffix != KERAS_SUFFIX:
        raise UsageError(f"{final}: a Keras model is saved as a {KERAS_SUFFIX} file, got the suffix "
                         f"{final.suffix or '(none)'!r}")
    if final.is_dir():
        raise UsageError(f"{final}: is a folder, cannot save the model under this name")
    with atomic_output(final, suffix=KERAS_SUFFIX) as temporary:
        model.save(temporary)
    return final


def remove_partial_exports(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files `save_model_atomic` leaves behind only when its process is killed mid-save;
    returns what was removed (so that the caller can say so)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for candidate in sorted(folder.glob(f".*{KERAS_SUFFIX}{TEMPORARY_MARKER}*{KERAS_SUFFIX}")):
        if candidate.is_file():
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


def load_keras_model(path: str | os.PathLike, what: str = "model", custom_objects: dict | None = None, *,
                     check: Callable[[object], str | None] | None = None, hint: str = DEFAULT_HINT):
    """Load a `.keras` model file; every failure is a `ModelFileError` naming the path and the problem.

    what: the kind of model, for messages ("generator", "classifier"). check(model) returns None when the loaded
    model is what the caller needs, else a short description of the mismatch (e.g. "is a classifier, expected a
    generator"). hint: what the user should pass instead, used when the path is missing or the wrong kind of file.
    The model is loaded without compiling (the library trains with its own step functions).
    """
    path = Path(path)
    _check_model_path(path, what, hint)
    try:
        import keras

        model = keras.models.load_model(path, custom_objects=custom_objects, compile=False)
    except Exception as error:  # Keras raises many kinds; each becomes one line naming the file
        raise ModelFileError(path, f"cannot be loaded as a Keras {what} ({_first_line(error)})") from error
    if check is not None:
        problem = check(model)
        if problem:
            raise ModelFileError(path, f"{problem}; expected a {what} ({hint})")
    return model


def _check_model_path(path: Path, what: str, hint: str) -> None:
    """Everything that can be told about `path` without Keras: it exists, is a file, has the right suffix, and is a
    complete zip archive with the members of a .keras file."""
    if not path.exists():
        raise ModelFileError(path, f"no such file; expected a {what} {KERAS_SUFFIX} file: {hint}")
    if path.is_dir():
        raise ModelFileError(path, _folder_message(path, what))
    name = path.name.lower()
    if name.endswith(".weights.h5"):
        raise ModelFileError(path, f"holds only weights (saved by save_weights), not a {what}; pass the "
                                   f"{KERAS_SUFFIX} file saved with model.save: {hint}")
    if name.endswith((".h5", ".hdf5")):
        raise ModelFileError(path, f"is a legacy HDF5 (Keras 2) model file; this library reads Keras 3 "
                                   f"{KERAS_SUFFIX} files: load it with the Keras that wrote it and re-save it with "
                                   f"model.save('{path.stem}{KERAS_SUFFIX}'), or pass {hint}")
    if _is_checkpoint_file(name):
        raise ModelFileError(path, f"is part of a TensorFlow training checkpoint, not an exported {what}; pass {hint}, "
                                   f"or the run folder itself where the command accepts one")
    if name == "saved_model.pb":
        raise ModelFileError(path, f"is a TensorFlow SavedModel, not a Keras {what}; pass {hint}")
    if path.suffix.lower() != KERAS_SUFFIX:
        raise ModelFileError(path, f"expected a {what} {KERAS_SUFFIX} file, got a "
                                   f"{repr(path.suffix) if path.suffix else 'file without suffix'}: pass {hint}")
    size = path.stat().st_size
    if size == 0:
        raise ModelFileError(path, "is empty (0 bytes): truncated or not a Keras file; export the model again")
    try:
        with zipfile.ZipFile(path) as archive:
            members = set(archive.namelist())
            damaged = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise ModelFileError(path, f"truncated or not a Keras file ({size} bytes that are not a complete zip "
                                   f"archive: {_first_line(error)}); export the model again") from None
    if damaged is not None:
        raise ModelFileError(path, f"truncated or not a Keras file (the member {damaged} fails its checksum); "
                                   f"export the model again")
    missing = [member for member in KERAS_ARCHIVE_MEMBERS if member not in members]
    if missing:
        raise ModelFileError(path, f"truncated or not a Keras file (a zip archive without {', '.join(missing)})")


def _folder_message(path: Path, what: str) -> str:
    exports = sorted(child.name for child in path.glob(f"*{KERAS_SUFFIX}") if child.is_file()
                     and TEMPORARY_MARKER not in child.name)
    if exports:
        return f"is a folder, expected a {what} {KERAS_SUFFIX} file; it holds {', '.join(exports)}: pass one of them"
    if (path / "checkpoints").is_dir() or (path / "config.json").is_file():
        return (f"is a run folder without an exported {KERAS_SUFFIX} file (the run has not finished); finish it with "
                f"--resume, or pass a {what} {KERAS_SUFFIX} file")
    return f"is a folder, expected a {what} {KERAS_SUFFIX} file"


def _is_checkpoint_file(name: str) -> bool:
    return name == "checkpoint" or name.endswith(".index") or ".data-" in name and "-of-" in name


def _first_line(error: BaseException, limit: int = 200) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    text = text if len(text) <= limit else text[:limit - 3] + "..."
    return f"{type(error).__name__}: {text}"
