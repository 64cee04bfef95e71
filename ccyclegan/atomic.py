"""One way to write a file so that readers see the old complete file or the new complete file, never a part.

Every writer of the library that replaces a file (exported models, config and summary JSON, the CSV log rewritten on
resume, GIFs, the FER2013 cache, TensorLayer weight files) writes through `atomic_output`.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Temporary files are named '.<final name>.tmp-<pid>-<random><suffix>' beside their target, so that a run folder's
# leftovers of a killed process are recognisable (`run.remove_leftovers`, `modelio.remove_partial_exports`).
TEMPORARY_MARKER = ".tmp-"


@contextmanager
def atomic_output(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside `path` to write to; when the block ends normally the file is flushed to disk
    and renamed onto `path` (and the rename made durable); if it raises (KeyboardInterrupt included) the temporary
    file is removed and `path` is untouched.

    `suffix` ends the temporary name, for writers that choose the format by it (Keras needs '.keras').
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = final.with_name(f".{final.name}{TEMPORARY_MARKER}{os.getpid()}-{secrets.token_hex(4)}{suffix}")
    try:
        yield temporary
        _flush_file(temporary)
        os.replace(temporary, final)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _flush_folder(final.parent)


def _flush_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _flush_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened (Windows)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
