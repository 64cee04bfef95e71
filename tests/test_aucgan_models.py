"""AU-conditioned networks: the reference's parameter counts at the originals' sizes, geometry at other sizes, the
e5/e6 1x1 norm defect by option (and its fix), the optional self-attention block, and clear errors."""

import numpy as np
import pytest
import tensorflow as tf

from models.aucgan import attgan_sizes, build_aucgan


def _count(model):
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


@pytest.mark.slow
@pytest.mark.parametrize("generator, critic, options, g_enc, g_dec, d", [
    ("unet", "keras", {}, 6_201_032, 8_233_723, 6_735_576),  # e1..e4 (2.1)
    ("unet-e5", "pytorch", {}, None, None, 6_735_570),  # e5 (2.3): G 13,855,369
    ("unet-e6", "pytorch", {}, None, None, 6_735_570),  # e6 (2.4): G 6,311,049
    ("attgan", "attgan", {"inject_layers": 0}, None, None, 30_043_026),  # e7 (2.5): G 43,418,243
    ("attgan", "attgan", {"inject_layers": 1}, None, None, 30_043_026),  # e8 (2.6): G 43,557,507
])
def test_parameter_counts_are_the_references(generator, critic, options, g_enc, g_dec, d):
    encoder, decoder, discriminator = build_aucgan(generator, critic, **options)
    totals = {"unet": 14_434_755, "unet-e5": 13_855_369, "unet-e6": 6_311_049}
    expected_g = totals.get(generator, 43_418_243 if options.get("inject_layers") == 0 else 43_557_507)
    assert _count(encoder) + _count(decoder) == expected_g
    if g_enc is not None:
        assert (_count(encoder), _count(decoder)) == (g_enc, g_dec)
    assert _count(discriminator) == d
    assert decoder.output_shape == (None, 112, 112, 3)
    assert [tuple(o.shape) for o in discriminator.outputs] == [(None, 1), (None, 17)]


def test_attgan_sizes_match_pytorch_k4_s2_p1():
    assert attgan_sizes(112) == [56, 28, 14, 7, 3]
    assert attgan_sizes(64) == [32, 16, 8, 4, 2]


@pytest.mark.parametrize("size", [32, 48, 64])
def test_attgan_translates_at_other_sizes(size):
    encoder, decoder, critic = build_aucgan(img_size=size, gf=4, df=4, fc_dim=8, shortcut_layers=2)
    image = tf.random.uniform([2, size, size, 3], -1, 1)
    out = decoder([*encoder(image), tf.random.uniform([2, 17])])
    assert out.shape == (2, size, size, 3) and np.all(np.abs(out.numpy()) <= 1)
    assert [o.shape for o in critic(image)] == [(2, 1), (2, 17)]


@pytest.mark.parametrize("size, upsample", [(112, "nearest"), (64, "bilinear")])
def test_attgan_resize_upsampling_has_no_transposed_conv_and_keeps_the_sizes(size, upsample):
    """--upsample: every ConvT of the decoder (blocks, colour and attention heads) becomes a resize and a 3x3 conv,
    also where an odd size is restored (112 px: 3 -> 7)."""
    import keras

    encoder, decoder, _ = build_aucgan(img_size=size, gf=4, df=4, fc_dim=8, shortcut_layers=2, attention_mask=True,
                                       upsample=upsample)
    kinds = {type(layer).__name__ for layer in decoder.layers}
    assert "Conv2DTranspose" not in kinds and "Resizing" in kinds
    # nearest by a whole factor repeats pixels (UpSampling2D); 112 px's 3 -> 7 and bilinear resize
    resizes = {type(layer).__name__ for layer in decoder.layers if layer.name.endswith("_deconv_resize")}
    assert resizes == ({"UpSampling2D", "Resizing"} if upsample == "nearest" else {"Resizing"})
    assert decoder.get_layer("dec1_deconv").kernel.shape[:2] == (3, 3)
    assert decoder.get_layer("dec1_deconv_resize").output.shape[1] == attgan_sizes(size)[-2]
    image = tf.random.uniform([2, size, size, 3], -1, 1)
    composite, mask = decoder([*encoder(image), tf.random.uniform([2, 17]), image])
    assert composite.shape == (2, size, size, 3) and mask.shape == (2, size, size, 1)
    transposed = build_aucgan(img_size=size, gf=4, df=4, fc_dim=8, shortcut_layers=2, attention_mask=True)[1]
    assert any(isinstance(layer, keras.layers.Conv2DTranspose) for layer in transposed.layers)


