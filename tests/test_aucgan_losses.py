"""The AU family's losses against hand-computed values, with their edges: e4's -log(1 - |a - b|) (|a - b| = 0,
near 1 and at 1) and the WGAN-GP penalty (a linear critic, identical real and fake, a critic with zero gradient)."""

import math

import numpy as np
import pytest
import tensorflow as tf

from ccyclegan.losses import au_loss, gradient_penalty


def test_log_abs_loss_is_the_mean_of_minus_log_one_minus_distance():
    targets = tf.constant([[0.0, 1.0, 0.3, 0.9]])
    predictions = tf.constant([[0.5, 0.2, 0.3, 0.0]])
    expected = -(math.log(0.5) + math.log(0.2) + math.log(1.0) + math.log(0.1)) / 4
    np.testing.assert_allclose(au_loss("log-abs", targets, predictions).numpy(), [expected], rtol=1e-5)


def test_log_abs_loss_is_zero_with_zero_gradient_for_identical_vectors():
    predictions = tf.Variable([[0.2, 0.7, 1.0]])
    with tf.GradientTape() as tape:
        loss = au_loss("log-abs", tf.constant([[0.2, 0.7, 1.0]]), predictions)
    assert float(loss[0]) == 0.0
    np.testing.assert_allclose(tape.gradient(loss, predictions).numpy(), 0.0)


@pytest.mark.parametrize("distance, per_au", [(0.999, -math.log(0.001)), (1.0 - 1e-6, -math.log(1e-6))])
def test_log_abs_loss_near_a_distance_of_one(distance, per_au):
    predictions = tf.Variable([[distance]])
    with tf.GradientTape() as tape:
        loss = au_loss("log-abs", tf.constant([[0.0]]), predictions)
    np.testing.assert_allclose(loss.numpy(), [per_au], rtol=1e-3)
    # d/dp -log(1 - p) = 1 / (1 - p): large but finite
    np.testing.assert_allclose(tape.gradient(loss, predictions).numpy(), [[1.0 / (1.0 - distance)]], rtol=2e-2)


def test_log_abs_loss_at_a_distance_of_one_or_more_is_clipped_and_finite():
    predictions = tf.Variable([[1.0, 0.0, 1.5]])
    with tf.GradientTape() as tape:
        loss = au_loss("log-abs", tf.constant([[0.0, 1.0, 0.0]]), predictions)
    cap = 23 * math.log(2)  # 1 - 1e-7 rounds to 1 - 2**-23 in float32: -log(2**-23) per AU
    np.testing.assert_allclose(loss.numpy(), [cap], rtol=1e-4)
    assert np.all(np.isfinite(tape.gradient(loss, predictions).numpy()))


def _linear_critic(weights):
    w = tf.constant(weights, tf.float32)
    return lambda x: tf.reduce_sum(x * w, axis=[1, 2, 3])[:, None]


@pytest.mark.parametrize("scale, expected", [(0.5, 0.0), (1.0, 1.0), (0.25, 0.25)])
def test_gradient_penalty_of_a_linear_critic(scale, expected):
    """D(x) = sum(w * x): the gradient is w at every interpolate, so the penalty is (||w|| - 1)^2 for any alpha."""
    weights = np.full((1, 2, 2, 1), scale, np.float32)  # ||w|| = 2 * scale
    real = tf.random.stateless_normal([3, 2, 2, 1], seed=[1, 2])
    fake = tf.random.stateless_normal([3, 2, 2, 1], seed=[3, 4])
    penalty = gradient_penalty(_linear_critic(weights), real, fake, seed=tf.constant([5, 6]))
    np.testing.assert_allclose(penalty.numpy(), [expected] * 3, atol=1e-5)


def test_gradient_penalty_with_identical_real_and_fake_is_taken_at_that_point():
    """D(x) = sum(x^2) / 2 has gradient x, so with real = fake = x0 every interpolate is x0: (||x0|| - 1)^2."""
    x0 = tf.constant(np.arange(1, 5, dtype=np.float32).reshape(1, 2, 2, 1))  # ||x0|| = sqrt(30)
    critic = lambda x: tf.reduce_sum(tf.square(x), axis=[1, 2, 3])[:, None] / 2.0  # noqa: E731
    penalty = gradient_penalty(critic, x0, x0, seed=tf.constant([7, 8]))
    np.testing.assert_allclose(penalty.numpy(), [(math.sqrt(30.0) - 1.0) ** 2], rtol=1e-5)


def test_gradient_penalty_of_a_flat_critic_is_one_with_a_finite_gradient():
    """Zero input gradient: the norm is sqrt(0 + 1e-12), so the penalty is (1e-6 - 1)^2 and differentiable."""
    scale = tf.Variable(0.0)
    real, fake = tf.ones([2, 2, 2, 1]), tf.zeros([2, 2, 2, 1])
    with tf.GradientTape() as tape:
        penalty = gradient_penalty(lambda x: scale * tf.reduce_sum(x, axis=[1, 2, 3])[:, None], real, fake,
                                   seed=tf.constant([1, 1]))
        total = tf.reduce_mean(penalty)
    np.testing.assert_allclose(penalty.numpy(), [(1e-6 - 1.0) ** 2] * 2, rtol=1e-6)
    gradient = tape.gradient(total, scale)
    assert gradient is not None and np.isfinite(float(gradient))
