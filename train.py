#!/usr/bin/env python
"""Train, use and evaluate every model family of the library from one command.

    python train.py -d_gan_loss_w 1 -d_cl_loss_w 1 -g_gan_loss_w 2 -g_cl_loss_w 2 -rec_loss_w 1 -adam_lr 0.0002 \
        -adam_beta_1 0.5 -adam_beta_2 0.999 -epochs 170 -batch_size 64 -sample_interval 200
    python train.py --dataset synthetic --out runs/quickstart -epochs 1
    python train.py --family classifier --dataset synthetic
    python train.py --mode translate --model runs/quickstart --input face.jpg --target Happy
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from ccyclegan.cli import add_common_arguments, validate_common_arguments  # noqa: E402
from ccyclegan.errors import DataError, UsageError  # noqa: E402
from ccyclegan.loop import NonFiniteLossError  # noqa: E402
from train import FAMILIES, family_module  # noqa: E402


def build_parser(family: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Train CCycleGAN" if family == "ccyclegan" else f"Train the {family} family of ccyclegan",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--family", choices=list(FAMILIES), default="ccyclegan",
                        help="model family (default: %(default)s)")
    parser.add_argument("-epochs", type=int, default=None, help="N. epochs")
    parser.add_argument("-batch_size", type=int, default=None, help="batch size")
    add_common_arguments(parser)
    family_module(family).add_arguments(parser)
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    first = argparse.ArgumentParser(add_help=False)
    first.add_argument("--family", choices=list(FAMILIES), default="ccyclegan")
    first.add_argument("--experiment", default=None)
    known, _ = first.parse_known_args(argv)
    parser = build_parser(known.family)
    module = family_module(known.family)
    try:
        if known.experiment:
            if not hasattr(module, "preset_defaults"):
                raise UsageError(f"the {known.family} family has no experiments by name")
            parser.set_defaults(**module.preset_defaults(known.experiment))
    except UsageError as error:
        parser.error(str(error))
    args = parser.parse_args(argv)
    validate_common_arguments(parser, args)
    try:
        module.run(args)
    except (FileNotFoundError, FileExistsError, DataError, UsageError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except NonFiniteLossError as error:
        print(f"stopped: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
