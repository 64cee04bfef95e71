"""CCycleGAN networks: the original's parameter counts and shapes, its normalisation and its geometry quirks."""

import numpy as np
import pytest
import tensorflow as tf

from ccyclegan.layers import ScalarInstanceNorm
from models.ccyclegan import build_ccyclegan, discriminator_logits, encoder_sizes


@pytest.fixture(scope="module")
def t26_networks():
    return build_ccyclegan()


def test_parameter_counts_match_the_original_t26(t26_networks):
    encoder, decoder, discriminator = t26_networks
    assert encoder.count_params() == 2_754_504
    assert decoder.count_params() == 3_946_495
    assert discriminator.count_params() == 3_283_918


def test_shapes_match_the_original_at_48x48x1(t26_networks):
    encoder, decoder, discriminator = t26_networks
    assert [tuple(t.shape[1:]) for t in encoder.outputs] == [(23, 23, 64), (10, 10, 128), (4, 4, 256), (1, 1, 512)]
    assert [tuple(t.shape[1:]) for t in decoder.inputs] == [(23, 23, 64), (10, 10, 128), (4, 4, 256), (1, 1, 512), (7,)]
    assert tuple(decoder.output.shape[1:]) == (48, 48, 1)
    assert [tuple(t.shape[1:]) for t in discriminator.outputs] == [(1,), (7,)]
    assert decoder.get_layer("transform_dense").units == 519
    assert decoder.get_layer("dec3_deconv").output_padding == (1, 1)  # the hard-coded quirk, 10 -> 23
    assert decoder.get_layer("dec1_deconv").output_padding is None


def test_without_transform_layer_matches_t18_t19_count():
    _, decoder, _ = build_ccyclegan(transform_layer=False)
    assert decoder.count_params() == 3_676_615


def test_scalar_instance_norm_has_contrib_semantics():
    layer = ScalarInstanceNorm()
    x = tf.random.stateless_normal((3, 4, 4, 5), seed=[1, 2]) * 3.0 + 2.0
    y = layer(x).numpy()
    assert layer.count_params() == 2
    flat = x.numpy().reshape(3, -1)
    expected = (flat - flat.mean(1, keepdims=True)) / (flat.std(1, keepdims=True) + 1e-3)
    np.testing.assert_allclose(y.reshape(3, -1), expected, rtol=1e-4, atol=1e-4)
    # On a 1x1 map it keeps the features alive (per-channel IN would output beta everywhere).
    bottleneck = layer(tf.random.stateless_normal((2, 1, 1, 64), seed=[3, 4])).numpy()
    assert bottleneck.std() > 0.9


def test_every_scalar_norm_of_the_final_and_lineage_networks_has_the_finite_gradient(t26_networks):
    """The keras-contrib norm's NaN gradient on constant maps (tests/test_aucgan_stability.py) is fixed in every
    CCycleGAN network; the forward pass is the original's (test_stable_norm_has_the_original_forward_pass)."""
    from ccyclegan.layers import StableScalarInstanceNorm
    from models.lineage import build_t1, build_t17

    networks = [*t26_networks, *build_t1(gf=4, df=4), *build_t17(gf=4, df=4)]
    norms = [layer for model in networks for layer in model.layers if isinstance(layer, ScalarInstanceNorm)]
    assert len(norms) >= 20 and all(isinstance(layer, StableScalarInstanceNorm) for layer in norms)


def test_output_padding_band_is_reproduced(t26_networks):
    """The 23rd row/column after output_padding gets only the bias before ReLU+IN: a constant across inputs."""
    encoder, decoder, _ = t26_networks
    import keras

    probe = keras.Model(decoder.inputs, decoder.get_layer("dec3_deconv").output)
    x = tf.random.uniform((2, 48, 48, 1), -1, 1, seed=0)
    up = probe([*encoder(x), tf.one_hot([1, 4], 7)]).numpy()
    bias = np.maximum(decoder.get_layer("dec3_deconv").bias.numpy(), 0)
    np.testing.assert_allclose(up[:, -1, :, :], np.broadcast_to(bias, up[:, -1, :, :].shape), atol=1e-6)
    assert not np.allclose(up[:, -2, :, :], up[:, -2:-1, :, :].mean())


@pytest.mark.parametrize("size", [64, 96, 128, 256])
def test_builders_work_at_other_sizes_and_rgb(size):
    encoder, decoder, discriminator = build_ccyclegan(img_size=size, channels=3, gf=4, df=4)
    x = tf.zeros((1, size, size, 3))
    fake = decoder([*encoder(x), tf.one_hot([2], 7)])
    assert fake.shape == (1, size, size, 3)
    assert [o.shape for o in discriminator(x)] == [(1, 1), (1, 7)]


