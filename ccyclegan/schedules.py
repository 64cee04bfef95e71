"""Learning-rate schedules shared by the families."""

from __future__ import annotations

import keras

LR_SCHEDULES = ("constant", "linear-decay")


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


def learning_rate(schedule: str, initial: float, total_steps: int, decay_start: float = 0.5):
    """A float for "constant", else the named schedule over `total_steps` updates."""
    if schedule == "constant":
        return initial
    if schedule == "linear-decay":
        return ConstantThenLinearDecay(initial, total_steps, decay_start)
    raise ValueError(f"lr schedule must be one of {LR_SCHEDULES}, got {schedule!r}")
