"""GANimation networks: the reference's parameter counts and shapes, the composite, other sizes, bad sizes."""

import numpy as np
import pytest
import tensorflow as tf

from models.ganimation import build_critic, build_generator


def test_parameter_counts_match_the_reference_at_128_and_17_aus():
    generator = build_generator()
    critic = build_critic()
    assert generator.count_params() == 8_471_296
    assert critic.count_params() == 44_860_352
    assert [tuple(t.shape[1:]) for t in generator.outputs] == [(128, 128, 3), (128, 128, 1), (128, 128, 3)]
    assert [tuple(t.shape[1:]) for t in critic.outputs] == [(2, 2, 1), (17,)]
    # The reference's per-layer counts (A.2, A.3): the first conv 62,720 + IN 128, a residual block 1,180,672.
    assert generator.get_layer("in_conv").count_params() == 62_720
    assert generator.get_layer("in_norm").count_params() == 128
    block = sum(layer.count_params() for layer in generator.layers if layer.name.startswith("res1_"))
    assert block == 1_180_672
    assert critic.get_layer("au_conv").count_params() == 139_264
    assert critic.get_layer("critic_map").count_params() == 18_432


def test_resize_upsampling_replaces_the_transposed_convs_by_resize_and_3x3_convs():
    """--upsample nearest|bilinear: up1 256->128 and up2 128->64 channels with 3x3 kernels instead of 4x4 ones."""
    generator = build_generator(upsample="nearest")
    transposed = 4 * 4 * 256 * 128 + 4 * 4 * 128 * 64
    resized = 3 * 3 * 256 * 128 + 3 * 3 * 128 * 64
    assert generator.count_params() == 8_471_296 - transposed + resized
    assert generator.get_layer("up1_conv_resize").interpolation == "nearest"
    small = build_generator(img_size=16, num_aus=3, width=4, num_residual=1, upsample="bilinear")
    outputs = small([tf.random.uniform((2, 16, 16, 3), -1, 1, seed=4), tf.fill((2, 3), 0.5)])
    assert [tuple(t.shape) for t in outputs] == [(2, 16, 16, 3), (2, 16, 16, 1), (2, 16, 16, 3)]
    with pytest.raises(ValueError, match="upsample must be one of"):
        build_generator(img_size=16, width=4, upsample="pixelshuffle")


def test_other_sizes_and_widths_build_and_run():
    generator = build_generator(img_size=32, channels=1, num_aus=5, width=4, num_residual=1)
    critic = build_critic(img_size=32, channels=1, num_aus=5, width=4, num_down=5)
    image = tf.random.uniform((2, 32, 32, 1), -1, 1, seed=1)
    composite, attention, colour = generator([image, tf.fill((2, 5), 0.5)])
    critic_map, aus = critic(composite)
    assert composite.shape == (2, 32, 32, 1) and attention.shape == (2, 32, 32, 1) and colour.shape == (2, 32, 32, 1)
    assert critic_map.shape == (2, 1, 1, 1) and aus.shape == (2, 5)
    assert critic_map.dtype == tf.float32 and aus.dtype == tf.float32


def test_output_is_attention_times_input_plus_rest_times_colour():
    generator = build_generator(img_size=16, num_aus=3, width=4, num_residual=1)
    image = tf.random.uniform((2, 16, 16, 3), -1, 1, seed=2)
    composite, attention, colour = (t.numpy() for t in generator([image, tf.constant([[0, .5, 1], [1, 0, .2]])]))
    expected = attention * image.numpy() + (1 - attention) * colour
    np.testing.assert_allclose(composite, expected, atol=1e-6)
    assert 0 <= attention.min() and attention.max() <= 1 and np.abs(colour).max() <= 1


def test_the_aus_change_the_output():
    generator = build_generator(img_size=16, num_aus=3, width=4, num_residual=1)
    image = tf.random.uniform((1, 16, 16, 3), -1, 1, seed=3)
    first = generator([image, tf.constant([[0.0, 0.0, 0.0]])])[0].numpy()
    second = generator([image, tf.constant([[1.0, 1.0, 1.0]])])[0].numpy()
    assert np.abs(first - second).max() > 1e-4


