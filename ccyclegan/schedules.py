"""Learning-rate schedules shared by the families."""

from __future__ import annotations

import keras

LR_SCHEDULES = ("constant", "linear-decay", "epoch-decay")


@keras.saving.register_keras_serializable(package="ccyclegan")
class ConstantThenLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """The rate stays at `initial` for the first `decay_start` fraction of `total_steps`, then falls linearly to 0.

    CycleGAN's and GANimation's schedule (constant for half the epochs, then linear to zero): the late small steps
    let a generator settle on fine detail that a constant rate keeps shaking. The step is the optimizer's own
    update counter, which the checkpoint restores, so a resumed run continues on the same curve.
    """

    def __init__(self, initial: float, total_steps: int, decay_start: float = 0.5):
        if total_steps < 1:
            raise ValueError(f"total_steps must be >= 1, got {total_steps}")
        if not 0.0 <= decay_start < 1.0:
            raise ValueError(f"decay_start must be in [0, 1), got {decay_start}")
        self.initial, self.total_steps, self.decay_start = float(initial), int(total_steps), float(decay_start)

    def __call__(self, step):
        start = self.decay_start * self.total_steps
        step = keras.ops.cast(step, "float32")
        remaining = keras.ops.clip((self.total_steps - step) / (self.total_steps - start), 0.0, 1.0)
        return self.initial * remaining

    def get_config(self) -> dict:
        return {"initial": self.initial, "total_steps": self.total_steps, "decay_start": self.decay_start}


@keras.saving.register_keras_serializable(package="ccyclegan")
class ConstantThenEpochDecay(keras.optimizers.schedules.LearningRateSchedule):
    """The rate stays at `initial` for the first `decay_start` fraction of `epochs`, then is multiplied by `factor`
    at every later epoch: vipermu/ganimation's schedule (x0.9 per epoch after epoch 20 of 30; it never reaches 0,
    although its help text says linear). Epochs are counted in this optimizer's updates, `total_steps / epochs` each.
    """

    def __init__(self, initial: float, total_steps: int, decay_start: float, epochs: int, factor: float = 0.9):
        if total_steps < 1 or epochs < 1:
            raise ValueError(f"total_steps and epochs must be >= 1, got {total_steps} and {epochs}")
        if not 0.0 <= decay_start < 1.0:
            raise ValueError(f"decay_start must be in [0, 1), got {decay_start}")
        if not 0.0 < factor <= 1.0:
            raise ValueError(f"factor must be in (0, 1], got {factor}")
        self.initial, self.total_steps, self.decay_start = float(initial), int(total_steps), float(decay_start)
        self.epochs, self.factor = int(epochs), float(factor)

    def __call__(self, step):
        epoch = keras.ops.floor(keras.ops.cast(step, "float32") * self.epochs / self.total_steps)
        decayed = keras.ops.maximum(epoch - round(self.decay_start * self.epochs), 0.0)
        return self.initial * keras.ops.power(self.factor, decayed)

    def get_config(self) -> dict:
        return {"initial": self.initial, "total_steps": self.total_steps, "decay_start": self.decay_start,
                "epochs": self.epochs, "factor": self.factor}


def learning_rate(schedule: str, initial: float, total_steps: int, decay_start: float = 0.5,
                  epochs: int | None = None):
    """A float for "constant", else the named schedule over `total_steps` updates ("epoch-decay" needs `epochs`)."""
    if schedule == "constant":
        return initial
    if schedule == "linear-decay":
        return ConstantThenLinearDecay(initial, total_steps, decay_start)
    if schedule == "epoch-decay":
        if epochs is None:
            raise ValueError("the epoch-decay schedule needs the run's number of epochs")
        return ConstantThenEpochDecay(initial, total_steps, decay_start, epochs)
    raise ValueError(f"lr schedule must be one of {LR_SCHEDULES}, got {schedule!r}")
