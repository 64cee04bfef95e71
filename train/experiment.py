"""One named experiment: the entry type of the registry in `train.experiments`.

It lives in its own module so that each family's list of experiments (`train/experiments_<family>.py`) can import
it without importing the registry that gathers them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Experiment:
    id: str
    family: str
    about: str  # one line: what the experiment is, as its code did it
    parent: str | None = None
    settings: dict = field(default_factory=dict)