def test_nearest_resize_conv_by_a_whole_factor_repeats_pixels_like_the_resize():
    """resize_conv's nearest x2 is UpSampling2D (XLA has no kernel for the nearest resize's gradient): the same
    values as a nearest resize; a size that is no whole factor (3 -> 7) keeps the resize."""
    import keras

    from ccyclegan.layers import resize_conv

    x = keras.Input((8, 8, 5))
    for target, kind in ((16, keras.layers.UpSampling2D), (7, keras.layers.Resizing)):
        model = keras.Model(x, resize_conv(x, 3, target, f"up{target}", "nearest"))
        layer = model.get_layer(f"up{target}_resize")
        assert isinstance(layer, kind)
        image = tf.random.uniform([2, 8, 8, 5])
        np.testing.assert_array_equal(layer(image).numpy(),
                                      tf.image.resize(image, (target, target), method="nearest").numpy())


def test_the_nearest_resize_conv_gradient_compiles_with_xla():
    """--xla: XLA has no kernel for the gradient of a nearest resize, so au-cpu's decoder failed to compile."""
    import keras

    from ccyclegan.layers import resize_conv

    x = keras.Input((8, 8, 5))
    model = keras.Model(x, resize_conv(x, 3, 16, "up", "nearest"))
    image = tf.random.uniform([2, 8, 8, 5])

    @tf.function(jit_compile=True)
    def input_gradient(image):
        with tf.GradientTape() as tape:
            tape.watch(image)
            total = tf.reduce_sum(model(image) ** 2)
        return tape.gradient(total, image)

    gradient = input_gradient(image).numpy()
    assert gradient.shape == (2, 8, 8, 5) and np.isfinite(gradient).all() and np.abs(gradient).sum() > 0


def test_degenerate_norm_blinds_the_e5_critic_and_the_fix_does_not():
    """Per-channel instance norm of the 1x1 map outputs beta alone: with the original's option every image gets
    the same critic scores; the library normalises that map over its channels and the scores differ."""
    images = tf.random.stateless_uniform([2, 112, 112, 3], seed=[1, 2], minval=-1, maxval=1)
    outputs = {}
    for degenerate in (True, False):
        _, _, critic = build_aucgan("unet-e5", "pytorch", gf=4, df=4, degenerate_norm=degenerate)
        outputs[degenerate] = [o.numpy() for o in critic(images)]
    np.testing.assert_allclose(outputs[True][0][0], outputs[True][0][1], atol=1e-6)
    np.testing.assert_allclose(outputs[True][1][0], outputs[True][1][1], atol=1e-6)
    assert np.abs(outputs[False][1][0] - outputs[False][1][1]).max() > 1e-4


def test_self_attention_block_sits_on_the_decoder_map_and_starts_as_identity():
    encoder, decoder, _ = build_aucgan(img_size=32, gf=4, df=4, fc_dim=8, attention_at=4)
    attention = decoder.get_layer("dec2_attention")  # 32 px: decoder maps 2, 4, 8, 16
    assert float(attention.gamma.numpy()[0]) == 0.0
    with pytest.raises(ValueError, match="attention_at must be the size of a decoder map"):
        build_aucgan(img_size=32, gf=4, df=4, fc_dim=8, attention_at=5)


