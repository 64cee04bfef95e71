"""Command-line pieces every family shares: the common options, the parameter banner, strategies, run folders."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ccyclegan.data.sources import DATASETS
from ccyclegan.distribute import STRATEGIES


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Options with the same name in every family: data, output, seed, resume, smoke-run length, devices."""
    group = parser.add_argument_group("data, output and run control (every family)")
    group.add_argument("--dataset", choices=DATASETS, default="fer2013",
                       help="fer2013 reads datasets/fer2013.csv (or --data); synthetic renders the bundled synthetic "
                            "faces on first use into datasets/synthetic/ (or --data) (default: %(default)s)")
    group.add_argument("--data", metavar="PATH", default=None,
                       help="the data file (fer2013) or folder (synthetic) instead of the default location")
    group.add_argument("--synthetic-n", type=int, default=None, metavar="N",
                       help="number of synthetic faces rendered on first use (default: the source's own: 35,887 for "
                            "the FER2013 format, as the real data set, 5,000 for the others)")
    group.add_argument("--out", metavar="DIR", default=None,
                       help="run folder (default: runs/<family>-<experiment or dataset>)")
    group.add_argument("--seed", type=int, default=0, help="seed of every random choice (default: %(default)s)")
    group.add_argument("--resume", action="store_true", help="continue the run in --out from its latest checkpoint")
    group.add_argument("--max-steps", type=int, default=None, metavar="N",
                       help="stop after N training steps in total (smoke runs)")
    group.add_argument("--time-limit", type=float, default=None, metavar="MINUTES",
                       help="stop training after this many minutes (a checkpoint, the exports; the same command plus "
                            "--resume continues the planned run)")
    group.add_argument("--log-style", choices=("bar", "original", "quiet"), default="bar",
                       help="progress bar, the original console line, or nothing (default: %(default)s)")
    group.add_argument("--strategy", choices=STRATEGIES, default="default",
                       help="tf.distribute strategy: default (one device), mirrored (all local GPUs, or the "
                            "logical CPUs set by --cpu-devices), or multi-worker (MultiWorkerMirroredStrategy, one "
                            "process per worker, configured by the TF_CONFIG environment variable; only the chief "
                            "writes the run folder) (default: %(default)s)")
    group.add_argument("--cpu-devices", type=int, default=1, metavar="N",
                       help="split the CPU into N logical devices (to run the mirrored strategy without GPUs)")
    group.add_argument("--xla", action="store_true", help="compile the training steps with XLA (jit_compile)")


def add_use_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of translate and evaluate that every translating family shares (train.py adds them for families
    whose MODES include translate or evaluate); the target (an expression, an AU vector, a domain) is the family's."""
    use = parser.add_argument_group("translate and evaluate (every translating family)")
    use.add_argument("--model", metavar="PATH", help="a run folder or its exported generator (.keras)")
    use.add_argument("--input", metavar="PATH", help="translate: an image, a folder of images, or a data file")
    use.add_argument("--output", metavar="DIR", help="translate/evaluate: where results go (default: next to --model)")
    use.add_argument("--no-detect", action="store_true", help="translate: photos are already cropped faces")
    use.add_argument("--judge", metavar="PATH",
                     help="evaluate: a judge written by `--family classifier` (its run folder or classifier.keras; "
                          "default: the discriminator's own head, labelled as not independent); the AU families' "
                          "translate and animate: the AU regressor that reads the input faces' AUs")
    use.add_argument("--split", default=None,
                     help="evaluate: the held-out split (default: the family's, e.g. private_test for FER2013)")
    use.add_argument("--eval-n", type=int, default=1000,
                     help="evaluate: held-out faces used; translate: at most this many inputs (default: %(default)s)")
    use.add_argument("--evaluate-after", action="store_true",
                     help="train: evaluate the generator on --split when training ends")


