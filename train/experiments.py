"""Every runnable experiment by name, across families: `python train.py --experiment T25` picks its family.

Each family lists its experiments in `train/experiments_<family>.py`; this module gathers them into one registry.
An experiment is a set of settings over its parent's (and so over its family's defaults), written as the difference
the lineage made. Settings are command-line destinations (e.g. `d_g_ratio`, `arch`), applied as parser defaults so
that flags given explicitly still win. Facts of the originals: `../shared/reference/` (each family's file names its section).
"""

from __future__ import annotations

from ccyclegan.errors import UsageError
from train.experiment import Experiment
from train.experiments_aucgan import AUCGAN_EXPERIMENTS
from train.experiments_ccyclegan import CCYCLEGAN_EXPERIMENTS
from train.experiments_classifier import CLASSIFIER_EXPERIMENTS
from train.experiments_cyclegan import CYCLEGAN_EXPERIMENTS
from train.experiments_ganimation import GANIMATION_EXPERIMENTS

_ALL: tuple[Experiment, ...] = (CCYCLEGAN_EXPERIMENTS + CLASSIFIER_EXPERIMENTS + AUCGAN_EXPERIMENTS
                                + GANIMATION_EXPERIMENTS + CYCLEGAN_EXPERIMENTS)


def _by_id(experiments) -> dict:
    """The registry keyed by id; two families naming the same id is a programming error caught at import."""
    registry = {}
    for experiment in experiments:
        if experiment.id.lower() in {key.lower() for key in registry}:
            raise ValueError(f"experiment id {experiment.id!r} is registered twice ({experiment.family})")
        registry[experiment.id] = experiment
    return registry


EXPERIMENTS = _by_id(_ALL)


def find_experiment(name: str) -> Experiment:
    """The experiment `name` (case-insensitive), or a usage error listing what can be run."""
    by_key = {key.lower(): experiment for key, experiment in EXPERIMENTS.items()}
    if name.lower() not in by_key:
        raise UsageError(f"experiment {name!r} is not a known experiment; runnable: {', '.join(EXPERIMENTS)} "
                         f"(`--list-experiments` describes each)")
    return by_key[name.lower()]


def experiment_settings(name: str) -> dict:
    """The settings of experiment `name`: its parent's (recursively), then its own."""
    experiment = find_experiment(name)
    inherited = experiment_settings(experiment.parent) if experiment.parent else {}
    return {**inherited, **experiment.settings}


def experiment_table() -> str:
    """One table of every runnable experiment: id, family, parent, what it is."""
    rows = [("id", "family", "parent", "description")]
    rows += [(e.id, e.family, e.parent or "-", e.about) for e in EXPERIMENTS.values()]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths)) + "  " + row[3] for row in rows]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:]])
