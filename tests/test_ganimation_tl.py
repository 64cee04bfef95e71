"""The TensorLayer GANimation port: the reference's counts, parity with the Keras networks weight for weight (both
modes), conversion both ways, the trainer's interface, and a checkpoint that round-trips and resumes exactly."""

from types import SimpleNamespace

import keras
import numpy as np
import pytest
import tensorflow as tf

pytest.importorskip("tensorlayer")

from models.ganimation import build_critic, build_generator  # noqa: E402
from models.ganimation_tl import (  # noqa: E402
    build_tl_critic,
    build_tl_generator,
    count_weights,
    keras_to_tl,
    tl_to_keras,
)
from train.ganimation_tl import make_tl_networks  # noqa: E402

G_SIZES = {"img_size": 16, "channels": 3, "num_aus": 5, "width": 4, "num_residual": 2}
D_SIZES = {"img_size": 16, "channels": 3, "num_aus": 5, "width": 4, "num_down": 3}
PARITY = 1e-4


def _randomise(variables, seed):
    """Weights far from the initial ones (gamma around 1, everything else N(0, 0.3)), so that a weight copied to
    the wrong place shows."""
    rng = np.random.default_rng(seed)
    for v in variables:
        values = rng.normal(0, 0.3, tuple(v.shape)) + (1.0 if "gamma" in v.name else 0.0)
        v.assign(values.astype("float32"))


def _inputs(batch=3, seed=0):
    rng = np.random.default_rng(seed)
    return (tf.constant(rng.uniform(-1, 1, (batch, 16, 16, 3)), tf.float32),
            tf.constant(rng.uniform(0, 1, (batch, 5)), tf.float32))


def _max_difference(first, second):
    return max(float(np.abs(np.asarray(a) - np.asarray(b)).max()) for a, b in zip(first, second))


def test_parameter_counts_match_the_reference_at_128_and_17_aus():
    assert count_weights(build_tl_generator()) == 8_471_296
    assert count_weights(build_tl_critic()) == 44_860_352


@pytest.mark.parametrize("training,upsample,au_condition,skips", [
    (True, "transpose", "target", False), (False, "transpose", "target", False), (True, "nearest", "target", False),
    (False, "bilinear", "target", False), (True, "nearest", "change", False), (True, "nearest", "change", True),
    (False, "transpose", "target", True)])
def test_generator_matches_keras_with_the_same_weights(training, upsample, au_condition, skips):
    sizes = {**G_SIZES, "upsample": upsample, "au_condition": au_condition, "skips": skips}
    keras_model, tl_model = build_generator(**sizes), build_tl_generator(**sizes)
    _randomise(keras_model.weights, seed=1)
    image, aus = _inputs()
    inputs = [image, aus] + ([tf.reverse(aus, [0])] if au_condition == "change" else [])  # own AUs: other rows'
    expected = keras_model(inputs, training=training)
    assert _max_difference(tl_model(inputs, is_train=training), expected) > 0.01  # not equal by accident
    assert keras_to_tl(keras_model, tl_model) == keras_model.count_params()
    got = tl_model(inputs, is_train=training)
    assert [tuple(t.shape) for t in got] == [(3, 16, 16, 3), (3, 16, 16, 1), (3, 16, 16, 3)]
    assert _max_difference(got, expected) < PARITY


@pytest.mark.parametrize("training", [True, False])
def test_critic_matches_keras_with_the_same_weights(training):
    keras_model, tl_model = build_critic(**D_SIZES), build_tl_critic(**D_SIZES)
    _randomise(keras_model.weights, seed=2)
    image, _ = _inputs(seed=3)
    expected = keras_model(image, training=training)
    assert _max_difference(tl_model(image, is_train=training), expected) > 0.01
    assert keras_to_tl(keras_model, tl_model) == keras_model.count_params()
    got = tl_model(image, is_train=training)
    assert [tuple(t.shape) for t in got] == [(3, 2, 2, 1), (3, 5)]
    assert _max_difference(got, expected) < PARITY


def test_training_and_inference_mode_give_the_same_outputs():
    """Instance norm keeps no running statistics and nothing else depends on the mode, in either framework."""
    tl_model = build_tl_generator(**G_SIZES)
    _randomise(tl_model.all_weights, seed=4)
    image, aus = _inputs(seed=5)
    assert _max_difference(tl_model([image, aus], is_train=True), tl_model([image, aus], is_train=False)) == 0