def validate_common_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Reject impossible values with argparse's one-line error."""
    if args.max_steps is not None and args.max_steps < 1:
        parser.error(f"--max-steps must be >= 1, got {args.max_steps}")
    if args.time_limit is not None and not args.time_limit > 0:
        parser.error(f"--time-limit must be > 0 minutes, got {args.time_limit}")
    if args.time_limit is not None and args.strategy == "multi-worker":
        parser.error("--time-limit would stop the workers at different steps (their clocks differ); use --max-steps "
                     "with --strategy multi-worker")
    if args.synthetic_n is not None and args.synthetic_n < 100:
        parser.error(f"--synthetic-n must be >= 100 (three splits need faces), got {args.synthetic_n}")
    if args.cpu_devices < 1:
        parser.error(f"--cpu-devices must be >= 1, got {args.cpu_devices}")
    if args.resume and args.out is None:
        parser.error("--resume needs --out, the run folder to continue")
    if args.resume and not Path(args.out).is_dir():
        parser.error(f"--resume: {args.out} is not a run folder")
    if getattr(args, "eval_n", 1) < 1:  # checked before a training run that evaluates at its end
        parser.error(f"--eval-n must be >= 1, got {args.eval_n}")


def run_length(args: argparse.Namespace) -> dict:
    """The keyword arguments every family's train() takes for `--max-steps` and `--time-limit` (in seconds)."""
    minutes = getattr(args, "time_limit", None)
    return {"max_steps": getattr(args, "max_steps", None), "time_limit": None if minutes is None else minutes * 60.0}


def run_mode(args: argparse.Namespace, train_command, use_module: str) -> dict:
    """A family's `run(args)`: `--mode train` calls `train_command(args)`; any other mode calls
    `<use_module>.<mode>_command(args)`, imported only then (training loads no use code, and the reverse)."""
    if args.mode == "train":
        return train_command(args)
    import importlib

    return getattr(importlib.import_module(use_module), f"{args.mode}_command")(args)


def print_parameters(parameters: dict) -> None:
    """The original t26 banner: 30 dashes, 'Parameters .', 30 dashes, one `key := value` line per setting with the
    key left-aligned in 20 characters (`'{:<20} := {}'`), 30 dashes."""
    print("-" * 30)
    print("Parameters .")
    print("-" * 30)
    for key, value in parameters.items():
        print(f"{key:<20} := {value}")
    print("-" * 30)


def default_run_dir(family: str, name: str) -> Path:
    return Path("runs") / f"{family}-{name}".lower()


def quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def check_au_view(max_shift: int, luminance: bool, image_size: int, channels: int) -> None:
    """Refuse an `--au-shift` no image of `image_size` pixels can be moved by, and `--au-luminance` on faces without
    colour (both AU configs call this; no TensorFlow import, since configs are built while the parser is)."""
    if max_shift < 0:
        raise ValueError(f"au_shift must be >= 0, got {max_shift}")
    if max_shift >= image_size:
        raise ValueError(f"au_shift ({max_shift} pixels) must be smaller than the image ({image_size})")
    if luminance and channels != 3:
        raise ValueError(f"au_luminance reads the luminance of colour faces; these have {channels} channel(s), "
                         f"which the AU head already reads without colour")


# How a generator doubles its resolution: the originals' transposed convs, or (not in the originals) a nearest or
# bilinear resize followed by a 3x3 conv (ccyclegan.layers.resize_conv), which cannot make the checkerboard pattern
# of transposed convs (Odena et al., Distill 2016) that the colour maps of small CPU runs show.
UPSAMPLE_MODES = ("transpose", "nearest", "bilinear")


def check_upsample(upsample: str) -> None:
    if upsample not in UPSAMPLE_MODES:
        raise ValueError(f"upsample must be one of {UPSAMPLE_MODES}, got {upsample!r}")


# The AU family's AttGAN critic: the AU head on the realness head's convolutions, or on convolutions of its own.
AU_TRUNKS = ("shared", "separate")


def check_au_trunk(au_trunk: str, critic: str) -> None:
    if au_trunk not in AU_TRUNKS:
        raise ValueError(f"au_trunk must be one of {AU_TRUNKS}, got {au_trunk!r}")
    if au_trunk != "shared" and critic != "attgan":
        raise ValueError(f"au_trunk {au_trunk!r}: an AU trunk of its own is built into the AttGAN critic only, got "
                         f"critic {critic!r}")


def add_upsample_option(group) -> None:
    """`--upsample` for the generators that have it (GANimation, the AU family's AttGAN decoder)."""
    group.add_argument("--upsample", choices=UPSAMPLE_MODES, default="transpose",
                       help="G's x2 steps: transposed convs (the original), or a nearest or bilinear resize and a 3x3 "
                            "conv (not in the originals; no checkerboard pattern in the colour map) "
                            "(default: %(default)s)")


# --lr-schedule's choices, spelled out so that `-h` and usage errors need no Keras import; a test holds them inside
# ccyclegan.schedules.LR_SCHEDULES.
LR_SCHEDULE_CHOICES = ("constant", "linear-decay")