@pytest.mark.parametrize("size, downs, last", [(64, 6, 1), (112, 4, 7), (32, 5, 1)])
def test_the_ganimation_critic_halves_as_ganimation_then_scores_each_face_once(size, downs, last):
    from models.aucgan import ganimation_critic_downs

    assert ganimation_critic_downs(size) == downs
    _, _, critic = build_aucgan(critic="ganimation", img_size=size, gf=4, df=4, fc_dim=8)
    inner = critic.get_layer("ganimation_D")
    assert inner.get_layer(f"down{downs}_conv").output.shape[1] == last
    assert not any("norm" in layer.name for layer in inner.layers)  # GANimation's critic has no normalisation
    images = tf.random.uniform((3, size, size, 3), -1.0, 1.0)
    gan, aus = critic(images)
    critic_map, inner_aus = inner(images)
    assert gan.shape == (3, 1) and aus.shape == (3, 17)
    np.testing.assert_allclose(gan.numpy(), tf.reduce_mean(critic_map, axis=[1, 2]).numpy(), atol=1e-6)
    np.testing.assert_allclose(aus.numpy(), inner_aus.numpy())


@pytest.mark.parametrize("kwargs, message", [
    ({"critic": "ganimation", "img_size": 33}, "even image size"),
    ({"generator": "unet", "critic": "keras", "img_size": 64}, "too small"),
    ({"generator": "pix2pix"}, "generator must be one of"),
    ({"keras_norm": "batch", "generator": "unet", "critic": "keras"}, "keras_norm"),
    ({"generator": "unet", "critic": "keras", "attention_at": 7}, "AttGAN generator only"),
    ({"generator": "unet", "critic": "keras", "upsample": "nearest"}, "AttGAN generator only"),
    ({"upsample": "bicubic"}, "upsample must be one of"),
    ({"au_trunk": "own"}, "au_trunk must be one of"),
    ({"critic": "ganimation", "au_trunk": "separate", "img_size": 32}, "AttGAN critic only"),
])
def test_bad_builds_are_refused_with_the_reason(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_aucgan(**{"gf": 4, "df": 4, **kwargs})


def test_e1_glorot_normal_redraws_the_dense_kernels_only():
    _, decoder_u, critic_u = build_aucgan("unet", "keras", gf=4, df=4, dense_initializer="glorot_uniform", seed=1)
    _, decoder_n, critic_n = build_aucgan("unet", "keras", gf=4, df=4, dense_initializer="glorot_normal", seed=1)
    kernel = critic_n.get_layer("gan_hidden").kernel.numpy()
    limit = np.sqrt(6.0 / sum(kernel.shape))  # glorot_uniform's bound: a normal draw exceeds it now and then
    assert np.abs(kernel).max() > limit and np.abs(critic_u.get_layer("gan_hidden").kernel.numpy()).max() <= limit
    dense = decoder_n.get_layer("transform_dense").kernel.numpy()
    assert np.abs(dense).max() > np.sqrt(6.0 / sum(dense.shape))


def test_a_separate_au_trunk_reads_the_aus_with_convolutions_the_realness_head_never_uses():
    _, _, shared = build_aucgan(img_size=32, gf=4, df=4, fc_dim=8)
    _, _, separate = build_aucgan(img_size=32, gf=4, df=4, fc_dim=8, au_trunk="separate")
    trunk = [w for w in separate.trainable_weights if w.path.startswith("a")]
    assert trunk and _count(separate) == _count(shared) + sum(int(np.prod(w.shape)) for w in trunk)
    images = tf.random.stateless_uniform((2, 32, 32, 3), (1, 2), -1.0, 1.0)
    with tf.GradientTape(persistent=True) as tape:
        gan, aus = separate(images)
    realness_trunk = [w for w in separate.trainable_weights if w.path.startswith("d") and "conv" in w.path]
    assert realness_trunk and all(g is None for g in tape.gradient(aus, realness_trunk))
    assert all(g is None for g in tape.gradient(gan, trunk))
    assert all(g is not None for g in tape.gradient(aus, trunk))
