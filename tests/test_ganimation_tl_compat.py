"""ccyclegan.tl_compat: each TensorLayer 2.2.5 patch fixes what breaks on TF 2.21 / numpy 2 / h5py 3, once."""

import inspect

import numpy as np
import pytest
import tensorflow as tf

from ccyclegan import tl_compat
from ccyclegan.errors import DataError
from models.ganimation_tl import build_tl_generator, unique_model_name

tl = pytest.importorskip("tensorlayer")


@pytest.fixture(scope="module", autouse=True)
def patched():
    return tl_compat.apply()


def _tiny_generator():
    """Two DeConv2d (whose Keras variables are all called kernel/bias) and instance norms: every broken path."""
    return build_tl_generator(img_size=8, channels=3, num_aus=2, width=2, num_residual=1)


def _randomise(model, seed=0):
    rng = np.random.default_rng(seed)
    for weight in model.all_weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32"))


def _run(layer, images, is_train=True):
    """A layer on its own is a one-layer static TL model (TL layers take only TL tensors outside a model)."""
    inputs = tl.layers.Input([None, *images.shape[1:]])
    model = tl.models.Model(inputs, layer(inputs), name=unique_model_name("one_layer"))
    return model(images, is_train=is_train).numpy()


def test_apply_is_idempotent_and_applies_every_patch():
    from tensorlayer.layers import normalization

    first_function = normalization.batch_normalization
    assert tl_compat.apply() == tuple(sorted(tl_compat.PATCHES))
    assert tl_compat.apply() == tuple(sorted(tl_compat.PATCHES))
    assert normalization.batch_normalization is first_function is tl_compat._rank_preserving_batch_normalization


def test_instance_norm_normalises_each_sample_and_channel_at_batch_above_one():
    layer = tl.layers.InstanceNorm2d(num_features=4, gamma_init=tl.initializers.ones(),
                                     beta_init=tl.initializers.zeros())
    images = tf.random.normal((3, 5, 5, 4), mean=3.0, stddev=2.0, seed=1)
    inputs = tl.layers.Input([None, 5, 5, 4])
    model = tl.models.Model(inputs, layer(inputs), name=unique_model_name("one_layer"))
    out = model(images, is_train=True).numpy()  # unpatched: "Incompatible shapes [1,1,1,12] vs [1,1,1,4]"
    np.testing.assert_allclose(out.mean(axis=(1, 2)), 0, atol=1e-4)
    np.testing.assert_allclose(out.std(axis=(1, 2)), 1, atol=1e-3)
    # A sample's output does not depend on the other samples of the batch.
    np.testing.assert_allclose(model(images[1:2], is_train=True).numpy()[0], out[1], atol=1e-5)


def test_instance_norm_applies_gamma_and_beta_per_channel():
    layer = tl.layers.InstanceNorm2d(num_features=2)
    layer.gamma.assign(np.reshape([2.0, 0.5], (1, 1, 1, 2)))
    layer.beta.assign(np.reshape([1.0, -1.0], (1, 1, 1, 2)))
    out = _run(layer, tf.random.normal((2, 6, 6, 2), seed=2))
    np.testing.assert_allclose(out.mean(axis=(1, 2)), [[1, -1], [1, -1]], atol=1e-4)
    np.testing.assert_allclose(out.std(axis=(1, 2)), [[2, 0.5], [2, 0.5]], atol=1e-3)


def test_layer_norm_works_at_batch_above_one():
    out = _run(tl.layers.LayerNorm(), tf.random.normal((3, 4, 4, 2), seed=3))
    np.testing.assert_allclose(out.reshape(3, -1).mean(axis=1), 0, atol=1e-4)


def test_batch_norm_keeps_its_per_channel_behaviour():
    images = tf.random.normal((4, 3, 3, 2), seed=4)
    # Rank-1 statistics (BatchNorm's moving ones) are reshaped per channel, as TL does.
    mean, variance, beta, gamma = (tf.constant(v) for v in ([0.5, -1.0], [2.0, 0.25], [0.1, 0.2], [3.0, 0.5]))
    expected = tf.nn.batch_normalization(images, mean, variance, beta, gamma, 1e-5).numpy()
    patched = tl_compat._rank_preserving_batch_normalization(images, mean, variance, beta, gamma, 1e-5,
                                                             "channels_last")
    np.testing.assert_allclose(patched.numpy(), expected, atol=1e-5)
    # BatchNorm2d in training mode: statistics over the whole batch per channel, so each channel's mean is beta.
    layer = tl.layers.BatchNorm2d(num_features=2, beta_init=tl.initializers.constant(0.5))
    training = _run(layer, images)
    np.testing.assert_allclose(training.mean(axis=(0, 1, 2)), [0.5, 0.5], atol=1e-4)
    assert np.abs(training.mean(axis=(1, 2)) - 0.5).max() > 1e-3  # not per instance