def add_lr_schedule_options(group) -> None:
    """`--lr-schedule` and `--lr-decay-start` for the families whose original kept a constant rate (CCycleGAN, the
    AU family); both set the config fields `lr_schedule` and `lr_decay_start`."""
    group.add_argument("--lr-schedule", choices=LR_SCHEDULE_CHOICES, default="constant",
                       help="constant (the original's) or linear-decay: constant, then linearly to 0 at the end of "
                            "the run (-epochs, or --max-steps when that ends it sooner; resume with the same command "
                            "to stay on the same curve) (default: %(default)s)")
    group.add_argument("--lr-decay-start", type=float, default=0.5, metavar="FRACTION",
                       help="linear-decay: the fraction of the run after which the rate falls (default: %(default)s)")


def add_mixed_precision_option(group, extra: str = "") -> None:
    """`--mixed-precision` for the families that train in bfloat16 (CCycleGAN, GANimation, the AU family)."""
    group.add_argument("--mixed-precision", action="store_true",
                       help=f"compute in bfloat16 with float32 weights (CPUs with AVX512-BF16, TPUs, GPUs from Ampere "
                            f"on){extra}; the exported generator is float32")


def add_generator_average_option(group, default: float = 0.0, default_span: float = 0.1) -> None:
    """`--g-average DECAY` and its `--g-average-span`: an exponential moving average of the generator's weights
    (`ccyclegan.averaging`)."""
    group.add_argument("--g-average", dest="g_average", type=float, default=default, metavar="DECAY",
                       help="keep an exponential moving average of G's weights with this decay (e.g. 0.999: about "
                            "the last 1,000 updates) and use it for samples, exports, translate and evaluate; not in "
                            "the originals (default: %(default)s, none)")
    group.add_argument("--g-average-span", dest="g_average_span", type=float, default=default_span,
                       metavar="FRACTION",
                       help="the average's ramp: its mean age is at most this fraction of the updates so far (0.1: "
                            "tf.train.ExponentialMovingAverage's; 0.5: a plain mean of all), until DECAY caps it; a "
                            "horizon beyond the last tenth needs both a larger span and DECAY near 1, e.g. 0.9999 "
                            "(default: %(default)s)")


def add_au_condition_option(group) -> None:
    """`--au-condition` for both AU-conditioned families (GANimation, the AU family)."""
    from ccyclegan.labels import AU_CONDITIONS

    group.add_argument("--au-condition", choices=AU_CONDITIONS, default="target",
                       help="what G is conditioned on: target (the originals), or change: target minus the face's "
                            "own AUs (not in the originals; using such a generator needs the faces' AUs: the data "
                            "set's, or --judge's on photos) (default: %(default)s)")


def add_kept_colour_option(group, dest: str) -> None:
    """`--kept-colour-w` for the generators with GANimation's attention mask (GANimation, the AU family's)."""
    group.add_argument("--kept-colour-w", dest=dest, type=float, default=0.0,
                       help="not in the originals: weight of mean(A |C - x|), which pulls the colour map C to the "
                            "input where the mask A keeps it (the mask gets no gradient from it), so that 1 - A of "
                            "a colour map unlike the input does not leak into unchanged pixels (default 0: off)")


def add_au_critic_options(group) -> None:
    """The AU families' critic options (not in the originals; both trainers read `critic_warmup`, `au_low_pass`,
    `au_shift`, `au_luminance`)."""
    group.add_argument("--critic-warmup", type=int, default=0, metavar="N",
                       help="not in the originals: the first N iterations train the critic's AU regression on real "
                            "faces alone, so that G's first AU gradients point at the AUs (default 0)")
    group.add_argument("--au-low-pass", action="store_true",
                       help="not in the originals: the critic's AU head reads the faces through a 3x3 binomial "
                            "blur, so that G cannot fool it with checkerboard patterns")
    group.add_argument("--au-shift", type=int, default=0, metavar="PIXELS",
                       help="not in the originals: the critic's AU head reads real and generated faces each moved by "
                            "a random offset of up to PIXELS (edges reflected), so that G must move the AUs' shapes "
                            "rather than a pattern that fools the head at one position (default 0)")
    group.add_argument("--au-luminance", action="store_true",
                       help="not in the originals: the critic's AU head reads the faces' luminance (the critic's "
                            "realness head still sees colour), so that G cannot move it with hue blotches")
