"""The step machinery every GAN family shares, so that no trainer writes it again.

- `ReplicaSteps`: turns a per-replica step (a Python function of tensors that returns a dict of scalars) into one
  `tf.function` that runs it on every replica of any `tf.distribute` strategy and sums the returned values; with
  `xla=True` the gradient computations are compiled with XLA, while the optimizer updates (which under a
  multi-device strategy include the cross-replica sum of the gradients) stay outside the compiled function.
- `global_mean`: a per-replica sum divided by the *global* batch, so that the replicas' values add up to the mean
  over the global batch whatever the number of replicas (and a single device gives the same number).
- `generator_turn` / `update_counts`: the n_critic schedule (the critic on every iteration, the generator on one
  iteration in n, counted within each epoch as the originals did) and how many updates each optimizer makes in a
  run, which a learning-rate schedule needs because the generator updates less often than the critic.
- `float32_copies`: models built again under float32 with the weights of mixed-precision ones, for export.
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from ccyclegan.precision import dtype_policy


def global_mean(per_example, global_batch) -> tf.Tensor:
    """sum(per_example) / global_batch: this replica's share of the mean over the global batch (float32)."""
    return tf.reduce_sum(tf.cast(per_example, tf.float32)) / tf.cast(global_batch, tf.float32)


class ReplicaSteps:
    """Compiles a family's per-replica steps for one strategy, with or without XLA."""

    def __init__(self, strategy: tf.distribute.Strategy | None = None, xla: bool = False):
        self.strategy = strategy or tf.distribute.get_strategy()
        self.xla = xla

    def gradients(self, function: Callable) -> Callable:
        """`function` (forward and backward pass of one replica) compiled with XLA when asked, else unchanged."""
        return tf.function(function, jit_compile=True) if self.xla else function

    def distributed(self, replica_step: Callable) -> Callable:
        """One `tf.function`: `replica_step(*args)` on every replica, its dict of values summed over replicas.

        Each replica's values must already be its share of a global mean (see `global_mean`), so that the sum is
        the global figure.
        """
        strategy = self.strategy

        def step(*args):
            per_replica = strategy.run(replica_step, args=args)
            return {name: strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)
                    for name, value in per_replica.items()}

        return tf.function(step)


def generator_turn(batch_index: int, n_critic: int) -> bool:
    """True on the iterations that also update the generator: batch_index % n_critic == 0 (within each epoch)."""
    if n_critic < 1:
        raise ValueError(f"n_critic must be >= 1, got {n_critic}")
    return batch_index % n_critic == 0


def generator_iterations(total_steps: int, steps_per_epoch: int, n_critic: int) -> int:
    """How many of a run's first `total_steps` iterations are generator turns (counted within each epoch)."""
    full_epochs, rest = divmod(total_steps, steps_per_epoch)
    per_epoch = -(-steps_per_epoch // n_critic)
    return full_epochs * per_epoch + -(-rest // n_critic)


def update_counts(total_steps: int, steps_per_epoch: int | None, n_critic: int,
                  generator_updates_per_turn: int = 1) -> tuple[int, int]:
    """(critic updates, generator updates) in a run of `total_steps` iterations, for learning-rate schedules.

    Without `steps_per_epoch` the generator turns are counted as if the run were one epoch.
    """
    turns = generator_iterations(total_steps, steps_per_epoch or total_steps, n_critic)
    return total_steps, turns * generator_updates_per_turn


def critic_and_generator_rates(schedule: str, critic_lr: float, generator_lr: float, total_steps: int | None,
                               steps_per_epoch: int | None, n_critic: int, decay_start: float,
                               generator_updates_per_turn: int = 1) -> tuple:
    """The critic's and the generator's learning rates: the floats for a constant rate, else each a schedule over
    its own optimizer's updates (the generator updates on every `n_critic`-th iteration only)."""
    from ccyclegan.schedules import learning_rate

    if schedule == "constant" or total_steps is None:
        return critic_lr, generator_lr
    critic_updates, generator_updates = update_counts(total_steps, steps_per_epoch, n_critic,
                                                      generator_updates_per_turn)
    epochs = max(1, round(total_steps / steps_per_epoch)) if steps_per_epoch else 1
    return (learning_rate(schedule, critic_lr, critic_updates, decay_start, epochs),
            learning_rate(schedule, generator_lr, max(1, generator_updates), decay_start, epochs))


def au_regression_update(read_aus: Callable, variables, optimizer, images, aus, loss_name: str, global_batch):
    """One critic update on the AU regression of real faces alone: a warm-up before the adversarial game.

    Why: a generator learns the AUs through the critic's AU head, and a head that has not yet learnt them gives it
    gradients towards whatever moves an untrained regressor, not towards the AUs. `read_aus(images)` is the head's
    output in the form `loss_name` (`ccyclegan.losses.au_loss`) takes. Returns this replica's share of the loss.
    """
    from ccyclegan.losses import au_loss

    variables = list(variables)
    with tf.GradientTape() as tape:
        loss = global_mean(au_loss(loss_name, aus, read_aus(images)), global_batch)
    gradients = tape.gradient(loss, variables)
    if not optimizer.built:  # on every variable, as Keras would, so that a checkpoint's slots keep their layout
        optimizer.build(variables)
    # The realness head has no gradient here (the warm-up trains the AU reading alone): it is left as it is, without
    # Keras's warning that a loss forgot some variables.
    optimizer.apply_gradients([(g, v) for g, v in zip(gradients, variables) if g is not None])
    return loss


def float32_copies(build: Callable[[], tuple], models: tuple) -> tuple:
    """Build the same networks again under the float32 policy and copy the weights of `models` into them.

    Mixed-precision models keep float32 weights but compute (and export their layers' dtype) in bfloat16; an
    exported model should run in float32 anywhere, so exports go through this copy.
    """
    with dtype_policy("float32"):
        copies = build()
    for copy, model in zip(copies, models):
        copy.set_weights(model.get_weights())
    return copies
