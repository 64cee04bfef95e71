"""An exponential moving average of a generator's weights, the one every family can switch on.

Why: a GAN's generator is a moving target of its critic. What it learns consistently (the expression) persists
from update to update, while what it paints to fool the critic at one moment (a pattern the critic's heads misread)
changes with the critic. An average of the weights over the last ~1/(1 - decay) updates keeps the first and cancels
much of the second; StyleGAN, BigGAN and StarGAN v2 publish the averaged generator for that reason.

The average lives in its own variables (checkpointed, so that a resumed run continues it exactly); the networks keep
training on their own weights. Exports, samples and the modes that use a run's checkpoint read the average through
`swapped_in` or `copy_to_networks`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import tensorflow as tf

CHECKPOINT_NAME = "G_average"  # the average's name in a run's checkpoint


def check_decay(decay: float, option: str = "--g-average") -> float:
    """0 (no average) or a decay in (0, 1); anything else is a usage error naming the option."""
    if decay != 0 and not 0.0 < decay < 1.0:
        raise ValueError(f"{option} {decay}: the decay of the generator's weight average must be in (0, 1), "
                         f"e.g. 0.999 (an average over about the last 1,000 updates), or 0 to train without one")
    return float(decay)


def check_span(span: float, option: str = "--g-average-span") -> float:
    """The ramp's span in (0, 0.5]: 0.5 is a plain mean of every update so far; more would weigh old weights most."""
    if not 0.0 < span <= 0.5:
        raise ValueError(f"{option} {span}: the span of the average's ramp must be in (0, 0.5], the fraction of the "
                         f"updates so far that the average reaches back over (0.1: the last tenth; 0.5: all of "
                         f"them, equally)")
    return float(span)


class WeightAverage:
    """average <- d * average + (1 - d) * weight after each generator update, for every float weight of `models`.

    d = min(decay, (1 + n) / (1 / span + n)) at the n-th update, so that a short run's average is not dominated by
    the weights it started from. With span 0.1 this is tf.train.ExponentialMovingAverage's num_updates ramp,
    (1 + n) / (10 + n). The ramp is the tighter bound until it reaches the decay (n = 8,991 for 0.1 and 0.999): until
    then the average weighs update k by about (k / n)^(1/span - 2), an average whose mean age is span * n updates,
    whatever the decay. A longer horizon therefore needs both a larger span and a decay near 1. Build it inside the
    trainer's strategy scope, after the models.
    """

    def __init__(self, models: Sequence, decay: float, span: float = 0.1):
        self.decay = check_decay(decay)
        self.span = check_span(span)
        if not self.decay:
            raise ValueError("WeightAverage needs a decay in (0, 1); a run without an average builds none")
        self.sources = [w for model in models for w in model.weights if w.dtype in ("float32", "float64")]
        # All replicas hold the same weights after a synchronous update, so the first replica's average is the one.
        first = tf.VariableAggregation.ONLY_FIRST_REPLICA
        self.state = tf.Module(name="generator_weight_average")  # what the checkpoint holds
        self.state.updates = tf.Variable(0, dtype=tf.int64, trainable=False, aggregation=first, name="updates")
        self.state.averages = [tf.Variable(tf.convert_to_tensor(w), trainable=False, aggregation=first,
                                           name=f"average_{i}") for i, w in enumerate(self.sources)]

    def update(self) -> None:
        """One step of the average (inside the generator's replica step, after its optimizer's update)."""
        n = tf.cast(self.state.updates, tf.float32)
        d = tf.minimum(tf.constant(self.decay, tf.float32), (1.0 + n) / (1.0 / self.span + n))
        for average, weight in zip(self.state.averages, self.sources):
            value = tf.convert_to_tensor(weight)
            average.assign(tf.cast(d, average.dtype) * average + tf.cast(1.0 - d, average.dtype) * value)
        self.state.updates.assign_add(1)

    def copy_to_networks(self) -> None:
        """Overwrite the networks' weights with the average (for a checkpoint opened to translate or evaluate)."""
        for average, weight in zip(self.state.averages, self.sources):
            weight.assign(average.read_value())

    @contextlib.contextmanager
    def swapped_in(self):
        """The networks hold the average inside the block and their own weights again after it (samples, exports)."""
        own = [tf.convert_to_tensor(w).numpy() for w in self.sources]
        self.copy_to_networks()
        try:
            yield
        finally:
            for weight, value in zip(self.sources, own):
                weight.assign(value)
