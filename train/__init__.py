"""Trainers, one module per model family, and the registry `train.py` dispatches on.

The family protocol: a family is a module named in `FAMILIES` that exposes

- `MODES`: the modes it supports, a tuple from ("train", "translate", "evaluate", "animate", "export"); `train.py`
  offers them as `--mode` (a module without `MODES` trains only);
- `add_arguments(parser)`: its own options (the common ones, `--dataset`, `--out`, `--seed`, `--resume`,
  `--strategy`, ..., are the core's: `ccyclegan.cli.add_common_arguments`);
- `run(args) -> dict`: does the mode `args.mode` asks for and returns its figures.

Its experiments live in the registry of every family (`train.experiments`), its trainer trains through
`ccyclegan.run.fit`. `docs/extending.md` walks through adding one; `train/template.py` is the smallest family.
"""

import importlib

FAMILIES = {
    "ccyclegan": "train.ccyclegan_cli",
    "classifier": "train.classifier",
    "template": "train.template",
    "aucgan": "train.aucgan",
    "ganimation": "train.ganimation",
    "cyclegan": "train.cyclegan",
}


def family_module(name: str):
    """The module of family `name`, imported on demand (so `--help` of one family loads no other)."""
    if name not in FAMILIES:
        raise ValueError(f"unknown family {name!r}; expected one of {', '.join(FAMILIES)}")
    return importlib.import_module(FAMILIES[name])


def family_modes(name: str) -> tuple:
    """The `--mode` choices of family `name`."""
    return tuple(getattr(family_module(name), "MODES", ("train",)))
