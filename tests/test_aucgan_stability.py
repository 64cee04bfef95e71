"""The e1/e2 NaN (../shared/reference/au_gan.md 5.1): the keras-contrib scalar instance norm's std has an infinite
derivative on a constant map, so a constant sample (a black face of an unsuccessful OpenFace frame, which e1/e2's
loader kept, or a dead ReLU map) turns the critic's gradient into NaN. The library's norm keeps it finite."""

import numpy as np
import pytest
import tensorflow as tf

from ccyclegan.layers import ScalarInstanceNorm, StableScalarInstanceNorm


def _input_gradient(layer, x, seed=1):
    upstream = tf.random.stateless_normal(x.shape, seed=[seed, 0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(layer(x) * upstream)
    return tape.gradient(y, x)


@pytest.mark.parametrize("value", [1e-10, 1e-15, 1e-20])
def test_original_norm_gradient_is_not_finite_on_a_constant_map_and_the_stable_one_is(value):
    x = tf.fill([1, 6, 6, 256], value)  # a map whose variance rounds to 0 beside a non-zero x - mean
    assert not np.all(np.isfinite(_input_gradient(ScalarInstanceNorm(), x).numpy()))
    assert np.all(np.isfinite(_input_gradient(StableScalarInstanceNorm(), x).numpy()))


def test_stable_norm_has_the_original_forward_pass():
    x = tf.random.stateless_normal([4, 5, 5, 8], seed=[3, 4]) * 3.0 + 1.0
    original, stable = ScalarInstanceNorm(), StableScalarInstanceNorm()
    original.build(x.shape)
    stable.build(x.shape)
    original.gamma.assign([1.7])
    stable.gamma.assign([1.7])
    original.beta.assign([-0.3])
    stable.beta.assign([-0.3])
    np.testing.assert_array_equal(original(x).numpy(), stable(x).numpy())
    # and its gradient agrees wherever the original's is finite
    np.testing.assert_allclose(_input_gradient(original, x).numpy(), _input_gradient(stable, x).numpy(),
                               rtol=1e-5, atol=1e-6)


def test_stable_norm_maps_an_all_black_sample_to_beta_with_finite_gradients():
    x = tf.concat([tf.zeros([1, 6, 6, 4]), tf.random.stateless_normal([1, 6, 6, 4], seed=[5, 6])], axis=0)
    layer = StableScalarInstanceNorm()
    layer.build(x.shape)
    layer.beta.assign([0.25])
    np.testing.assert_allclose(layer(x).numpy()[0], 0.25)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(layer(x) ** 2)
    grads = tape.gradient(y, [x, layer.gamma, layer.beta])
    assert all(np.all(np.isfinite(g.numpy())) for g in grads)
