"""Losses as pure functions of logits/images that return one value per example.

Per-example values let a trainer average over the *global* batch under `tf.distribute` (sum on each replica, divide
by the global batch size) and weight terms exactly as Keras 2's `train_on_batch` did (mean over the batch). All
maths in float32 from logits, so no probability is ever clipped or log(0) taken.
"""

from __future__ import annotations

import tensorflow as tf

ADVERSARIAL_MODES = ("bce", "nonsaturating", "lsgan", "wgan", "hinge")


def per_example_mean(values: tf.Tensor) -> tf.Tensor:
    """Mean over every non-batch axis: (B, ...) -> (B,)."""
    values = tf.cast(values, tf.float32)
    return tf.reduce_mean(tf.reshape(values, [tf.shape(values)[0], -1]), axis=1)


def sigmoid_bce(targets: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """Keras' binary_crossentropy on sigmoid outputs (mean over the last axes), computed stably from logits."""
    targets = tf.cast(targets, tf.float32)
    return per_example_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=tf.cast(logits, tf.float32)))


def renormalised_sigmoid_cce(targets: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """Keras' categorical_crossentropy applied to *sigmoid* outputs, as the original G loss does.

    Keras renormalises the probability vector to sum 1 before the log, so the loss is
    -sum_t y_t * log(sigmoid(l_t) / sum_j sigmoid(l_j)); here in log space: log_sigmoid(l_t) - logsumexp(log_sigmoid(l)).
    """
    log_p = tf.math.log_sigmoid(tf.cast(logits, tf.float32))
    log_normalised = log_p - tf.reduce_logsumexp(log_p, axis=-1, keepdims=True)
    return -tf.reduce_sum(tf.cast(targets, tf.float32) * log_normalised, axis=-1)


def softmax_cce(targets: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """Categorical cross-entropy of one-hot (or soft) targets against softmax logits."""
    return tf.nn.softmax_cross_entropy_with_logits(labels=tf.cast(targets, tf.float32), logits=tf.cast(logits, tf.float32))


def mean_absolute_error(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """Keras' `mae` per example: the mean |a - b| over every pixel and channel."""
    return per_example_mean(tf.abs(tf.cast(a, tf.float32) - tf.cast(b, tf.float32)))


def attention_magnitude(attention: tf.Tensor) -> tf.Tensor:
    """GANimation's mask term per example: mean(A). Weighted > 0 it keeps A from saturating to 1 (output = input)."""
    return per_example_mean(attention)


def kept_colour_error(images: tf.Tensor, attention: tf.Tensor, colour: tf.Tensor) -> tf.Tensor:
    """Per-example mean of A |C - x| with A held fixed: where the mask keeps the input (A near 1), the colour map
    should be the input too, since the composite still lets 1 - A of it through. Only C gets a gradient: the
    mask's own terms decide where to keep the input, and the input is the reference, not a thing to move.

    Not in the originals: on pixels the expression does not move, the (1 - A) of the colour map that the composite
    lets through is the whole error, and nothing else asks that map to resemble the input (see docs/ganimation.md).
    """
    weight = tf.stop_gradient(tf.cast(attention, tf.float32))
    reference = tf.stop_gradient(tf.cast(images, tf.float32))
    return per_example_mean(weight * tf.abs(tf.cast(colour, tf.float32) - reference))


def attention_total_variation(attention: tf.Tensor) -> tf.Tensor:
    """Per-example mean |A[y+1] - A[y]| + mean |A[x+1] - A[x]| of (B, H, W, 1) masks: smooth masks, few islands.

    vipermu/ganimation's form (means); the official code sums over pixels and batch with a 1e-5 weight instead.
    """
    attention = tf.cast(attention, tf.float32)
    return (per_example_mean(tf.abs(attention[:, 1:] - attention[:, :-1]))
            + per_example_mean(tf.abs(attention[:, :, 1:] - attention[:, :, :-1])))


def discriminator_adversarial_loss(mode: str, real_logits: tf.Tensor, fake_logits: tf.Tensor):
    """Per-example D losses `(on_real, on_fake)` for the adversarial `mode` (the originals' modes by name).

    bce / nonsaturating: sigmoid cross-entropy against 1 (real) and 0 (fake); lsgan: squared error against 1 and 0;
    wgan: -D(real) and D(fake) (add `gradient_penalty` for WGAN-GP); hinge: relu(1 - D(real)) and relu(1 + D(fake)).
    """
    real, fake = per_example_mean(real_logits), per_example_mean(fake_logits)
    if mode in ("bce", "nonsaturating"):
        return sigmoid_bce(tf.ones_like(real_logits), real_logits), sigmoid_bce(tf.zeros_like(fake_logits), fake_logits)
    if mode == "lsgan":
        return per_example_mean(tf.square(tf.cast(real_logits, tf.float32) - 1.0)), per_example_mean(tf.square(tf.cast(fake_logits, tf.float32)))
    if mode == "wgan":
        return -real, fake
    if mode == "hinge":
        return per_example_mean(tf.nn.relu(1.0 - tf.cast(real_logits, tf.float32))), per_example_mean(tf.nn.relu(1.0 + tf.cast(fake_logits, tf.float32)))
    raise ValueError(f"unknown adversarial loss mode {mode!r}; expected one of {ADVERSARIAL_MODES}")


def generator_adversarial_loss(mode: str, fake_logits: tf.Tensor) -> tf.Tensor:
    """Per-example G loss on D's output for fakes: non-saturating BCE (the originals' `bce`), LSGAN, or -D(fake)."""
    if mode in ("bce", "nonsaturating"):
        return sigmoid_bce(tf.ones_like(fake_logits), fake_logits)
    if mode == "lsgan":
        return per_example_mean(tf.square(tf.cast(fake_logits, tf.float32) - 1.0))
    if mode in ("wgan", "hinge"):
        return -per_example_mean(fake_logits)
    raise ValueError(f"unknown adversarial loss mode {mode!r}; expected one of {ADVERSARIAL_MODES}")


def gradient_penalty(critic, real: tf.Tensor, fake: tf.Tensor, seed=None) -> tf.Tensor:
    """WGAN-GP per-example penalty (||grad_x D(x_hat)||_2 - 1)^2 at random interpolates, in float32.

    `critic(x)` must return the critic map; its *sum* is differentiated (equivalent to grad_outputs = ones). A small
    epsilon inside the square root keeps the norm differentiable at zero.
    """
    real, fake = tf.cast(real, tf.float32), tf.cast(fake, tf.float32)
    shape = [tf.shape(real)[0]] + [1] * (len(real.shape) - 1)
    alpha = tf.random.uniform(shape, seed=seed) if seed is None else tf.random.stateless_uniform(shape, seed=seed)
    interpolates = alpha * real + (1.0 - alpha) * fake
    with tf.GradientTape() as tape:
        tape.watch(interpolates)
        score_sum = tf.reduce_sum(tf.cast(critic(interpolates), tf.float32))
    grads = tape.gradient(score_sum, interpolates)
    norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=list(range(1, len(real.shape)))) + 1e-12)
    return tf.square(norms - 1.0)


def jacobian_penalty(read, inputs: tf.Tensor, seed) -> tf.Tensor:
    """Per-example squared input gradient of a random projection of `read(inputs)`, in float32: an unbiased estimate
    of the squared Frobenius norm of read's Jacobian (the projection v ~ N(0, I) has E[v v^T] = I).

    Why: an AU head that moves steeply with the input (its Jacobian large) can be moved by a faint colour dither; a
    generator that learns the AUs through that head then draws dither instead of AUs. Penalising the Jacobian keeps
    the head smooth, as the gradient penalty keeps the realness score smooth.
    """
    inputs = tf.cast(inputs, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        outputs = tf.cast(read(inputs), tf.float32)
        directions = tf.random.stateless_normal(tf.shape(outputs), seed=seed)
        projected = tf.reduce_sum(outputs * directions)
    grads = tape.gradient(projected, inputs)
    return tf.reduce_sum(tf.square(grads), axis=list(range(1, len(inputs.shape))))


def adversarial_inputs(loss_of, inputs: tf.Tensor, epsilon: float, seed, low: float = -1.0,
                       high: float = 1.0) -> tf.Tensor:
    """`inputs` moved by at most `epsilon` per value (L-infinity) towards a larger `loss_of(inputs)` (per-example
    losses), clipped to [low, high], without gradient: one signed-gradient step of 1.25 epsilon from a uniform random
    start, then projected back (the FGSM with random start of Wong et al. 2020, which does not collapse as FGSM from
    the input can).

    Why: a regressor trained on these reads a face the same under every small change of its pixels, so a generator
    that learns through it cannot move it with a faint pattern and has to change what the regressor reads.
    """
    inputs = tf.cast(inputs, tf.float32)
    delta = tf.random.stateless_uniform(tf.shape(inputs), seed=seed, minval=-epsilon, maxval=epsilon)
    with tf.GradientTape() as tape:
        tape.watch(delta)
        loss = tf.reduce_sum(tf.cast(loss_of(tf.clip_by_value(inputs + delta, low, high)), tf.float32))
    step = 1.25 * epsilon * tf.sign(tape.gradient(loss, delta))
    delta = tf.clip_by_value(delta + step, -epsilon, epsilon)
    return tf.stop_gradient(tf.clip_by_value(inputs + delta, low, high))


AU_LOSSES = ("mse", "l1", "bce", "log-abs")


def au_loss(name: str, targets: tf.Tensor, predictions: tf.Tensor, epsilon: float = 1e-7) -> tf.Tensor:
    """Per-example AU loss by name, the mean over the AUs, in float32:

    - `mse`, `l1`: squared / absolute error of predicted intensities (GANimation's and the AU family's regression);
    - `bce`: binary cross-entropy of presence labels against *logits* (for `_c` presence targets);
    - `log-abs`: the AU family's e4 loss -log(1 - |a - b|), with |a - b| clipped to 1 - `epsilon` as Keras' clip did
      (in float32, as the original computed it, 1 - 1e-7 rounds to 1 - 2**-23: the largest value per AU is
      23 log 2 = 15.9) and computed with log1p so that it stays finite
      and exact for small differences.
    """
    targets, predictions = tf.cast(targets, tf.float32), tf.cast(predictions, tf.float32)
    if name == "mse":
        return per_example_mean(tf.square(predictions - targets))
    if name == "l1":
        return per_example_mean(tf.abs(predictions - targets))
    if name == "bce":
        return sigmoid_bce(targets, predictions)
    if name == "log-abs":
        distance = tf.minimum(tf.abs(predictions - targets), 1.0 - epsilon)
        return -per_example_mean(tf.math.log1p(-distance))
    raise ValueError(f"unknown AU loss {name!r}; expected one of {AU_LOSSES}")
