"""The earlier experiments' networks (models.lineage): parameter counts of the reference's Keras 3 rebuild
(../shared/reference/ccyclegan.md §4 for T1 and T17, §1.5 for the T18/T19 decoder) and shapes. Building only."""

import keras
import numpy as np
import pytest

from models import lineage
from models.ccyclegan import build_ccyclegan


@pytest.fixture(scope="module")
def t1():
    return lineage.build_t1()


@pytest.fixture(scope="module")
def t17():
    return lineage.build_t17()


def test_t1_parameter_counts_match_the_reference(t1):
    generator, discriminator = t1
    assert generator.count_params() == 1_558_479
    assert discriminator.count_params() == 2_778_823


def test_t17_parameter_counts_match_the_reference(t17):
    encoder, decoder, discriminator = t17
    assert encoder.count_params() == 689_128
    assert decoder.count_params() == 870_111
    assert discriminator.count_params() == 10_135_310


def test_t18_t19_decoder_without_transform_layer_matches_the_reference():
    _, decoder, _ = build_ccyclegan(transform_layer=False)
    assert decoder.count_params() == 3_676_615


def test_t1_shapes_and_label_conditioning(t1):
    generator, discriminator = t1
    assert [tuple(t.shape) for t in generator.inputs] == [(None, 1), (None, 48, 48, 1)]
    assert generator.output_shape == (None, 48, 48, 1)
    assert discriminator.output_shape == (None, 3, 3, 1)  # the original's disc_patch
    assert generator.get_layer("label_embedding").get_weights()[0].shape == (7, 48 * 48)
    assert [generator.get_layer(f"down{i}_norm").output.shape[1:] for i in range(1, 5)] == [
        (24, 24, 32), (12, 12, 64), (6, 6, 128), (3, 3, 256)]
    assert discriminator.get_layer("d4_lrelu").output.shape[1:] == (3, 3, 512)
    with pytest.raises(ValueError):
        discriminator.get_layer("d1_norm")  # D's first block has no IN

    labels = np.array([[0], [6]], "int32")
    images = np.random.default_rng(0).uniform(-1, 1, (2, 48, 48, 1)).astype("float32")
    out = np.asarray(generator([labels, images]))
    assert out.shape == (2, 48, 48, 1) and np.all(np.abs(out) <= 1)
    assert np.asarray(discriminator([labels, images])).shape == (2, 3, 3, 1)


def test_t17_shapes(t17):
    encoder, decoder, discriminator = t17
    assert encoder.output_shape == [(None, 24, 24, 32), (None, 12, 12, 64), (None, 6, 6, 128), (None, 3, 3, 256)]
    assert decoder.get_layer("label_concat").output.shape[1:] == (3, 3, 264)
    assert decoder.get_layer("label_embedding").get_weights()[0].shape == (7, 72)
    assert decoder.output_shape == (None, 48, 48, 1)
    assert discriminator.get_layer("flatten").output.shape[1:] == (4608,)
    assert discriminator.output_shape == [(None, 1), (None, 7)]

    images = np.zeros((2, 48, 48, 1), "float32")
    features = encoder(images)
    out = decoder([*features, keras.ops.convert_to_tensor(np.array([[1], [5]], "int32"))])
    assert tuple(out.shape) == (2, 48, 48, 1)
    gan, cls = discriminator(images)
    np.testing.assert_allclose(np.asarray(cls).sum(axis=1), 1.0, rtol=1e-5)  # softmax class head
    assert tuple(gan.shape) == (2, 1)


def test_sizes_are_arguments():
    generator = lineage.build_t1_generator(img_size=32, channels=3, num_classes=4, gf=8)
    assert generator.output_shape == (None, 32, 32, 3)
    discriminator = lineage.build_t1_discriminator(img_size=32, channels=3, num_classes=4, df=8)
    assert discriminator.output_shape == (None, 2, 2, 1)
    encoder = lineage.build_t17_generator_encoder(img_size=64, gf=8)
    decoder = lineage.build_t17_generator_decoder(img_size=64, num_classes=5, gf=8)
    assert encoder.output_shape[-1] == (None, 4, 4, 64)
    assert decoder.get_layer("label_concat").output.shape[1:] == (4, 4, 72)
    assert lineage.build_t17_discriminator(img_size=64, num_classes=5, df=8).output_shape == [(None, 1), (None, 5)]
    with pytest.raises(ValueError, match="multiple of 16"):
        lineage.build_t1_generator(img_size=40)