@pytest.mark.parametrize("size", [30, 2])
def test_generator_refuses_a_size_the_strides_do_not_allow(size):
    with pytest.raises(ValueError, match="divisible by 4"):
        build_generator(img_size=size, width=4, num_residual=1)


def test_critic_refuses_a_size_the_strides_do_not_allow():
    with pytest.raises(ValueError, match="divisible by 64"):
        build_critic(img_size=96, width=4)
    with pytest.raises(ValueError, match="num_aus"):
        build_critic(img_size=64, width=4, num_aus=0)


def test_generator_round_trips_through_a_keras_file(tmp_path):
    import keras

    generator = build_generator(img_size=16, num_aus=3, width=4, num_residual=1)
    generator.save(tmp_path / "g.keras")
    loaded = keras.models.load_model(tmp_path / "g.keras")
    image, aus = tf.random.uniform((2, 16, 16, 3), -1, 1, seed=4), tf.constant([[0, .5, 1], [1, 0, .2]])
    for ours, theirs in zip(generator([image, aus]), loaded([image, aus])):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-6)


def test_a_generator_conditioned_on_the_change_is_the_target_generator_given_target_minus_own():
    """--au-condition change: a third input (the face's own AUs), no new weight, and G(x, t, own) = G_target(x, t - own)
    with the same weights (the subtraction is a layer, so an exported generator says it needs the own AUs)."""
    change = build_generator(img_size=16, num_aus=3, width=4, num_residual=1, au_condition="change")
    target = build_generator(img_size=16, num_aus=3, width=4, num_residual=1)
    assert change.count_params() == target.count_params()
    assert [t.name for t in change.inputs] == ["image", "aus", "aus_own"]
    target.set_weights(change.get_weights())
    image = tf.random.uniform((2, 16, 16, 3), -1, 1, seed=5)
    aus, own = tf.constant([[0, .5, 1], [1, 0, .2]]), tf.constant([[.3, .5, 0], [1, .4, .9]])
    for ours, theirs in zip(change([image, aus, own]), target([image, aus - own])):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="au_condition must be one of"):
        build_generator(img_size=16, width=4, au_condition="delta")


def test_skips_concatenate_the_encoder_maps_into_the_decoder_and_nothing_else():
    plain = build_generator(16, 3, 5, width=4, num_residual=1)
    skipped = build_generator(16, 3, 5, width=4, num_residual=1, skips=True)
    assert skipped.get_layer("up1_skip").output.shape[1:] == (8, 8, 16)  # up1's 8 channels + down1's 8
    assert skipped.get_layer("up2_skip").output.shape[1:] == (16, 16, 8)  # up2's 4 + the 7x7 input block's 4
    # the only weights added: up2's 4x4 kernel reads 8 more channels, the two 7x7 heads 4 more each
    assert skipped.count_params() - plain.count_params() == 4 * 4 * 8 * 4 + 7 * 7 * 4 * (3 + 1)


def test_with_skips_the_colour_map_learns_to_copy_a_textured_input_far_sooner():
    """Why the option exists: without skips the colour map is drawn from a 4x-reduced map, so it cannot copy
    pixel-scale texture, and wherever the mask is not exactly 1 its difference from the input leaks into the face."""
    images = tf.random.uniform((8, 16, 16, 3), -1.0, 1.0, seed=4)  # texture at the pixel scale
    aus = tf.zeros((8, 5))
    errors = {}
    for skips in (False, True):
        tf.keras.utils.set_random_seed(0)
        generator = build_generator(16, 3, 5, width=8, num_residual=1, skips=skips)
        optimizer = tf.keras.optimizers.Adam(2e-3)
        for _ in range(60):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.abs(generator([images, aus], training=True)[2] - images))
            optimizer.apply_gradients(zip(tape.gradient(loss, generator.trainable_variables),
                                          generator.trainable_variables))
        errors[skips] = float(tf.reduce_mean(tf.abs(generator([images, aus], training=False)[2] - images)))
    assert errors[True] < 0.6 * errors[False], errors