def test_weights_convert_both_ways():
    tl_generator, tl_critic = build_tl_generator(**G_SIZES), build_tl_critic(**D_SIZES)
    _randomise(tl_generator.all_weights, seed=6)
    _randomise(tl_critic.all_weights, seed=7)
    keras_generator, keras_critic = build_generator(**G_SIZES), build_critic(**D_SIZES)
    tl_to_keras(tl_generator, keras_generator)
    tl_to_keras(tl_critic, keras_critic)
    image, aus = _inputs(seed=8)
    assert _max_difference(keras_generator([image, aus]), tl_generator([image, aus], is_train=True)) < PARITY
    assert _max_difference(keras_critic(image), tl_critic(image, is_train=True)) < PARITY
    # And back: Keras -> a fresh TL model -> a fresh Keras model leaves every weight as it was.
    again_tl, again_keras = build_tl_generator(**G_SIZES), build_generator(**G_SIZES)
    keras_to_tl(keras_generator, again_tl)
    tl_to_keras(again_tl, again_keras)
    for a, b in zip(keras_generator.weights, again_keras.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_conversion_refuses_networks_of_other_sizes():
    with pytest.raises(ValueError, match=r"layer 'in_conv' kernel: Keras shape \(7, 7, 8, 4\), TL \(7, 7, 8, 6\)"):
        keras_to_tl(build_generator(**G_SIZES), build_tl_generator(**{**G_SIZES, "width": 6}))
    with pytest.raises(ValueError, match=r"only in Keras \['down3_conv'\]"):
        keras_to_tl(build_critic(**D_SIZES), build_tl_critic(**{**D_SIZES, "img_size": 8, "num_down": 2}))


@pytest.mark.parametrize("builder, sizes, message", [
    (build_tl_generator, {**G_SIZES, "img_size": 18}, "divisible by 4"),
    (build_tl_critic, {**D_SIZES, "img_size": 20}, "divisible by 8"),
    (build_tl_generator, {**G_SIZES, "width": 0}, "width must be >= 1"),
    (build_tl_critic, {**D_SIZES, "num_aus": 0}, "num_aus must be >= 1"),
])
def test_builders_refuse_sizes_that_cannot_work(builder, sizes, message):
    with pytest.raises(ValueError, match=message):
        builder(**sizes)


def _config(**changes):
    fields = {"img_size": 16, "channels": 3, "num_aus": 5, "g_conv_dim": 4, "d_conv_dim": 4, "g_repeat_num": 1,
              "d_repeat_num": 3}
    return SimpleNamespace(**{**fields, **changes})


def _train(networks, optimizers, steps, seed, compiled=True):
    """A few WGAN-GP critic steps and generator steps through the trainer's interface (callables + variables);
    eager where tracing would cost more than the steps."""
    g_optimizer, d_optimizer = optimizers
    function = tf.function if compiled else (lambda f: f)

    @function
    def critic_step(image, target):
        with tf.GradientTape() as tape:
            fake = networks.generator(image, target, True)[0]
            real_map, real_aus = networks.critic(image, True)
            fake_map, _ = networks.critic(fake, True)
            alpha = tf.random.stateless_uniform((tf.shape(image)[0], 1, 1, 1), (seed, 1))
            mixed = alpha * image + (1 - alpha) * fake
            with tf.GradientTape() as inner:
                inner.watch(mixed)
                mixed_score = tf.reduce_sum(networks.critic(mixed, True)[0])
            norms = tf.norm(tf.reshape(inner.gradient(mixed_score, mixed), (tf.shape(image)[0], -1)), axis=1)
            loss = (tf.reduce_mean(fake_map) - tf.reduce_mean(real_map) + 10 * tf.reduce_mean((norms - 1) ** 2)
                    + tf.reduce_mean((real_aus - target) ** 2))
        gradients = tape.gradient(loss, networks.critic_variables)
        d_optimizer.apply_gradients(zip(gradients, networks.critic_variables))
        return gradients

    @function
    def generator_step(image, target):
        with tf.GradientTape() as tape:
            composite, attention, _ = networks.generator(image, target, True)
            loss = tf.reduce_mean(tf.abs(composite - image)) + 0.1 * tf.reduce_mean(attention)
        g_optimizer.apply_gradients(zip(tape.gradient(loss, networks.generator_variables),
                                        networks.generator_variables))
        return loss

    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(steps):
        image = tf.constant(rng.uniform(-1, 1, (2, 16, 16, 3)), tf.float32)
        target = tf.constant(rng.uniform(0, 1, (2, 5)), tf.float32)
        gradients = critic_step(image, target)
        losses.append(float(generator_step(image, target)))
    return losses, gradients


def _optimizers(networks):
    g_optimizer, d_optimizer = keras.optimizers.Adam(1e-3, 0.5, 0.999), keras.optimizers.Adam(1e-3, 0.5, 0.999)
    g_optimizer.build(networks.generator_variables)
    d_optimizer.build(networks.critic_variables)
    return g_optimizer, d_optimizer


def test_networks_interface_trains_and_every_critic_weight_gets_a_gradient():
    networks = make_tl_networks(_config())
    image, aus = _inputs(batch=2)
    composite, attention, colour = networks.generator(image, aus, False)
    critic_map, predicted = networks.critic(composite, False)
    assert composite.shape == (2, 16, 16, 3) and attention.shape == (2, 16, 16, 1) and colour.shape == (2, 16, 16, 3)
    assert critic_map.shape == (2, 2, 2, 1) and predicted.shape == (2, 5)
    assert len(networks.generator_variables) == 23 and len(networks.critic_variables) == 8  # 1 residual, 3 downs
    losses, gradients = _train(networks, _optimizers(networks), steps=12, seed=1, compiled=False)
    assert all(g is not None for g in gradients)  # the penalty is on the critic map only, through every layer
    assert np.mean(losses[-3:]) < np.mean(losses[:3])  # G learned to keep the input


def test_checkpoint_round_trips_and_resumes_exactly(tmp_path):
    config = _config()
    first = make_tl_networks(config)
    first_optimizers = _optimizers(first)
    _train(first, first_optimizers, steps=2, seed=2, compiled=False)
    checkpoint = tf.train.Checkpoint(**first.trackables, g_optimizer=first_optimizers[0],
                                     d_optimizer=first_optimizers[1])
    path = checkpoint.write(str(tmp_path / "ckpt"))
    continued, _ = _train(first, first_optimizers, steps=2, seed=3, compiled=False)

    resumed = make_tl_networks(config)
    resumed_optimizers = _optimizers(resumed)
    tf.train.Checkpoint(**resumed.trackables, g_optimizer=resumed_optimizers[0],
                        d_optimizer=resumed_optimizers[1]).read(path).assert_consumed()
    after_resume, _ = _train(resumed, resumed_optimizers, steps=2, seed=3, compiled=False)
    assert after_resume == continued
    for a, b in zip(first.generator_variables + first.critic_variables,
                    resumed.generator_variables + resumed.critic_variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_checkpoint_of_another_width_is_refused(tmp_path):
    path = tf.train.Checkpoint(**make_tl_networks(_config()).trackables).write(str(tmp_path / "ckpt"))
    wider = make_tl_networks(_config(g_conv_dim=6))
    with pytest.raises(ValueError, match="shape"):
        tf.train.Checkpoint(**wider.trackables).read(path)


def test_weight_files_and_keras_export_keep_the_outputs(tmp_path):
    networks = make_tl_networks(_config())
    _randomise(networks.generator_variables + networks.critic_variables, seed=9)
    image, aus = _inputs(batch=2, seed=10)
    networks.save(tmp_path / "weights")
    loaded = make_tl_networks(_config())
    loaded.load(tmp_path / "weights")
    assert _max_difference(loaded.generator(image, aus, False), networks.generator(image, aus, False)) == 0
    assert _max_difference(loaded.critic(image, False), networks.critic(image, False)) == 0
    exported = networks.keras_generator()
    exported.save(tmp_path / "generator.keras")
    reloaded = keras.models.load_model(tmp_path / "generator.keras")
    assert _max_difference(reloaded([image, aus]), networks.generator(image, aus, False)) < PARITY
    assert _max_difference(networks.keras_critic()(image), networks.critic(image, False)) < PARITY


def test_make_tl_networks_refuses_a_size_the_critic_cannot_take():
    with pytest.raises(ValueError, match="divisible by 64"):
        make_tl_networks(_config(d_repeat_num=6))
