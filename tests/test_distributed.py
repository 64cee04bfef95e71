"""tf.distribute on two logical CPU devices: the same losses and updates as one device (global-batch averaging)."""

import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import striped_faces, two_cpu_mirrored
from train.ccyclegan import CCycleGANConfig, CCycleGANTrainer


@pytest.fixture(scope="module")
def mirrored():
    return two_cpu_mirrored()


@pytest.mark.parametrize("xla", [False, True])
def test_mirrored_steps_match_a_single_device(mirrored, xla):
    config = CCycleGANConfig(gf=8, df=8, batch_size=8, seed=3, xla=xla)
    images, labels = striped_faces(8)
    x, y = tf.constant(images, tf.float32) / 127.5 - 1.0, tf.constant(labels, tf.int32)
    single, multi = CCycleGANTrainer(config), CCycleGANTrainer(config, mirrored)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    distributed_batch = next(iter(mirrored.experimental_distribute_dataset(dataset)))

    d_single, d_multi = single._d_step(x, y), multi._d_step(*distributed_batch)
    g_single, g_multi = single._g_step(x, y), multi._g_step(*distributed_batch)
    for key in ("d_gan_loss", "d_cl_loss", "d_gan_accuracy"):
        assert float(d_multi[key]) == pytest.approx(float(d_single[key]), rel=1e-4, abs=1e-5)
    for key in ("g_gan_loss", "g_cl_loss", "reconstr_loss"):
        assert float(g_multi[key]) == pytest.approx(float(g_single[key]), rel=1e-4, abs=1e-5)
    for a, b in zip(single.discriminator.weights, multi.discriminator.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-3, atol=1e-5)


def test_mirrored_mixed_precision_runs_and_stays_close_to_float32(mirrored):
    """bfloat16 on two replicas: finite losses within a few percent of the float32 single-device step."""
    images, labels = striped_faces(8)
    x, y = tf.constant(images, tf.float32) / 127.5 - 1.0, tf.constant(labels, tf.int32)
    single = CCycleGANTrainer(CCycleGANConfig(gf=8, df=8, batch_size=8, seed=3))
    multi = CCycleGANTrainer(CCycleGANConfig(gf=8, df=8, batch_size=8, seed=3, mixed_precision=True), mirrored)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    distributed_batch = next(iter(mirrored.experimental_distribute_dataset(dataset)))
    expected, got = single._d_then_g_step(x, y), multi._d_then_g_step(*distributed_batch)
    for key in ("d_gan_loss", "d_cl_loss", "g_gan_loss", "g_cl_loss", "reconstr_loss"):
        assert float(got[key]) == pytest.approx(float(expected[key]), rel=0.05)
