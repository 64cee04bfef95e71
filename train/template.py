"""The smallest family on the platform, the one `docs/extending.md` walks through: a conv net that learns to
reproduce its input (`python train.py --family template --dataset synthetic`). A test trains it two steps, so the
guide cannot go stale. Everything that is not this family's maths (run folder, resume, loop, logs, distribution)
comes from the core.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

MODES = ("train",)


@dataclass
class TemplateConfig:
    """Everything that defines a run (saved as config.json); validated on creation."""

    width: int = 8
    learning_rate: float = 1e-3
    epochs: int = 1
    batch_size: int = 16
    seed: int = 0
    log_style: str = "bar"

    def __post_init__(self):
        for name in ("width", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


def build_model(image_shape, width: int):
    import keras

    inputs = keras.Input(image_shape, name="image")
    hidden = keras.layers.Conv2D(width, 3, padding="same", activation="relu", name="conv")(inputs)
    outputs = keras.layers.Conv2D(image_shape[-1], 3, padding="same", activation="tanh", name="out")(hidden)
    return keras.Model(inputs, outputs, name="template")


def train(config: TemplateConfig, images, run_dir, *, strategy=None, max_steps=None, time_limit=None, resume=False,
          context=None) -> dict:
    """Train on uint8 images (N, H, W, C); everything goes into `run_dir`. Returns the summary."""
    import keras
    import tensorflow as tf

    from ccyclegan.data.pipeline import image_dataset, steps_per_epoch
    from ccyclegan.loop import LoopSettings
    from ccyclegan.losses import mean_absolute_error
    from ccyclegan.run import RunFolder, TrainingJob, fit
    from ccyclegan.steps import ReplicaSteps, global_mean

    settings = LoopSettings(config.epochs, steps_per_epoch(len(images), config.batch_size), max_steps=max_steps,
                            time_limit=time_limit, log_style=config.log_style)
    run = RunFolder(Path(run_dir), config, context or {}, resume=resume, resumable=("epochs",), strategy=strategy)
    run.prepare()  # validated before anything is created
    steps = ReplicaSteps(strategy)
    keras.utils.set_random_seed(config.seed)
    with steps.strategy.scope():
        model = build_model(images.shape[1:], config.width)
        optimizer = keras.optimizers.Adam(config.learning_rate)
        optimizer.build(model.trainable_variables)

    def replica_step(batch):
        with tf.GradientTape() as tape:
            loss = global_mean(mean_absolute_error(model(batch, training=True), batch), config.batch_size)
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return {"loss": loss}

    step = steps.distributed(replica_step)

    def epoch_data(epoch):
        dataset = image_dataset(images, batch_size=config.batch_size, seed=config.seed * 100_003 + epoch, repeat=False)
        return steps.strategy.experimental_distribute_dataset(dataset)  # batches of images

    job = TrainingJob(trackables={"model": model, "optimizer": optimizer}, make_epoch_data=epoch_data,
                      train_step=lambda batch, epoch, index: step(batch), log_columns=["loss"],
                      optimizers={"model": optimizer}, exports=lambda: {"model.keras": model})
    return fit(job, settings, run, resume=resume)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument_group("template").add_argument("--width", type=int, default=8, help="filters (default 8)")


def run(args: argparse.Namespace) -> dict:
    from ccyclegan.cli import default_run_dir, run_length
    from ccyclegan.data.sources import load_fer_source
    from ccyclegan.distribute import make_strategy
    from ccyclegan.errors import UsageError

    try:
        config = TemplateConfig(width=args.width, epochs=args.epochs or 1, batch_size=args.batch_size or 16,
                                seed=args.seed, log_style=args.log_style)
    except ValueError as error:
        raise UsageError(str(error)) from None
    strategy = make_strategy(args.strategy, args.cpu_devices)
    source = load_fer_source(args.dataset, args.data, synthetic_n=args.synthetic_n, seed=args.seed)
    out = Path(args.out) if args.out else default_run_dir("template", args.dataset)
    return train(config, source.data.train.images, out, strategy=strategy, **run_length(args),
                 resume=args.resume, context={"dataset": args.dataset, "data": str(source.csv_path)})
