"""Trainers, one module per model family, and the registry `train.py` dispatches on.

A family module exposes `add_arguments(parser)` (its own options) and `run(args) -> dict` (does the work, writes
into `args.out`, returns the final figures).
"""

import importlib

FAMILIES = {
    "ccyclegan": "train.ccyclegan_cli",
    "classifier": "train.classifier",
}


def family_module(name: str):
    """The module of family `name`, imported on demand (so `--help` of one family loads no other)."""
    if name not in FAMILIES:
        raise ValueError(f"unknown family {name!r}; expected one of {', '.join(FAMILIES)}")
    return importlib.import_module(FAMILIES[name])
