"""Errors the library raises for bad input: each names what was wrong and where."""

from __future__ import annotations

import os


class DataError(ValueError):
    """A data file or folder does not match its format.

    The message always starts with the location (`path`, `path:line N`, or `path, row N`) so that a user can open
    the file at the right place.
    """

    def __init__(self, path: str | os.PathLike, message: str, line: int | None = None):
        self.path = os.fspath(path)
        self.line = line
        where = self.path if line is None else f"{self.path}:{line}"
        super().__init__(f"{where}: {message}")


class UsageError(ValueError):
    """Options that cannot work together, or a value outside what an option accepts."""