def test_too_small_input_is_rejected_with_a_reason():
    with pytest.raises(ValueError, match="too small"):
        encoder_sizes(20, num_layers=4)


def test_discriminator_logits_share_weights_with_probabilities(t26_networks):
    _, _, discriminator = t26_networks
    logits_model = discriminator_logits(discriminator)
    x = tf.random.uniform((2, 48, 48, 1), -1, 1, seed=1)
    gan_prob, class_prob = discriminator(x)
    gan_logit, class_logits = logits_model(x)
    np.testing.assert_allclose(tf.sigmoid(gan_logit), gan_prob, atol=1e-6)
    np.testing.assert_allclose(tf.sigmoid(class_logits), class_prob, atol=1e-6)


def test_replicate_edge_removes_the_band_with_the_same_parameters():
    """decoder_edge="replicate": the 23rd row/column copies the 22nd (which depends on the input) instead of the bias."""
    import keras

    encoder, decoder, _ = build_ccyclegan(gf=8, df=8, decoder_edge="replicate")
    _, bias_decoder, _ = build_ccyclegan(gf=8, df=8)
    assert decoder.count_params() == bias_decoder.count_params()
    probe = keras.Model(decoder.inputs, decoder.get_layer("dec3_deconv_edge").output)
    x = tf.random.uniform((2, 48, 48, 1), -1, 1, seed=0)
    up = probe([*encoder(x), tf.one_hot([1, 4], 7)]).numpy()
    assert up.shape == (2, 23, 23, 8)
    np.testing.assert_array_equal(up[:, -1, :, :], up[:, -2, :, :])
    np.testing.assert_array_equal(up[:, :, -1, :], up[:, :, -2, :])
    assert not np.allclose(up[0, -1], up[1, -1])  # input-dependent, unlike the bias-only row


def test_replicate_edge_layer_grows_bottom_and_right_and_rejects_nothing_to_do():
    from ccyclegan.layers import ReplicateEdge

    x = tf.reshape(tf.range(6.0), (1, 2, 3, 1))
    y = ReplicateEdge(2)(x).numpy()[0, :, :, 0]
    np.testing.assert_array_equal(y, [[0, 1, 2, 2, 2], [3, 4, 5, 5, 5], [3, 4, 5, 5, 5], [3, 4, 5, 5, 5]])
    with pytest.raises(ValueError, match="amount"):
        ReplicateEdge(0)
    with pytest.raises(ValueError, match="decoder_edge"):
        build_ccyclegan(gf=4, df=4, decoder_edge="mirror")


def _set_attention(decoder, bias: float):
    """Make the attention head output sigmoid(bias) everywhere (zero kernel)."""
    head = decoder.get_layer("attention_deconv")
    head.kernel.assign(tf.zeros_like(head.kernel))
    head.bias.assign(tf.fill(head.bias.shape, bias))


@pytest.mark.parametrize("decoder_edge", ["bias", "replicate"])
def test_attention_head_adds_one_output_layer_and_composites_in_the_ganimation_direction(decoder_edge):
    """A = 1 returns the input pixel, A = 0 the colour map (every GANimation code base; arXiv v1 has it reversed)."""
    import keras

    encoder, decoder, _ = build_ccyclegan(gf=8, df=8, decoder_edge=decoder_edge, attention_mask=True)
    _, plain_decoder, _ = build_ccyclegan(gf=8, df=8, decoder_edge=decoder_edge)
    assert decoder.count_params() - plain_decoder.count_params() == 4 * 4 * 2 * 8 + 1  # 4x4 deconv of [up, z1] -> 1
    assert [t.name for t in decoder.inputs][-2:] == ["label", "image"]
    x = tf.random.uniform((2, 48, 48, 1), -1, 1, seed=2)
    inputs = [*encoder(x), tf.one_hot([1, 4], 7), x]
    colour = keras.Model(decoder.inputs, decoder.get_layer("output_deconv").output)(inputs)
    _set_attention(decoder, 30.0)
    kept, attention = decoder(inputs)
    np.testing.assert_allclose(kept, x, atol=1e-6)
    assert attention.shape == (2, 48, 48, 1)
    _set_attention(decoder, -30.0)
    np.testing.assert_allclose(decoder(inputs)[0], colour, atol=1e-6)
