"""Losses against Keras' own definitions and hand-computed cases."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from ccyclegan import losses


def test_sigmoid_bce_matches_keras_binary_crossentropy_on_probabilities():
    logits = tf.constant([[2.0, -1.0, 0.5], [-3.0, 0.1, 4.0]])
    targets = tf.constant([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    expected = keras.losses.binary_crossentropy(targets, tf.sigmoid(logits)).numpy()
    np.testing.assert_allclose(losses.sigmoid_bce(targets, logits).numpy(), expected, rtol=1e-5)


def test_renormalised_cce_matches_keras_categorical_crossentropy_on_sigmoids():
    """The original G loss: categorical CE on the D's 7 sigmoid outputs, which Keras renormalises to sum 1."""
    logits = tf.constant([[1.0, -2.0, 0.3, 0.0, -1.0, 2.0, 0.5], [-0.5, 0.2, 3.0, -3.0, 0.0, 1.0, -1.0]])
    targets = tf.one_hot([5, 2], 7)
    expected = keras.losses.categorical_crossentropy(targets, tf.sigmoid(logits)).numpy()
    np.testing.assert_allclose(losses.renormalised_sigmoid_cce(targets, logits).numpy(), expected, rtol=1e-5)
    p = tf.sigmoid(logits).numpy()
    by_hand = -np.log(p[0, 5] / p[0].sum())
    assert losses.renormalised_sigmoid_cce(targets, logits).numpy()[0] == pytest.approx(by_hand, rel=1e-5)


def test_renormalised_cce_is_finite_where_probabilities_underflow():
    logits = tf.constant([[-200.0, 50.0, -200.0]])
    value = losses.renormalised_sigmoid_cce(tf.one_hot([0], 3), logits).numpy()[0]
    assert np.isfinite(value) and value > 100


def test_mean_absolute_error_is_per_example_mean_over_pixels():
    a = tf.zeros((2, 2, 2, 1))
    b = tf.constant([[[[1.0], [1.0]], [[1.0], [1.0]]], [[[0.0], [2.0]], [[0.0], [2.0]]]])
    np.testing.assert_allclose(losses.mean_absolute_error(a, b).numpy(), [1.0, 1.0])


@pytest.mark.parametrize("mode,expected_real,expected_fake", [
    ("lsgan", (0.5 - 1) ** 2, 0.25),
    ("wgan", -0.5, -0.5),
    ("hinge", 0.5, 0.5),
])
def test_discriminator_modes_by_name(mode, expected_real, expected_fake):
    real, fake = losses.discriminator_adversarial_loss(mode, tf.constant([[0.5]]), tf.constant([[-0.5]]))
    assert real.numpy()[0] == pytest.approx(expected_real)
    assert fake.numpy()[0] == pytest.approx(expected_fake)


def test_unknown_mode_names_the_choices():
    with pytest.raises(ValueError, match="lsgan"):
        losses.generator_adversarial_loss("least-squares", tf.zeros((1, 1)))


def test_gradient_penalty_of_a_linear_critic():
    """D(x) = sum(w * x) has gradient w everywhere, so the penalty is (||w|| - 1)^2 for every interpolate."""
    w = tf.constant(np.full((1, 2, 2, 1), 0.25, np.float32))

    def critic(x):
        return tf.reduce_sum(x * w, axis=[1, 2, 3])

    real, fake = tf.ones((3, 2, 2, 1)), tf.zeros((3, 2, 2, 1))
    penalty = losses.gradient_penalty(critic, real, fake, seed=[1, 2]).numpy()
    np.testing.assert_allclose(penalty, [(0.5 - 1.0) ** 2] * 3, rtol=1e-5)


def test_jacobian_penalty_of_a_linear_reader_estimates_its_squared_frobenius_norm():
    """read(x) = flatten(x) @ W has Jacobian W^T: with the projection v the penalty is ||W v||^2 per example, and
    over many projections it averages to ||W||_F^2 (here 4 x 3 x 0.25 = 3)."""
    w = tf.constant(np.full((4, 3), 0.5, np.float32))

    def read(x):
        return tf.reshape(x, (-1, 4)) @ w

    x = tf.random.uniform((2, 2, 2, 1))
    v = tf.random.stateless_normal((2, 3), seed=[3, 4])
    expected = tf.reduce_sum(tf.square(v @ tf.transpose(w)), axis=1).numpy()
    np.testing.assert_allclose(losses.jacobian_penalty(read, x, [3, 4]).numpy(), expected, rtol=1e-5)
    many = np.concatenate([losses.jacobian_penalty(read, x, [s, 0]).numpy() for s in range(400)])
    assert abs(many.mean() - 3.0) < 0.3


