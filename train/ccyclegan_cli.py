"""`python train.py` for the CCycleGAN family: the original t26 flags plus modes train / translate / evaluate."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from ccyclegan.cli import (
    add_lr_schedule_options,
    add_mixed_precision_option,
    default_run_dir,
    print_parameters,
    run_length,
    run_mode,
)
from ccyclegan.distribute import make_strategy
from ccyclegan.errors import UsageError

MODES = ("train", "translate", "evaluate")
# The choices of --decoder-edge, spelled out so that `-h` and usage errors need no Keras import; a test holds them
# equal to models.ccyclegan.DECODER_EDGES.
DECODER_EDGE_CHOICES = ("bias", "replicate")
ARCHITECTURE_CHOICES = ("final", "t17", "unet", "cyclegan")

# The flags of ccyclegan_t26.py: name, type, default and help exactly as the original (the weights are int there).
ORIGINAL_FLAGS = (
    ("-d_gan_loss_w", int, 1, "loss weight for discrim. real/fake"),
    ("-d_cl_loss_w", int, 1, "loss weight for discrim. multiclass"),
    ("-g_gan_loss_w", int, 2, "loss weight for gen. real/fake"),
    ("-g_cl_loss_w", int, 2, "loss weight for gen. multiclass"),
    ("-rec_loss_w", int, 1, "reconstr. loss weight"),
    ("-adam_lr", float, 0.0002, "Adam l.r."),
    ("-adam_beta_1", float, 0.5, "Adam beta-1"),
    ("-adam_beta_2", float, 0.999, "Adam beta-2"),
    ("-sample_interval", int, 200, "sample interval"),
)
ORIGINAL_EPOCHS, ORIGINAL_BATCH_SIZE = 170, 64
# The keys of the original's parameter banner (argparse's order in ccyclegan_t26.py).
ORIGINAL_BANNER = ("d_gan_loss_w", "d_cl_loss_w", "g_gan_loss_w", "g_cl_loss_w", "rec_loss_w", "adam_lr", "adam_beta_1",
                   "adam_beta_2", "epochs", "batch_size", "sample_interval")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    original = parser.add_argument_group("the original ccyclegan_t26.py flags (same names, types, defaults)")
    for flag, kind, default, help_text in ORIGINAL_FLAGS:
        original.add_argument(flag, type=kind, default=default, help=help_text)
    parser.set_defaults(epochs=ORIGINAL_EPOCHS, batch_size=ORIGINAL_BATCH_SIZE)

    group = parser.add_argument_group("CCycleGAN options")
    group.add_argument("--d-g-ratio", type=int, default=5,
                       help="one G update every N D updates (t26's implicit default 5; t24/t25 used 1)")
    group.add_argument("--g-step", choices=("batched", "sequential"), default="batched",
                       help="batched: one G update on all 6B translations (t25/t26); sequential: six B-sized updates "
                            "(t24) (default: %(default)s)")
    group.add_argument("--gf", type=int, default=64, help="generator base width (default: %(default)s)")
    group.add_argument("--df", type=int, default=64, help="discriminator base width (default: %(default)s)")
    group.add_argument("--sampling", choices=("epoch", "replacement"), default="epoch",
                       help="epoch: each image once per epoch; replacement: the original's batches drawn with "
                            "replacement (default: %(default)s)")
    group.add_argument("--no-flip", action="store_true", help="no random horizontal flips")
    add_mixed_precision_option(group)
    group.add_argument("--decoder-edge", choices=DECODER_EDGE_CHOICES, default="bias",
                       help="bias: the original's output_padding, whose bias-only row and column make a grey band "
                            "along the right and bottom of every image; replicate: copy the last row and column "
                            "instead (same parameters) (default: %(default)s)")
    group.add_argument("--self-reg-w", type=float, default=0.0, metavar="W",
                       help="not in the original: weight of the self-regularisation mean |G(x, t) - x| over the "
                            "translations, which keeps what the expression does not change (default: %(default)s, off)")
    group.add_argument("--attention-mask", action="store_true",
                       help="not in the original: GANimation's attention head on the decoder, output = A * input + "
                            "(1 - A) * colour, so that pixels the expression does not touch can be kept as they are; "
                            "logs mask_mean (1 = nothing changed) and mask_tv")
    group.add_argument("--mask-w", type=float, default=0.0, metavar="W",
                       help="--attention-mask: weight of mean(A), GANimation's term against masks saturating to 1 "
                            "(no change) (GANimation: 0.1) (default: %(default)s)")
    group.add_argument("--mask-smooth-w", type=float, default=0.0, metavar="W",
                       help="--attention-mask: weight of the mask's total variation (mean absolute difference of "
                            "neighbouring pixels) (default: %(default)s)")
    add_lr_schedule_options(group)
    group.add_argument("--use-test-in-train", action="store_true",
                       help="reproduce the original's leakage: train on Training + PublicTest + PrivateTest (T23+)")
    group.add_argument("--checkpoint-interval", type=int, default=0, metavar="STEPS",
                       help="checkpoint every N steps (default: every -sample_interval steps and each epoch end)")

    lineage = parser.add_argument_group(
        "lineage options (the earlier experiments of the log; `--experiment T1` .. `T23` set them, docs/lineage.md)")
    lineage.add_argument("--architecture", choices=ARCHITECTURE_CHOICES, default="final",
                         help="final: the T18-T27 networks; t17: T17's split G; unet: T1-T16's conditional U-Net G "
                              "with a true cycle; cyclegan: T4's two-domain CycleGAN (default: %(default)s)")
    lineage.add_argument("--transform-layer", choices=("on", "off"), default="on",
                         help="the Dense + LeakyReLU layer at G_dec's bottleneck (T20 on) (default: %(default)s)")
    lineage.add_argument("--class-activation", choices=("sigmoid", "softmax"), default="sigmoid",
                         help="D's class head: sigmoid with BCE (T21 on) or softmax with cross-entropy "
                              "(default: %(default)s)")
    lineage.add_argument("--translations", choices=("all", "one"), default="all",
                         help="per real image: all other classes (T24 on) or one random other class (T17-T23) "
                              "(default: %(default)s)")
    lineage.add_argument("--fake-class-target", choices=("zero", "target", "unrelated"), default="zero",
                         help="D's class target for fakes: zero vector (T22 on), the fake's target class "
                              "(T18-T21), or T17's unrelated random class (also G's target) (default: %(default)s)")
    lineage.add_argument("--g-label", choices=("input", "concat-bottleneck", "multiply-bottleneck"), default="input",
                         help="unet: where the label enters G (default: %(default)s)")
    lineage.add_argument("--g-extra-blocks", type=int, default=0, help="unet: T12's extra stride-1 blocks (2)")
    lineage.add_argument("--d-label", choices=("input", "after", "none"), default="input",
                         help="unet: where the label enters D (default: %(default)s)")
    lineage.add_argument("--d-head", choices=("patch", "dense", "acgan", "resnet50"), default="patch",
                         help="unet: PatchGAN map, T3's dense head, T9's 8-way ACGAN head, T6-T8's ResNet50 "
                              "(default: %(default)s)")
    lineage.add_argument("--resnet-weights", default=None, metavar="FILE",
                         help="--d-head resnet50: a local ResNet50 no-top ImageNet weights file (never downloaded; "
                              "without it the ResNet50 starts from random weights)")
    lineage.add_argument("--adversarial-loss", choices=("bce", "lsgan"), default="bce",
                         help="unet: binary cross-entropy or least squares (default: %(default)s)")
    lineage.add_argument("--g-adversarial-loss", choices=("same", "mse"), default="same",
                         help="unet: mse = G's squared error of D's probability against 1 (T6-T8) "
                              "(default: %(default)s)")
    lineage.add_argument("--id-loss-w", type=float, default=0.0, help="unet: identity loss weight (default: 0)")
    lineage.add_argument("--d-wrong-label", action="store_true",
                         help="unet: D also learns (real image, wrong label) -> fake")
    lineage.add_argument("--d-update", choices=("joint", "per-group"), default="joint",
                         help="unet: one D update on all groups, or one per group as T1 (default: %(default)s)")
    lineage.add_argument("--frozen-classifier", default=None, metavar="PATH",
                         help="unet (T8): a classifier run folder or classifier.keras whose softmax on the fake "
                              "must match the target")
    lineage.add_argument("--frozen-cl-loss-w", type=float, default=0.0, help="T8: its loss weight (5)")
    lineage.add_argument("--channels", type=int, choices=(1, 3), default=1,
                         help="3: gray faces made RGB, as T6-T9 (default: %(default)s)")
    lineage.add_argument("--search", action="store_true",
                         help="T27: train the grid of G loss weights and learning rates, score each by the Frechet "
                              "distance of its translations per target class, write search.csv, report the best")
    lineage.add_argument("--fid-weights", default=None, metavar="FILE",
                         help="--search: a local InceptionV3 no-top ImageNet weights file for the Frechet distance "
                              "(never downloaded); without it, the penultimate layer of --judge")
    lineage.add_argument("--domains", type=int, nargs=2, default=(6, 3), metavar=("A", "B"),
                         help="cyclegan (T4): the two classes (default: 6 3, Neutral <-> Happy)")

    # The options every translating family shares (--model, --input, --output, --judge, --split, ...) are the
    # core's (ccyclegan.cli.add_use_arguments); the target is this family's: an expression.
    parser.add_argument_group("translate").add_argument(
        "--target", default="all", help="translate: expression name or index, or 'all' for the grid")
    parser.set_defaults(split="private_test")


def config_from_args(args: argparse.Namespace):
    """The CCycleGANConfig of the command line (an --experiment's settings arrive as the parser's defaults)."""
    from train.ccyclegan import CCycleGANConfig

    explicit = {
        "d_gan_loss_w": args.d_gan_loss_w, "d_cl_loss_w": args.d_cl_loss_w, "g_gan_loss_w": args.g_gan_loss_w,
        "g_cl_loss_w": args.g_cl_loss_w, "rec_loss_w": args.rec_loss_w, "adam_lr": args.adam_lr,
        "adam_beta_1": args.adam_beta_1, "adam_beta_2": args.adam_beta_2, "epochs": args.epochs,
        "batch_size": args.batch_size, "sample_interval": args.sample_interval, "d_g_ratio": args.d_g_ratio,
        "g_step": args.g_step, "gf": args.gf, "df": args.df, "sampling": args.sampling, "flip": not args.no_flip,
        "seed": args.seed, "checkpoint_interval": args.checkpoint_interval, "log_style": args.log_style,
        "xla": args.xla, "self_reg_w": args.self_reg_w, "lr_schedule": args.lr_schedule,
        "lr_decay_start": args.lr_decay_start, "decoder_edge": args.decoder_edge,
        "mixed_precision": args.mixed_precision, "attention_mask": args.attention_mask, "mask_w": args.mask_w,
        "mask_smooth_w": args.mask_smooth_w,
        "architecture": args.architecture, "transform_layer": args.transform_layer == "on",
        "class_activation": args.class_activation, "translations": args.translations,
        "fake_class_target": args.fake_class_target, "g_label": args.g_label, "g_extra_blocks": args.g_extra_blocks,
        "d_label": args.d_label, "d_head": args.d_head, "resnet_weights": args.resnet_weights,
        "adversarial_loss": args.adversarial_loss, "g_adversarial_loss": args.g_adversarial_loss,
        "id_loss_w": args.id_loss_w, "d_wrong_label": args.d_wrong_label, "d_update": args.d_update,
        "frozen_classifier": args.frozen_classifier, "frozen_cl_loss_w": args.frozen_cl_loss_w,
        "channels": args.channels, "domains": tuple(args.domains),
    }
    try:
        return CCycleGANConfig(**explicit)
    except ValueError as error:
        raise UsageError(str(error)) from None


def run(args: argparse.Namespace) -> dict:
    return run_mode(args, train_command, "train.ccyclegan_use")


def train_command(args: argparse.Namespace) -> dict:
    from ccyclegan.data.sources import load_fer_source
    from train.ccyclegan import train

    config = config_from_args(args)
    if args.search:
        from train.lineage_search import search_command

        return search_command(args, config)
    out = Path(args.out) if args.out else default_run_dir("ccyclegan", args.experiment or args.dataset)
    if args.log_style == "original":  # the original's banner: its 11 flags, in its order
        print_parameters({name: getattr(args, name) for name in ORIGINAL_BANNER})
    else:
        print_parameters({**dataclasses.asdict(config), "dataset": args.dataset, "out": str(out)})
    strategy = make_strategy(args.strategy, args.cpu_devices)
    source = load_fer_source(args.dataset, args.data, synthetic_n=args.synthetic_n, seed=args.seed,
                             merge_test_into_train=args.use_test_in_train)
    fer = source.data
    print(f"> loaded train: {len(fer.train.images)}    - held-out samples from PublicTest: "
          f"{len(fer.public_test.images)}")
    context = {"dataset": args.dataset, "data": str(source.csv_path),
               "data_options": {"use_test_in_train": args.use_test_in_train}, "strategy": args.strategy,
               "precision": "mixed_bfloat16" if config.mixed_precision else "float32", "max_steps": args.max_steps}
    _, summary = train(config, fer.train.images, fer.train.labels, out, sample_images=fer.public_test.images,
                       sample_labels=fer.public_test.labels, **run_length(args), resume=args.resume,
                       strategy=strategy, context=context)
    print(f"Done: {summary['steps']} steps in {summary['seconds']:.0f} s; generator saved to {summary['generator']}")
    if args.evaluate_after:
        from train.ccyclegan_use import evaluate_command

        summary["evaluation"] = evaluate_command(argparse.Namespace(**{**vars(args), "model": str(out)}))
    return summary