def test_fast_stack_gives_the_frames_inspect_stack_gives():
    def caller():
        return [entry[0] for entry in tl_compat.frames_outward()], [entry[0] for entry in inspect.stack()]

    fast, slow = caller()
    assert fast == slow and len(fast) > 3


def test_layers_record_their_arguments_with_the_fast_stack():
    layer = tl.layers.Conv2d(5, (3, 3), (2, 2), padding="VALID", name="recorded")
    assert layer.layer_args["n_filter"] == 5 and layer.layer_args["padding"] == "VALID"


@pytest.mark.parametrize("in_order", [True, False])
def test_hdf5_weights_reload_exactly(tmp_path, in_order):
    saved, loaded = _tiny_generator(), _tiny_generator()
    _randomise(saved)
    saved.save_weights(str(tmp_path / "g.h5"))
    loaded.load_weights(str(tmp_path / "g.h5"), in_order=in_order)  # unpatched: 'str' object has no 'decode'
    for a, b in zip(saved.all_weights, loaded.all_weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_npz_weights_save_under_numpy_2_and_reload_exactly(tmp_path):
    saved, loaded = _tiny_generator(), _tiny_generator()
    _randomise(saved, seed=5)
    saved.save_weights(str(tmp_path / "g.npz"), format="npz")  # unpatched: "inhomogeneous shape"
    loaded.load_weights(str(tmp_path / "g.npz"), format="npz")
    for a, b in zip(saved.all_weights, loaded.all_weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    tl.files.save_npz(saved.all_weights, name=str(tmp_path / "h.npz"))
    assert len(tl.files.load_npz(name=str(tmp_path / "h.npz"))) == len(saved.all_weights)


def test_npz_dict_refuses_repeated_names_instead_of_losing_weights(tmp_path):
    generator = _tiny_generator()
    with pytest.raises(ValueError, match="names repeat.*kernel"):
        generator.save_weights(str(tmp_path / "g.npz"), format="npz_dict")
    assert not (tmp_path / "g.npz").exists()


def test_npz_dict_still_saves_a_model_with_unique_names(tmp_path):
    image = tl.layers.Input([None, 4, 4, 1])
    out = tl.layers.Conv2d(2, (3, 3), name="only_conv")(image)
    model = tl.models.Model(image, out, name=unique_model_name("npz_dict_model"))
    model.save_weights(str(tmp_path / "m.npz"), format="npz_dict")
    assert (tmp_path / "m.npz").exists()


def test_library_weight_file_round_trips_and_checks_shapes(tmp_path):
    saved, loaded = _tiny_generator(), _tiny_generator()
    _randomise(saved, seed=6)
    tl_compat.save_weights_npz(saved, tmp_path / "g.npz")
    tl_compat.load_weights_npz(loaded, tmp_path / "g.npz")
    for a, b in zip(saved.all_weights, loaded.all_weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    wider = build_tl_generator(img_size=8, channels=3, num_aus=2, width=3, num_residual=1)
    before = [w.numpy() for w in wider.all_weights]
    with pytest.raises(DataError, match=r"g\.npz: weight 0 \(in_conv/filters:0\) has shape"):
        tl_compat.load_weights_npz(wider, tmp_path / "g.npz")
    for weight, value in zip(wider.all_weights, before):  # nothing assigned
        np.testing.assert_array_equal(weight.numpy(), value)
    deeper = build_tl_generator(img_size=8, channels=3, num_aus=2, width=2, num_residual=2)
    with pytest.raises(DataError, match="holds 23 weights"):
        tl_compat.load_weights_npz(deeper, tmp_path / "g.npz")


def test_library_weight_file_errors_name_the_file(tmp_path):
    with pytest.raises(DataError, match="missing.npz: no such file"):
        tl_compat.load_weights_npz(_tiny_generator(), tmp_path / "missing.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(2))
    with pytest.raises(DataError, match="other.npz: not a ccyclegan TensorLayer weight file"):
        tl_compat.load_weights_npz(_tiny_generator(), tmp_path / "other.npz")
    (tmp_path / "broken.npz").write_text("not a zip")
    with pytest.raises(DataError, match="broken.npz: cannot read it"):
        tl_compat.load_weights_npz(_tiny_generator(), tmp_path / "broken.npz")