def test_adversarial_inputs_move_each_value_towards_a_larger_loss_within_epsilon_and_the_range():
    """loss(x) = sum(w x): from the random start d0 in [-e, e] the step 1.25 e sign(w) ends at clip(d0 + 1.25 e
    sign(w), -e, e), so every value moves by 0.25 e..e in the direction of its weight (by exactly min(e, d0 +
    1.25 e) for w > 0); values stay in [-1, 1]; no gradient flows back to the inputs."""
    w = tf.constant(np.array([1.0, -2.0, 0.5, -0.1], np.float32).reshape(1, 2, 2, 1))
    x = tf.constant(np.array([0.0, 0.3, 0.99, -0.99], np.float32).reshape(1, 2, 2, 1))
    eps, seed = 0.05, tf.constant([7, 8], tf.int64)

    def loss_of(inputs):
        return tf.reduce_sum(inputs * w, axis=[1, 2, 3])

    with tf.GradientTape() as tape:
        tape.watch(x)
        moved = losses.adversarial_inputs(loss_of, x, eps, seed)
    assert tape.gradient(moved, x) is None
    start = tf.random.stateless_uniform(tf.shape(x), seed=seed, minval=-eps, maxval=eps).numpy()
    expected = np.clip(x.numpy() + np.clip(start + 1.25 * eps * np.sign(w.numpy()), -eps, eps), -1, 1)
    np.testing.assert_allclose(moved.numpy(), expected, atol=1e-6)
    change = (moved - x).numpy().ravel()
    assert np.all(np.abs(change) <= eps + 1e-6) and np.all(moved.numpy() <= 1) and np.all(moved.numpy() >= -1)
    assert np.all(np.sign(change[:3]) == np.sign(w.numpy().ravel()[:3]))  # the last one is held at -1 by the range
    assert float(loss_of(moved)[0]) > float(loss_of(x)[0])
    np.testing.assert_array_equal(moved.numpy(), losses.adversarial_inputs(loss_of, x, eps, seed).numpy())


def test_attention_terms_of_a_known_mask():
    """mean(A) per example, and the mean absolute step between neighbours down plus across."""
    left_half = np.zeros((1, 4, 4, 1), np.float32)
    left_half[:, :, :2] = 1.0  # one vertical edge: 4 of the 12 steps across are 1, none of the 12 steps down
    masks = np.concatenate([left_half, np.full((1, 4, 4, 1), 0.25, np.float32)])
    np.testing.assert_allclose(losses.attention_magnitude(masks).numpy(), [0.5, 0.25])
    np.testing.assert_allclose(losses.attention_total_variation(masks).numpy(), [4 / 12, 0.0], rtol=1e-6)


def test_kept_colour_error_weighs_the_colour_error_by_the_mask_and_moves_only_the_colour():
    """A |C - x| per example: a pixel the mask keeps (A = 1) counts in full, one it replaces (A = 0) not at all."""
    images = tf.constant(np.zeros((2, 1, 2, 1), np.float32))
    attention = tf.constant(np.array([[1.0, 0.0], [0.25, 0.75]], np.float32).reshape(2, 1, 2, 1))
    colour = tf.constant(np.array([[0.5, -1.0], [1.0, -0.5]], np.float32).reshape(2, 1, 2, 1))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([images, attention, colour])
        error = losses.kept_colour_error(images, attention, colour)
    np.testing.assert_allclose(error.numpy(), [(1.0 * 0.5 + 0.0) / 2, (0.25 * 1.0 + 0.75 * 0.5) / 2], rtol=1e-6)
    assert tape.gradient(error, attention) is None and tape.gradient(error, images) is None
    np.testing.assert_allclose(tape.gradient(error, colour).numpy().ravel(), [0.5, 0.0, 0.125, -0.375], rtol=1e-6)


def test_au_losses_by_name_against_hand_computed_values():
    targets = tf.constant([[0.0, 0.5, 1.0, 0.2]])
    predictions = tf.constant([[0.5, 0.5, 0.0, 0.4]])
    differences = np.array([0.5, 0.0, 1.0, 0.2])
    assert losses.au_loss("mse", targets, predictions).numpy()[0] == pytest.approx(np.mean(differences**2), rel=1e-6)
    assert losses.au_loss("l1", targets, predictions).numpy()[0] == pytest.approx(np.mean(differences), rel=1e-6)
    # e4's -log(1 - |a - b|): the AU that is off by the whole range (|a - b| = 1) costs -log(epsilon), not infinity.
    # In float32 (as the original computed it) 1 - 1e-7 rounds to 1 - 2**-23, so that AU costs 23 log 2 = 15.94.
    clipped = np.minimum(differences, float(np.float32(1 - 1e-7)))
    expected = np.mean(-np.log1p(-clipped))
    value = losses.au_loss("log-abs", targets, predictions).numpy()[0]
    assert np.isfinite(value) and value == pytest.approx(expected, rel=1e-4)
    assert value == pytest.approx((-np.log(0.5) - np.log(0.8) + 23 * np.log(2)) / 4, rel=1e-4)


def test_log_abs_au_loss_is_zero_and_has_finite_gradients_at_both_edges():
    same = tf.constant([[0.3, 0.7]])
    assert losses.au_loss("log-abs", same, same).numpy()[0] == 0.0
    far = tf.Variable([[1.0, 0.0]])
    with tf.GradientTape() as tape:
        value = tf.reduce_sum(losses.au_loss("log-abs", tf.constant([[0.0, 1.0]]), far))
    gradient = tape.gradient(value, far).numpy()
    assert np.isfinite(value.numpy()) and np.all(np.isfinite(gradient))


def test_au_bce_takes_logits_and_unknown_names_are_refused():
    targets, logits = tf.constant([[1.0, 0.0]]), tf.constant([[2.0, -1.0]])
    expected = np.mean([np.log1p(np.exp(-2.0)), np.log1p(np.exp(-1.0))])
    assert losses.au_loss("bce", targets, logits).numpy()[0] == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="unknown AU loss 'huber'"):
        losses.au_loss("huber", targets, logits)
