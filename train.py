#!/usr/bin/env python
"""Train, use and evaluate every model family of the library from one command.

    python train.py -d_gan_loss_w 1 -d_cl_loss_w 1 -g_gan_loss_w 2 -g_cl_loss_w 2 -rec_loss_w 1 -adam_lr 0.0002 \
        -adam_beta_1 0.5 -adam_beta_2 0.999 -epochs 170 -batch_size 64 -sample_interval 200
    python train.py --dataset synthetic --out runs/quickstart -epochs 1
    python train.py --family classifier --dataset synthetic
    python train.py --mode translate --model runs/quickstart --input face.jpg --target Happy
    python train.py --list-experiments
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from ccyclegan.cli import add_common_arguments, add_use_arguments, validate_common_arguments  # noqa: E402
from ccyclegan.errors import DataError, UsageError  # noqa: E402
from ccyclegan.loop import NonFiniteLossError  # noqa: E402
from train import FAMILIES, family_modes, family_module  # noqa: E402
from train.experiments import experiment_settings, experiment_table, find_experiment  # noqa: E402


def build_parser(family: str) -> argparse.ArgumentParser:
    module = family_module(family)
    parser = argparse.ArgumentParser(
        description="Train CCycleGAN" if family == "ccyclegan" else f"Train the {family} family of ccyclegan",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--family", choices=list(FAMILIES), default="ccyclegan",
                        help="model family (default: %(default)s; --experiment picks it)")
    modes = family_modes(family)
    parser.add_argument("--mode", choices=modes, default="train",
                        help=f"what to do: {', '.join(modes)} (default: %(default)s)")
    parser.add_argument("--experiment", default=None, metavar="ID",
                        help="an experiment by name (its family's settings; flags given explicitly still win); "
                             "--list-experiments lists them")
    parser.add_argument("--list-experiments", action="store_true", help="print every runnable experiment and exit")
    parser.add_argument("-epochs", type=int, default=None, help="N. epochs")
    parser.add_argument("-batch_size", type=int, default=None, help="batch size")
    add_common_arguments(parser)
    if {"translate", "evaluate"} & set(modes):
        add_use_arguments(parser)
    module.add_arguments(parser)
    return parser


def _first_pass(argv) -> argparse.Namespace:
    """--family, --experiment and --list-experiments, which decide which parser reads the rest."""
    first = argparse.ArgumentParser(add_help=False)
    first.add_argument("--family", choices=list(FAMILIES), default=None)
    first.add_argument("--experiment", default=None)
    first.add_argument("--list-experiments", action="store_true")
    known, _ = first.parse_known_args(argv)
    return known


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    known = _first_pass(argv)
    if known.list_experiments:
        print(experiment_table())
        return 0
    family, presets = known.family or "ccyclegan", {}
    if known.experiment:
        try:
            experiment = find_experiment(known.experiment)
        except UsageError as error:
            build_parser(family).error(str(error))
        if known.family and known.family != experiment.family:
            build_parser(family).error(f"--experiment {experiment.id} belongs to the {experiment.family} family, "
                                       f"not --family {known.family}")
        family, presets = experiment.family, experiment_settings(experiment.id)
    parser = build_parser(family)
    unknown = sorted(set(presets) - {action.dest for action in parser._actions})
    if unknown:  # a registry entry naming a setting the family has no option for is a bug of the registry
        raise RuntimeError(f"experiment {known.experiment}: no option for {', '.join(unknown)} in the {family} family")
    parser.set_defaults(**presets, family=family)
    args = parser.parse_args(argv)
    validate_common_arguments(parser, args)
    try:
        family_module(family).run(args)
    except (FileNotFoundError, FileExistsError, DataError, UsageError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except NonFiniteLossError as error:
        print(f"stopped: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
